// What the agent's kernel suites and the soak share: waiting, its HTTP endpoints and metrics,
// its JSON log lines, pod manifests, and tc's view of a pod's QoS.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { Writable } from 'stream';
import { pluginMain } from '../../lib/cni/install';
import { NativeEngineMissingError } from '../../lib/errors';
import { openNetlink } from '../../lib/handle';
import { ifbNameFor } from '../../lib/qos';
import { sh } from './netns';

export const IN = 'qos.projectcalico.org/ingressBandwidth';
export const OUT = 'qos.projectcalico.org/egressBandwidth';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it returns something truthy (returned), or fails after the timeout. */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  detail: () => string = () => '',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})${detail()}`,
      );
    await sleep(50);
  }
}

/** The native engine may be rebuilt by someone else right now: wait for it to come back. */
export async function waitForAddon(): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      openNetlink().close();
      return;
    } catch (e) {
      if (!(e instanceof NativeEngineMissingError) || i > 30) throw e;
      await sleep(2000);
    }
  }
}

/** GET http://127.0.0.1:port/path. */
export function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error(`GET ${urlPath}: no answer in 10 s`));
      })
      .on('error', reject);
  });
}

/** One sample of a metric from Prometheus text, matching every label given. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

export interface Captured {
  lines: Record<string, unknown>[];
  stream: Writable;
}

/** A destination for makeLogger that keeps the JSON lines. */
export function captureLogs(): Captured {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, stream };
}

/** A Pod manifest (YAML) with these annotations. */
export function podYaml(name: string, annotations: Record<string, string>, namespace?: string): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `    ${k}: "${v}"`)
    .join('\n');
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}${ann ? `  annotations:\n${ann}\n` : ''}spec:\n  containers:\n  - name: c\n    image: busybox\n`;
}

interface TcQdisc {
  dev: string;
  kind: string;
  handle: string;
  root?: boolean;
  options?: { rate?: number };
}

/** The root qdiscs of namespace `netns` as tc lists them ([] when it is gone). */
export function tcQdiscs(netns: string): TcQdisc[] {
  try {
    return JSON.parse(sh('tc', ['-n', netns, '-j', 'qdisc', 'show']) || '[]') as TcQdisc[];
  } catch {
    return [];
  }
}

/** The QoS on an interface as tc sees it: its root TBF and its IFB's root TBF rates, bit/s. */
export function tcRates(
  netns: string,
  ifname: string,
  qdiscs = tcQdiscs(netns),
): { in?: number; out?: number } {
  const rate = (dev: string) => {
    const r = qdiscs.find((q) => q.dev === dev && q.kind === 'tbf' && q.handle === '4e51:' && q.root)?.options
      ?.rate;
    return r === undefined ? undefined : r * 8;
  };
  return { in: rate(ifname), out: rate(ifbNameFor(ifname)) };
}

/** What /proc says of a process: resident memory (now and peak), open descriptors. */
export function processFigures(pid: number): { rss: number; hwm: number; fds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

/**
 * `netqos agent ARGS --listen 127.0.0.1:0` as a child process (this checkout's
 * dist/lib/cli/main.js), its JSON log lines kept; started() resolves once it serves HTTP.
 */
export class AgentProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  /** Standard output that is not a JSON line, and standard error. */
  other = '';
  port = 0;
  private readonly exited: Promise<number | null>;

  constructor(args: string[], cli = path.join(path.dirname(pluginMain()), '..', 'cli', 'main.js')) {
    if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: build with npx tsc -p tsconfig.json`);
    this.child = spawn(process.execPath, [cli, 'agent', '--listen', '127.0.0.1:0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      for (const l of parts) {
        if (!l.trim()) continue;
        try {
          this.lines.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          this.other += `${l}\n`;
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.other += d));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits (at most `timeoutMs`) for the HTTP server's address in the log. */
  async started(timeoutMs = 30_000): Promise<this> {
    const line = await waitFor(
      'the agent to serve HTTP',
      () => {
        if (this.child.exitCode !== null) throw new Error(`the agent exited: ${this.other.slice(-2000)}`);
        return this.lines.find((l) => l.msg === 'serving /metrics, /healthz and /readyz');
      },
      timeoutMs,
    );
    this.port = (line.address as { port: number }).port;
    return this;
  }

  /** Log lines at warn or above. */
  problems(): Record<string, unknown>[] {
    return this.lines.filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal');
  }

  /** SIGTERM by pid, SIGKILL after 15 s; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      const code = await this.exited;
      clearTimeout(timer);
      return code;
    }
    return this.exited;
  }
}
