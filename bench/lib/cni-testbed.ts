// A throwaway node with pods, wired by the real CNI plugins, for the ADD-time benchmark and the
// kernel tests: a node network namespace (nqn-...), pod namespaces, plugins run in the node's
// namespace with `ip netns exec` exactly as a runtime runs them (CNI_* variables, the
// configuration on standard input). Addresses come from 198.18.0.0/15 only; IPAM and netqos
// keep their state in a temporary directory. destroy() removes everything.
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

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
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
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
    return { name, netns, netnsPath: `/var/run/netns/${netns}`, containerId: `ctr-${name}-${this.tag}`, ifname: 'eth0' };
  }

  /** Deletes a pod's namespace now (its veth pair goes with it). */
  removePod(pod: Pod): void {
    run('ip', ['netns', 'del', pod.netns]);
  }

  /** The ptp + host-local configuration of network `name` (state in this testbed's directory). */
  ptpConf(name: string, subnet: string, cniVersion = '1.0.0'): Record<string, unknown> {
    return { cniVersion, name, type: 'ptp', ipam: { type: 'host-local', subnet, dataDir: path.join(this.dir, 'ipam') } };
  }

  /**
   * Runs `plugin` (an executable path) for `pod` in the node's namespace, as a runtime does.
   * `env` adds or overrides variables (undefined removes one).
   */
  invoke(plugin: string, command: string, conf: unknown, pod?: Pod, env: Record<string, string | undefined> = {}): Invocation {
    const vars: Record<string, string | undefined> = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_PATH: REFERENCE_PLUGINS,
      ...(pod ? { CNI_CONTAINERID: pod.containerId, CNI_NETNS: pod.netnsPath, CNI_IFNAME: pod.ifname } : {}),
      ...env,
    };
    const clean = Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const input = typeof conf === 'string' ? conf : JSON.stringify(conf);
    const t = process.hrtime.bigint();
    const r = spawnSync('ip', ['netns', 'exec', this.node, plugin], { input, env: clean, encoding: 'utf8', timeout: 60_000 });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    let json: any;
    try {
      json = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
    } catch {
      json = undefined;
    }
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json, ms };
  }

  /** ptp ADD for `pod`; returns its result (the next plugin's prevResult). */
  addPtp(pod: Pod, network: string, subnet: string, cniVersion = '1.0.0'): any {
    const r = this.invoke(path.join(REFERENCE_PLUGINS, 'ptp'), 'ADD', this.ptpConf(network, subnet, cniVersion), pod);
    if (r.code !== 0 || !r.json) throw new Error(`ptp ADD failed: ${r.stdout} ${r.stderr}`);
    return r.json;
  }

  /** `ip netns exec <node> <args>` (for tc, ip, iperf3 inside the node). */
  exec(args: string[]): string {
    return run('ip', ['netns', 'exec', this.node, ...args]);
  }

  /** Everything tc and ip show in the node namespace (no statistics), to prove "no change". */
  snapshot(): { links: unknown; qdiscs: unknown; filters: unknown } {
    const links = JSON.parse(run('ip', ['-n', this.node, '-j', 'link', 'show']) || '[]') as { ifname: string; ifindex: number; flags: string[]; txqlen?: number; mtu: number }[];
    const filters: Record<string, unknown> = {};
    for (const l of links) {
      for (const hook of ['ingress', 'egress']) {
        const out = spawnSync('tc', ['-n', this.node, '-j', 'filter', 'show', 'dev', l.ifname, hook], { encoding: 'utf8' });
        filters[`${l.ifname} ${hook}`] = out.status === 0 && out.stdout.trim() ? JSON.parse(out.stdout) : [];
      }
    }
    return {
      links: links.map((l) => ({ ifname: l.ifname, ifindex: l.ifindex, flags: l.flags, mtu: l.mtu, txqlen: l.txqlen })),
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
