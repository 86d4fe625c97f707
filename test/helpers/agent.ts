// What the agent's kernel suites and the soak share: waiting, its HTTP endpoints and metrics,
// its JSON log lines, pod manifests, and tc's view of a pod's QoS.
import * as http from 'http';
import { Writable } from 'stream';
import { openNetlink } from '../../lib/netlink';
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
      if (!String((e as Error).message).includes('cannot load the native engine') || i > 30) throw e;
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
