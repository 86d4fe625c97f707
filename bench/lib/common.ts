// Shared by the orchestrator (run.ts) and the measuring worker (worker.ts): workload and
// contender names, interface naming, the untimed helpers that run ip/tc, and the translation of
// netqos operations into the tc/ip command lines the shell-out contenders send.
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { calicoInterfaceName, ifbNameFor } from '../../lib/qos';
import type { Operation } from '../../lib/netlink';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const FLOOR_BIN = path.join(REPO, 'build-floor', 'netqos_floor');
export const NFT_FLOOR_BIN = path.join(REPO, 'build-floor', 'netqos_nft_floor');
export const PY_SCRIPT = path.join(REPO, 'bench', 'pyroute2_bench.py');
export const PYTHON = '/usr/bin/python3';
export const CNI_PLUGIN = '/usr/lib/cni/bandwidth';

export type Workload = 'W1' | 'W2' | 'W3' | 'W4' | 'W5' | 'W6' | 'A1' | 'RL' | 'RQ' | 'RF' | 'LAT';
export type ContenderId =
  | 'floor'
  | 'nq-qos'
  | 'nq-qos-sync'
  | 'nq-qos-one'
  | 'nq-watch'
  | 'nq-mirror'
  | 'nq-qos-cold'
  | 'nq-dump'
  | 'nq-dump-sync'
  | 'nq-raw'
  | 'nq-raw-sync'
  | 'nq-one'
  | 'tc-spawn'
  | 'tc-batch'
  | 'pyroute2'
  | 'cni';

/** Host-side interface names: `h<i>` (the floor's, and W1's) or Calico's cali + 11 hex. */
export type Naming = 'h' | 'cali';

export function hostNames(n: number, naming: Naming): string[] {
  if (naming === 'h') return Array.from({ length: n }, (_, i) => `h${i}`);
  const names = Array.from({ length: n }, (_, i) => calicoInterfaceName('bench', `pod-${i}`));
  if (new Set(names).size !== names.length) throw new Error('cali name collision');
  return names;
}

/** What the orchestrator hands a worker (one measurement: one workload, contender and N). */
export interface Spec {
  workload: Workload;
  contender: ContenderId;
  n: number;
  repeats: number;
  /** Untimed runs first (JIT, caches); each followed by the workload's reset. */
  warmup: number;
  /** The node namespace the worker runs in (by `ip netns exec`). */
  netns: string;
  naming: Naming;
  /** CNI: pod i's namespace is `${podPrefix}${i}` with its end of the veth as eth0. */
  podPrefix?: string;
  /** Serve mode: one timed run per "run" line on stdin (see worker.ts). */
  serve?: boolean;
}

export interface WorkerResult {
  /** Seconds per timed repeat (LAT: per sample). */
  samples: number[];
  /** Peak resident set of the worker process, KiB (process.resourceUsage().maxRSS). */
  maxRssKb: number;
  /** RSS after loading everything, before the first run, KiB. */
  startRssKb: number;
  /** Operations (or commands, or processes) one repeat sends. */
  units?: number;
  notes?: string[];
  /** pyroute2: wall time of each python process (interpreter start, import and all). */
  processSeconds?: number[];
  /** When the contender reports percentiles itself (the floor's rtt). */
  summary?: { p50Us: number; p99Us: number; meanUs: number };
  /** The orchestrator's: the 1-minute load average when the runs started (other work on the machine). */
  loadAvg?: number;
  /** Set when the measurement failed (a validation or a command). */
  error?: string;
}

// ---- annotations -----------------------------------------------------------------------------

export const ANN_IN = 'qos.projectcalico.org/ingressBandwidth';
export const ANN_OUT = 'qos.projectcalico.org/egressBandwidth';
export const annotations = (ingress: string, egress = '10M'): Record<string, string> => ({
  [ANN_IN]: ingress,
  [ANN_OUT]: egress,
});

/** W1's TBF: the floor's numbers (10 Mbit/s, 32 KiB bucket, 25 ms). */
export const w1Op = (dev: string): Operation => ({
  op: 'replace',
  qdisc: {
    dev,
    kind: 'tbf',
    parent: 'root',
    handle: '1:',
    rate: 10_000_000,
    burst: 32768,
    latencyUs: 25_000,
  },
});

// ---- running ip / tc, untimed ----------------------------------------------------------------

export function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
  });
}

/**
 * A floor program (bench/floor/, cmake target `target`), built into build-floor/ on first use;
 * false (and said on stderr) when it cannot be built: its rows are then skipped.
 */
export function ensureFloorBuilt(target: 'netqos_floor' | 'netqos_nft_floor'): boolean {
  // Built every time (make rebuilds only what changed): a floor older than the engine's sources
  // would measure yesterday's engine.
  process.stderr.write(`building the floor ${target} (cmake, build-floor/)\n`);
  try {
    const build = path.join(REPO, 'build-floor');
    if (!fs.existsSync(path.join(build, 'CMakeCache.txt')))
      run('cmake', ['-S', path.join(REPO, 'native'), '-B', build, '-DCMAKE_BUILD_TYPE=Release']);
    run('cmake', ['--build', build, '--target', target]);
    return true;
  } catch (e) {
    process.stderr.write(
      `the floor did not build; its rows are skipped: ${(e as Error).message.split('\n')[0]}\n`,
    );
    return false;
  }
}

/** Runs a batch through `cmd -force -batch -` and ignores per-line errors (missing objects). */
export function batchForce(cmd: 'ip' | 'tc', lines: string[], netns?: string): void {
  if (!lines.length) return;
  try {
    execFileSync(cmd, [...(netns ? ['-n', netns] : []), '-force', '-batch', '-'], {
      input: lines.join('\n') + '\n',
      stdio: ['pipe', 'ignore', 'ignore'],
      maxBuffer: 1 << 30,
    });
  } catch {
    /* -force: the failed lines are the expected "not there" ones */
  }
}

/**
 * Deletes every IFB of a namespace at once: moves them into one interface group, then deletes
 * the group (one unregister_netdevice_many, one RCU grace period instead of one per device).
 */
export function deleteIfbs(netns?: string): number {
  const out = run('ip', [...(netns ? ['-n', netns] : []), '-j', 'link', 'show', 'type', 'ifb']);
  const names = (JSON.parse(out || '[]') as { ifname: string }[]).map((l) => l.ifname);
  if (!names.length) return 0;
  batchForce(
    'ip',
    [...names.map((n) => `link set dev ${n} group ${IFB_GROUP}`), `link del group ${IFB_GROUP}`],
    netns,
  );
  return names.length;
}
export const VETH_GROUP = 4241;
export const IFB_GROUP = 4242;

/** Back to nothing on the hosts: no IFB, no root qdisc of ours, no ingress/clsact qdisc. */
export function resetHosts(hosts: string[], netns?: string): void {
  deleteIfbs(netns);
  batchForce(
    'tc',
    hosts.flatMap((h) => [
      `qdisc del dev ${h} root`,
      `qdisc del dev ${h} clsact`,
      `qdisc del dev ${h} ingress`,
    ]),
    netns,
  );
}

export function resetRoots(hosts: string[], netns?: string): void {
  batchForce(
    'tc',
    hosts.map((h) => `qdisc del dev ${h} root`),
    netns,
  );
}

// ---- netqos operations as tc / ip command lines ---------------------------------------------

export interface Command {
  tool: 'tc' | 'ip';
  args: string[];
}

const hookName = (parent: unknown) =>
  parent === 'ingress' || parent === 'egress' ? String(parent) : `parent ${String(parent)}`;

/** The `tc`/`ip` command line for one netqos operation (the shapes pod QoS and W1 use). */
export function toCommand(o: Operation): Command {
  if ('link' in o) {
    const l = o.link as unknown as Record<string, unknown>;
    const opt = (k: string, v: unknown) => (v === undefined ? [] : [k, String(v)]);
    if (o.op === 'add') {
      return {
        tool: 'ip',
        args: [
          'link',
          'add',
          String(l.name),
          ...opt('mtu', l.mtu),
          ...(l.up ? ['up'] : []),
          ...opt('group', l.group),
          ...opt('txqueuelen', l.txqlen),
          'type',
          'ifb',
        ],
      };
    }
    if (o.op === 'change') {
      if (l.name === undefined) throw new Error('link change by index is not translated');
      return {
        tool: 'ip',
        args: [
          'link',
          'set',
          'dev',
          String(l.name),
          ...(l.up === true ? ['up'] : l.up === false ? ['down'] : []),
          ...opt('mtu', l.mtu),
          ...opt('group', l.group),
        ],
      };
    }
    if (l.group !== undefined) return { tool: 'ip', args: ['link', 'del', 'group', String(l.group)] };
    if (l.name === undefined) throw new Error('link delete by index is not translated');
    return { tool: 'ip', args: ['link', 'del', String(l.name)] };
  }
  if ('qdisc' in o) {
    const q = o.qdisc as unknown as Record<string, unknown>;
    const dev = String(q.dev);
    if (o.op === 'delete') {
      if (q.kind === 'clsact' || q.kind === 'ingress')
        return { tool: 'tc', args: ['qdisc', 'del', 'dev', dev, String(q.kind)] };
      return {
        tool: 'tc',
        args: [
          'qdisc',
          'del',
          'dev',
          dev,
          q.parent === 'root' || q.parent === undefined ? 'root' : `parent ${q.parent}`,
          ...(q.handle ? ['handle', String(q.handle)] : []),
        ],
      };
    }
    if (q.kind === 'clsact' || q.kind === 'ingress')
      return { tool: 'tc', args: ['qdisc', o.op, 'dev', dev, String(q.kind)] };
    if (q.kind !== 'tbf') throw new Error(`qdisc kind ${String(q.kind)} is not translated`);
    const args = [
      'qdisc',
      o.op,
      'dev',
      dev,
      q.parent === 'root' || q.parent === undefined ? 'root' : 'parent',
      ...(q.parent && q.parent !== 'root' ? [String(q.parent)] : []),
    ];
    if (q.handle) args.push('handle', String(q.handle));
    args.push('tbf', 'rate', `${q.rate}bit`);
    if (q.burst !== undefined) args.push('burst', String(q.burst));
    if (q.limit !== undefined) args.push('limit', String(q.limit));
    if (q.latencyUs !== undefined) args.push('latency', `${q.latencyUs}us`);
    if (q.peakrate) args.push('peakrate', `${q.peakrate}bit`, 'minburst', String(q.minburst));
    return { tool: 'tc', args };
  }
  if (!('filter' in o)) throw new Error('only qdisc, filter and link operations are translated');
  const f = o.filter as unknown as Record<string, unknown>;
  const head = [
    'filter',
    o.op === 'delete' ? 'del' : o.op,
    'dev',
    String(f.dev),
    ...hookName(f.parent).split(' '),
  ];
  if (f.priority !== undefined) head.push('prio', String(f.priority));
  if (f.protocol !== undefined) head.push('protocol', String(f.protocol));
  if (o.op === 'delete') {
    if (f.handle !== undefined) head.push('handle', `0x${(f.handle as number).toString(16)}`);
    head.push(String(f.kind ?? 'u32'));
    return { tool: 'tc', args: head };
  }
  if (f.kind !== 'u32') throw new Error(`filter kind ${String(f.kind)} is not translated`);
  if (f.handle !== undefined) head.push('handle', `0x${(f.handle as number).toString(16)}`);
  head.push('u32', 'match', 'u32', '0', '0');
  for (const a of (f.actions as Record<string, unknown>[]) ?? []) {
    if (a.kind !== 'mirred') throw new Error(`action ${String(a.kind)} is not translated`);
    head.push(
      'action',
      'mirred',
      String(a.direction ?? 'egress'),
      String(a.mode ?? 'redirect'),
      'dev',
      String(a.dev),
    );
    if (a.cookie) head.push('cookie', String(a.cookie));
  }
  return { tool: 'tc', args: head };
}

/**
 * The commands in the order batches send them: one `ip -batch` and one `tc -batch` process,
 * links first when links are created, last when they are deleted (what the operations' order
 * says for pod QoS: IFBs before the redirect to them, after the filter that used them).
 */
export function batchGroups(ops: readonly Operation[]): Command[][] {
  const cmds = ops.map(toCommand);
  const ip = cmds.filter((c) => c.tool === 'ip');
  const tc = cmds.filter((c) => c.tool === 'tc');
  const linksFirst = ops.some((o) => 'link' in o && o.op === 'add');
  // (Deleting: the filters that redirect to the IFBs and the qdiscs go first, then the IFBs.)
  return (linksFirst ? [ip, tc] : [tc, ip]).filter((g) => g.length > 0);
}

/** Runs `tool -batch -` with the lines on stdin; resolves on exit 0, rejects otherwise. */
export function runBatch(tool: 'tc' | 'ip', lines: string[], extra: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, [...extra, '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${tool} -batch exited ${code}: ${err.slice(0, 500)}`)),
    );
    child.stdin.end(lines.join('\n') + '\n');
  });
}

export { ifbNameFor };
