// A throwaway node with pods, wired by the real CNI plugins, for the ADD-time benchmark and the
// kernel tests: a node network namespace (nqn-...), pod namespaces, plugins run in the node's
// namespace with `ip netns exec` exactly as a runtime runs them (CNI_* variables, the
// configuration on standard input), and netqos's resident CNI server as a child process.
// Addresses come from 198.18.0.0/15 only; IPAM and netqos keep their state in a temporary
// directory. destroy() removes everything.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pluginMain } from '../../lib/cni/install';

export const REFERENCE_PLUGINS = '/usr/lib/cni';

export interface Pod {
  name: string;
  netns: string;
  /** /var/run/netns/<netns>: CNI_NETNS. */
  netnsPath: string;
  containerId: string;
  ifname: string;
}

export interface Invocation {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json?: any;
  /** Wall time of the process, milliseconds. */
  ms: number;
}

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
}

function result(code: number | null, stdout: string, stderr: string, ms: number): Invocation {
  let json: any;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json, ms };
}

export class CniTestbed {
  readonly node: string;
  readonly dir: string;
  private readonly tag: string;
  private readonly namespaces: string[] = [];
  private destroyed = false;

  constructor(prefix = 'nqn') {
    this.tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
    this.node = `${prefix}-${this.tag}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netqos-cni-'));
    this.addNamespace(this.node);
  }

  private addNamespace(name: string): void {
    run('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  }

  /** A pod: its own namespace (nqp-...), a container ID, eth0. */
  pod(name: string): Pod {
    const netns = `nqp-${this.tag}-${name}`;
    this.addNamespace(netns);
    return {
      name,
      netns,
      netnsPath: `/var/run/netns/${netns}`,
      containerId: `ctr-${name}-${this.tag}`,
      ifname: 'eth0',
    };
  }

  /** Deletes a pod's namespace now (its veth pair goes with it). */
  removePod(pod: Pod): void {
    run('ip', ['netns', 'del', pod.netns]);
  }

  /** The ptp + host-local configuration of network `name` (state in this testbed's directory). */
  ptpConf(name: string, subnet: string, cniVersion = '1.0.0'): Record<string, unknown> {
    return {
      cniVersion,
      name,
      type: 'ptp',
      ipam: { type: 'host-local', subnet, dataDir: path.join(this.dir, 'ipam') },
    };
  }

  /**
   * Runs `plugin` (an executable path) for `pod` in the node's namespace, as a runtime does.
   * `env` adds or overrides variables (undefined removes one).
   */
  invoke(
    plugin: string,
    command: string,
    conf: unknown,
    pod?: Pod,
    env: Record<string, string | undefined> = {},
  ): Invocation {
    const { vars, input } = this.prepare(command, conf, pod, env);
    const t = process.hrtime.bigint();
    const r = spawnSync('ip', ['netns', 'exec', this.node, plugin], {
      input,
      env: vars,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return result(r.status, r.stdout, r.stderr, Number(process.hrtime.bigint() - t) / 1e6);
  }

  /** invoke() without blocking this process (several invocations at once; a server in this process). */
  invokeAsync(
    plugin: string,
    command: string,
    conf: unknown,
    pod?: Pod,
    env: Record<string, string | undefined> = {},
  ): Promise<Invocation> {
    const { vars, input } = this.prepare(command, conf, pod, env);
    const t = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', this.node, plugin], {
        env: vars,
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: 60_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin.on('error', () => {}); // a plugin that does not read its input (VERSION)
      child.on('error', reject);
      child.on('close', (code) =>
        resolve(result(code, stdout, stderr, Number(process.hrtime.bigint() - t) / 1e6)),
      );
      child.stdin.end(input);
    });
  }

  private prepare(
    command: string,
    conf: unknown,
    pod: Pod | undefined,
    env: Record<string, string | undefined>,
  ): { vars: Record<string, string>; input: string } {
    const vars: Record<string, string | undefined> = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_PATH: REFERENCE_PLUGINS,
      ...(pod ? { CNI_CONTAINERID: pod.containerId, CNI_NETNS: pod.netnsPath, CNI_IFNAME: pod.ifname } : {}),
      ...env,
    };
    const clean = Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined)) as Record<
      string,
      string
    >;
    return { vars: clean, input: typeof conf === 'string' ? conf : JSON.stringify(conf) };
  }

  /** ptp ADD for `pod`; returns its result (the next plugin's prevResult). */
  addPtp(pod: Pod, network: string, subnet: string, cniVersion = '1.0.0'): any {
    const r = this.invoke(
      path.join(REFERENCE_PLUGINS, 'ptp'),
      'ADD',
      this.ptpConf(network, subnet, cniVersion),
      pod,
    );
    if (r.code !== 0 || !r.json) throw new Error(`ptp ADD failed: ${r.stdout} ${r.stderr}`);
    return r.json;
  }

  /** `ip netns exec <node> <args>` (for tc, ip, iperf3 inside the node). */
  exec(args: string[]): string {
    return run('ip', ['netns', 'exec', this.node, ...args]);
  }

  /** Everything tc and ip show in the node namespace (no statistics), to prove "no change". */
  snapshot(): { links: unknown; qdiscs: unknown; filters: unknown } {
    const links = JSON.parse(run('ip', ['-n', this.node, '-j', 'link', 'show']) || '[]') as {
      ifname: string;
      ifindex: number;
      flags: string[];
      txqlen?: number;
      mtu: number;
    }[];
    const filters: Record<string, unknown> = {};
    for (const l of links) {
      for (const hook of ['ingress', 'egress']) {
        const out = spawnSync('tc', ['-n', this.node, '-j', 'filter', 'show', 'dev', l.ifname, hook], {
          encoding: 'utf8',
        });
        filters[`${l.ifname} ${hook}`] = out.status === 0 && out.stdout.trim() ? JSON.parse(out.stdout) : [];
      }
    }
    return {
      links: links.map((l) => ({
        ifname: l.ifname,
        ifindex: l.ifindex,
        flags: l.flags,
        mtu: l.mtu,
        txqlen: l.txqlen,
      })),
      qdiscs: JSON.parse(run('tc', ['-n', this.node, '-j', 'qdisc', 'show']) || '[]'),
      filters,
    };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ns of [...this.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One line of `netqos cni-server --verbose`: what happened to a request. */
export interface ServerEvent {
  kind: 'served' | 'fallback';
  reason?: string;
  command?: string;
  containerID?: string;
  code?: number;
}

/**
 * `netqos cni-server --socket PATH [--verbose]` as a child process (of this installation's
 * dist/lib/cli/main.js), optionally behind a launcher (`ip netns exec NS`, `unshare ...`);
 * started() resolves once it listens; stop() ends it by its pid.
 */
export class CniServerProcess {
  readonly child: ChildProcess;
  stderr = '';
  private exited: Promise<number | null>;

  private constructor(
    readonly socket: string,
    launcher: string[],
    verbose: boolean,
  ) {
    const cli = path.join(path.dirname(pluginMain()), '..', 'cli', 'main.js');
    const [command, ...args] = [
      ...launcher,
      process.execPath,
      cli,
      'cni-server',
      '--socket',
      socket,
      ...(verbose ? ['--verbose'] : []),
    ];
    this.child = spawn(command ?? process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /**
   * Starts a server and waits (at most 30 s) until it listens. `verbose` (default true): a line
   * per request, which events() reads. `spawned` learns of the process at once, so a caller
   * interrupted while it starts can still stop it.
   */
  static async start(
    socket: string,
    launcher: string[] = [],
    verbose = true,
    spawned?: (s: CniServerProcess) => void,
  ): Promise<CniServerProcess> {
    const s = new CniServerProcess(socket, launcher, verbose);
    spawned?.(s);
    const deadline = Date.now() + 30_000;
    let gone = false;
    void s.exited.then(() => (gone = true));
    while (!s.stderr.includes('listening on')) {
      if (gone || Date.now() > deadline) {
        await s.stop('SIGKILL');
        throw new Error(`netqos cni-server did not start: ${s.stderr || '(no output)'}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return s;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The requests the server reported, in order. */
  events(): ServerEvent[] {
    const out: ServerEvent[] = [];
    for (const line of this.stderr.split('\n')) {
      const [, served, reason, json] =
        /^netqos cni-server: (?:(served)|warn: fallback: (.*?)) (\{.*\})$/.exec(line) ?? [];
      if (json === undefined) continue;
      const fields = JSON.parse(json) as ServerEvent;
      out.push({ ...fields, kind: served ? 'served' : 'fallback', ...(reason ? { reason } : {}) });
    }
    return out;
  }

  /** Sends `signal` to the server's pid and waits for it to exit (SIGKILL after 15 s). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(this.pid, signal);
      } catch {
        /* gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 15_000);
      const code = await this.exited;
      clearTimeout(timer);
      return code;
    }
    return this.exited;
  }
}
