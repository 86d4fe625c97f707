// netqos benchmarks (issue 4): netqos against the C++ floor, tc/ip spawned per command,
// tc -batch / ip -batch, pyroute2 and the CNI bandwidth plugin, on W1..W6 and single-pod latency.
//
//   node dist/bench/run.js [--quick] [--sizes 10,100,1000,10000] [--only W1,W2,...,LAT,CNI] [--no-caps]
//                          [--contenders floor,nq-qos,...] [--from bench/results/latest.json]
//
// Must run as root. Every measurement runs in a worker process (worker.ts) started inside a fresh
// node namespace; this process builds and removes the namespaces, then prints the tables and
// writes bench/results/latest.{json,md,svg}. Ratios are measured in the same run.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  FLOOR_BIN,
  REPO,
  ensureFloorBuilt,
  type ContenderId,
  type Spec,
  type Workload,
  type WorkerResult,
} from './lib/common';
import { machine, machineLine, type Machine } from './lib/machine';
import { createTopology, destroyTopology, removeAll, removeStale, type Topology } from './lib/netns';
import { renderSvg, type Panel } from './lib/plot';
import { extrapolate, fmtRatio, fmtTime, mean, median, percentile } from './lib/stats';
import { benchAdd, formatBench, type BenchResult } from './cni-add';

// ---- what runs --------------------------------------------------------------------------------

const WORKLOADS: Workload[] = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'A1', 'RL', 'RQ', 'RF', 'LAT'];
/** Run on the configured pods of W3, W5 and W4 (in this order, W4 last: it changes them). */
const SHARED: Workload[] = ['RL', 'RQ', 'RF', 'W3', 'W5', 'W4'];

const TITLE: Record<Workload, string> = {
  W1: 'W1: replace a TBF root qdisc on N veth interfaces',
  W2: 'W2: pod QoS from nothing on N pods (ingress + egress bandwidth: IFB, redirect, two TBFs)',
  W3: 'W3: no-op reconcile of N configured pods (read back, diff, nothing sent)',
  W4: 'W4: one annotation changed on every pod (ingressBandwidth 10M -> 20M)',
  W5: 'W5: read back limits and statistics of N pods',
  W6: 'W6: remove QoS from N pods',
  A1: 'A1: applyQos of one TBF per interface on N fresh interfaces (ingress bandwidth 10M alone)',
  RL: 'RL: dump the links of N configured pods (2N + 1 links)',
  RQ: 'RQ: dump the qdiscs of N configured pods, interfaces named (3N qdiscs)',
  RF: "RF: read N hooks' filters (the ingress hook of N configured pods, by index)",
  LAT: 'Single-pod apply latency (1,000 sequential applies)',
};

const CONTENDERS: Record<Workload, ContenderId[]> = {
  W1: ['floor', 'nq-raw', 'nq-raw-sync', 'nq-one', 'tc-batch', 'pyroute2', 'tc-spawn'],
  W2: ['floor', 'nq-qos', 'nq-raw', 'nq-one', 'tc-batch', 'pyroute2', 'cni', 'tc-spawn'],
  W3: ['floor', 'nq-qos', 'nq-watch', 'nq-mirror', 'nq-qos-sync', 'nq-qos-one', 'tc-batch', 'tc-spawn'],
  W4: ['floor', 'nq-qos', 'nq-watch', 'nq-qos-sync', 'nq-raw', 'nq-one', 'tc-batch', 'pyroute2', 'tc-spawn'],
  W5: ['floor', 'nq-qos', 'nq-watch', 'nq-qos-one', 'tc-batch', 'pyroute2', 'tc-spawn'],
  W6: ['floor', 'nq-qos', 'nq-raw', 'nq-one', 'tc-batch', 'tc-spawn'],
  A1: ['floor', 'nq-qos-cold', 'nq-qos', 'nq-qos-sync'],
  RL: ['floor', 'nq-dump-sync', 'nq-dump'],
  RQ: ['floor', 'nq-dump-sync', 'nq-dump'],
  RF: ['floor', 'nq-dump-sync', 'nq-dump'],
  LAT: ['floor', 'nq-raw', 'nq-raw-sync', 'nq-qos', 'nq-watch', 'nq-qos-sync', 'pyroute2', 'tc-spawn'],
};

/** "netqos batched" of each workload: what every other contender is compared with. */
const BASELINE: Record<Workload, ContenderId> = {
  W1: 'nq-raw',
  W2: 'nq-qos',
  W3: 'nq-qos',
  W4: 'nq-qos',
  W5: 'nq-qos',
  W6: 'nq-qos',
  A1: 'nq-qos',
  RL: 'nq-dump-sync',
  RQ: 'nq-dump-sync',
  RF: 'nq-dump-sync',
  LAT: 'nq-raw',
};

function label(w: Workload, c: ContenderId): string {
  const qos = w === 'W5' ? 'readQos' : w === 'W6' ? 'clearQos' : 'applyQos';
  const read = w === 'RF' ? 'read' : 'dump';
  switch (c) {
    case 'floor':
      if (w === 'W3' || w === 'W5') return 'C++ floor: the same reads (libmnl, every attribute walked)';
      if (w === 'RL' || w === 'RQ' || w === 'RF') return 'C++ floor (libmnl, every attribute walked)';
      if (w === 'A1') return 'C++ floor: the TBFs alone (writes only)';
      return w === 'W4' ? 'C++ floor (w1 on existing TBFs)' : w === 'LAT' ? 'C++ floor (rtt)' : 'C++ floor';
    case 'nq-mirror':
      return "netqos watch(): a mirror's first read";
    case 'nq-qos-cold':
      return 'netqos applyQos in a fresh process';
    case 'nq-dump':
      return `netqos await ${read}()`;
    case 'nq-dump-sync':
      return `netqos ${read}Sync()`;
    case 'nq-qos':
      if (w === 'A1') return 'netqos applyQos, warm';
      return w === 'LAT' ? 'netqos applyQos, 1 pod (async)' : `netqos ${qos} (batched)`;
    case 'nq-qos-sync':
      if (w === 'A1') return 'netqos applyQosSync, warm';
      return w === 'LAT' ? 'netqos applyQosSync, 1 pod' : `netqos ${qos}Sync (batched)`;
    case 'nq-qos-one':
      return `netqos ${qos}, one pod per call`;
    case 'nq-watch':
      return w === 'LAT'
        ? 'netqos applyQos, 1 pod, watching handle (async)'
        : `netqos ${qos}, watching handle (mirror)`;
    case 'nq-raw':
      return w === 'LAT' ? 'netqos apply([op]) (async)' : 'netqos raw apply(ops) (batched)';
    case 'nq-raw-sync':
      return w === 'LAT' ? 'netqos applySync([op])' : 'netqos raw applySync(ops)';
    case 'nq-one':
      return 'netqos await apply([op]) per op';
    case 'tc-spawn':
      return w === 'W3' || w === 'W5' ? 'tc spawned per read (3 per pod)' : 'tc/ip spawned per command';
    case 'tc-batch':
      return w === 'W3' || w === 'W5' ? 'tc -j qdisc show + tc -batch filter show' : 'tc -batch / ip -batch';
    case 'pyroute2':
      return 'pyroute2 (in-process)';
    case 'cni':
      return 'CNI bandwidth plugin (1 process per pod)';
  }
}

/** Largest N a contender runs at (beyond it: extrapolated), with the reason. */
function cap(w: Workload, c: ContenderId): { max: number; why: string } | undefined {
  if (c === 'tc-spawn') {
    // tc and ip dump every link of the namespace when they start: per command O(N).
    if (w === 'W1' || w === 'W4')
      return {
        max: 1000,
        why: 'one process per command, each dumping every link at start (O(N) per command)',
      };
    return {
      max: 100,
      why: 'one process per command, each dumping every link at start (O(N) per command): minutes at 1,000',
    };
  }
  if (c === 'cni') return { max: 1000, why: 'one process per pod, and one namespace per pod' };
  if (c === 'nq-qos-one')
    return {
      max: 1000,
      why: 'one call per pod, each reading its own interfaces (at 10,000 the sequential round trips alone take seconds)',
    };
  return undefined;
}

interface Plan {
  repeats: number;
  warmup: number;
}

type RepeatsWarmup = [repeats: number, warmup: number];

const firstLine = (err: unknown): string => {
  const [line = ''] = (err as Error).message.split('\n');
  return line;
};

function plan(w: Workload, c: ContenderId, n: number, quick: boolean): Plan {
  if (w === 'LAT') return { repeats: 1000, warmup: 50 };
  const slow = c === 'tc-spawn' || c === 'cni' || c === 'nq-qos-one';
  const tier = n <= 10 ? 0 : n <= 100 ? 1 : n <= 1000 ? 2 : 3;
  // [repeats, warmup] for each tier: four rows, so table[tier] is always there.
  let table: [RepeatsWarmup, RepeatsWarmup, RepeatsWarmup, RepeatsWarmup];
  if (slow)
    table = quick
      ? [
          [3, 0],
          [1, 0],
          [1, 0],
          [1, 0],
        ]
      : [
          [5, 1],
          [3, 0],
          [1, 0],
          [1, 0],
        ];
  else if (c === 'pyroute2' || c === 'nq-one')
    table = quick
      ? [
          [5, 1],
          [3, 0],
          [2, 0],
          [1, 0],
        ]
      : [
          [9, 1],
          [5, 1],
          [3, 0],
          [1, 0],
        ];
  else
    table = quick
      ? [
          [5, 1],
          [3, 1],
          [3, 0],
          [2, 0],
        ]
      : [
          [9, 2],
          [9, 1],
          [7, 1],
          [w === 'W2' || w === 'W6' ? 1 : 3, 0],
        ];
  const [repeats, warmup] = table[tier];
  return { repeats, warmup };
}

// ---- options ----------------------------------------------------------------------------------

interface Options {
  quick: boolean;
  sizes: number[];
  only: Set<Workload>;
  /** The CNI ADD-time comparison (cni-add.ts) after the workloads: `--only ...,CNI`. */
  cni: boolean;
  noCaps: boolean;
  /** Only these contenders (for looking at one closely); default all. */
  contenders?: Set<ContenderId>;
  /** Re-render the tables and plot from a results JSON instead of measuring. */
  from?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, sizes: [], only: new Set(WORKLOADS), noCaps: false, cni: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!; // i < argv.length (value() may step i on, then the loop checks again)
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--no-caps') o.noCaps = true;
    else if (a.startsWith('--from')) o.from = value();
    else if (a.startsWith('--contenders'))
      o.contenders = new Set(
        value()
          .split(',')
          .map((s) => s.trim()) as ContenderId[],
      );
    else if (a.startsWith('--sizes'))
      o.sizes = value()
        .split(',')
        .map((s) => Number(s.replace(/_/g, '')));
    else if (a.startsWith('--only')) {
      const ws = value()
        .split(',')
        .map((s) => s.trim().toUpperCase());
      for (const w of ws)
        if (w !== 'CNI' && !WORKLOADS.includes(w as Workload)) usage(`unknown workload ${w}`);
      o.cni = ws.includes('CNI');
      o.only = new Set(ws.filter((w) => w !== 'CNI') as Workload[]);
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option ${a}`);
  }
  if (!o.sizes.length) o.sizes = o.quick ? [10, 100, 1000] : [10, 100, 1000, 10000];
  if (o.sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 50000))
    usage('--sizes: integers from 1 to 50000');
  o.sizes.sort((a, b) => a - b);
  return o;
}

function usage(problem?: string): never {
  if (problem) process.stderr.write(`bench: ${problem}\n`);
  process.stderr.write(
    'usage: node dist/bench/run.js [--quick] [--sizes 10,100,1000,10000] [--only W1,W2,W3,W4,W5,W6,LAT,CNI] [--no-caps]\n       [--from results.json (tables and plot again, no measuring)] [--contenders floor,nq-qos,nq-qos-sync,nq-qos-one,nq-watch,nq-raw,nq-raw-sync,nq-one,tc-batch,pyroute2,cni,tc-spawn]\n',
  );
  process.exit(problem ? 2 : 0);
}

// ---- running workers --------------------------------------------------------------------------

interface Cell {
  workload: Workload;
  contender: ContenderId;
  label: string;
  n: number;
  status: 'ok' | 'skipped' | 'error';
  samples?: number[];
  median?: number;
  perItemUs?: number;
  /** For skipped cells: extrapolated from smaller N. */
  extrapolated?: { seconds: number; exponent: number };
  reason?: string;
  vsBaseline?: number;
  vsFloor?: number;
  units?: number;
  maxRssKb?: number;
  startRssKb?: number;
  processSeconds?: number[];
  notes?: string[];
  /** The highest 1-minute load average seen when its runs started. */
  loadAvg?: number;
  /** LAT: microseconds. */
  p50Us?: number;
  p99Us?: number;
  meanUs?: number;
}

const WORKER = path.join(__dirname, 'worker.js');
const WORKER_TIMEOUT_MS = 15 * 60 * 1000;
/** Up to this N the contenders of a workload run interleaved, run by run (their namespaces all exist at once). */
const INTERLEAVE_MAX = 1000;
const children = new Set<ChildProcess>();
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;

/** A worker process in its namespace (`ip netns exec` execs node in place: same pid). */
class Worker {
  private child: ChildProcess;
  private lines: string[] = [];
  private waiting: ((line: string | undefined) => void)[] = [];
  private stderr = '';
  private closed = false;
  private timer: NodeJS.Timeout;

  constructor(spec: Spec) {
    this.child = spawn('ip', ['netns', 'exec', spec.netns, process.execPath, WORKER, JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(this.child);
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    this.child
      .stderr!.setEncoding('utf8')
      .on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.child.on('close', (code, signal) => {
      this.closed = true;
      children.delete(this.child);
      clearTimeout(this.timer);
      if (buf.trim()) this.push(buf);
      const why = `worker ended (${signal ?? `exit ${code}`}): ${this.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`;
      for (const w of this.waiting.splice(0))
        w(JSON.stringify({ error: why, samples: [], maxRssKb: 0, startRssKb: 0 }));
    });
    this.child.stdin!.on('error', () => {});
    this.timer = setTimeout(() => this.kill(), WORKER_TIMEOUT_MS);
  }

  private push(line: string): void {
    const w = this.waiting.shift();
    if (w) w(line);
    else this.lines.push(line);
  }

  /** The next JSON line the worker prints. */
  next<T>(): Promise<T> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line) as T);
    if (this.closed)
      return Promise.resolve({ error: 'worker gone', samples: [], maxRssKb: 0, startRssKb: 0 } as T);
    return new Promise((resolve) => this.waiting.push((l) => resolve(JSON.parse(l!) as T)));
  }

  send(line: string): void {
    if (!this.closed) this.child.stdin!.write(line + '\n');
  }

  kill(): void {
    if (this.child.pid && !this.closed) process.kill(this.child.pid, 'SIGKILL');
  }
}

const cells: Cell[] = [];

function find(w: Workload, c: ContenderId, n: number): Cell | undefined {
  return cells.find((x) => x.workload === w && x.contender === c && x.n === n);
}

interface Entry {
  c: ContenderId;
  /** Makes the contender's namespace; or `shared`, which the caller removes. */
  topology?: () => Topology;
  shared?: Topology;
}

/** Pushes a skipped cell if the contender is capped at n; true when it is. */
function skipped(opts: Options, w: Workload, c: ContenderId, n: number): boolean {
  const base: Cell = { workload: w, contender: c, label: label(w, c), n, status: 'skipped' };
  const limit = cap(w, c);
  if (limit && n > limit.max && !opts.noCaps) {
    const points = cells
      .filter((x) => x.workload === w && x.contender === c && x.status === 'ok' && x.median)
      .map((x) => ({ n: x.n, seconds: x.median! }));
    cells.push({
      ...base,
      reason: `not run at N=${n.toLocaleString('en-US')}: ${limit.why}`,
      extrapolated: extrapolate(points, n),
    });
    return true;
  }
  if (c === 'floor' && !fs.existsSync(FLOOR_BIN)) {
    cells.push({ ...base, reason: 'the floor is not built' });
    return true;
  }
  return false;
}

function record(w: Workload, c: ContenderId, n: number, r: WorkerResult): void {
  const cell: Cell = {
    workload: w,
    contender: c,
    label: label(w, c),
    n,
    status: 'ok',
    units: r.units,
    maxRssKb: r.maxRssKb,
    startRssKb: r.startRssKb,
    processSeconds: r.processSeconds,
    notes: r.notes,
    loadAvg: r.loadAvg,
  };
  if (r.error && !(w !== 'LAT' && r.samples.length))
    Object.assign(cell, { status: 'error', reason: r.error });
  else if (w === 'LAT') {
    const s = r.summary ?? {
      p50Us: percentile(r.samples, 0.5) * 1e6,
      p99Us: percentile(r.samples, 0.99) * 1e6,
      meanUs: mean(r.samples) * 1e6,
    };
    Object.assign(cell, {
      samples: r.samples,
      p50Us: s.p50Us,
      p99Us: s.p99Us,
      meanUs: s.meanUs,
      median: s.p50Us / 1e6,
    });
  } else {
    const m = median(r.samples);
    Object.assign(cell, { samples: r.samples, median: m, perItemUs: (m / n) * 1e6 });
    if (r.error) cell.notes = [...(cell.notes ?? []), `a later run failed: ${r.error}`];
  }
  cells.push(cell);
  const shown =
    cell.status === 'ok'
      ? `${fmtTime(cell.median!)}${w === 'LAT' ? ' p50' : ` (${cell.samples!.length} run${cell.samples!.length > 1 ? 's' : ''})`}`
      : `ERROR ${cell.reason}`;
  process.stderr.write(
    `  [${elapsed()}] ${w} N=${n} ${label(w, c)}: ${shown}${r.loadAvg !== undefined && r.loadAvg > 1.5 ? `  (load average ${r.loadAvg.toFixed(1)})` : ''}\n`,
  );
}

const failed = (error: string): WorkerResult => ({ samples: [], maxRssKb: 0, startRssKb: 0, error });

/**
 * Measures the contenders of one workload at one N. Up to INTERLEAVE_MAX they run interleaved:
 * every contender's namespace and worker is made first (each worker does its warm-up), then
 * round by round each contender does one timed run, so that anything else the machine does at
 * the time weighs on all of them. Above it, one contender after the other.
 */
async function measureGroup(opts: Options, w: Workload, n: number, entries: Entry[]): Promise<void> {
  const todo = entries.filter(
    (e) => (!opts.contenders || opts.contenders.has(e.c)) && !skipped(opts, w, e.c, n),
  );
  const interleave = n <= INTERLEAVE_MAX && w !== 'LAT';
  const load = () => os.loadavg()[0] ?? NaN; // (Linux gives three averages)
  if (!interleave) {
    for (const e of todo) {
      const { repeats, warmup } = plan(w, e.c, n, opts.quick);
      let t: Topology | undefined = e.shared;
      let r: WorkerResult;
      try {
        t ??= e.topology!();
        const worker = new Worker({
          workload: w,
          contender: e.c,
          n,
          repeats,
          warmup,
          netns: t.node,
          naming: t.naming,
          podPrefix: t.podPrefix,
        });
        r = await worker.next<WorkerResult>();
        r.loadAvg = load();
      } catch (err) {
        r = failed(firstLine(err));
      } finally {
        if (t && !e.shared) destroyTopology(t);
      }
      record(w, e.c, n, r);
    }
    return;
  }
  interface Live {
    e: Entry;
    t?: Topology;
    worker?: Worker;
    repeats: number;
    done: boolean;
    result?: WorkerResult;
    loads: number[];
  }
  const live: Live[] = [];
  try {
    for (const e of todo) {
      const { repeats, warmup } = plan(w, e.c, n, opts.quick);
      const l: Live = { e, repeats, done: false, loads: [] };
      live.push(l);
      try {
        l.t = e.shared ?? e.topology!();
        l.worker = new Worker({
          workload: w,
          contender: e.c,
          n,
          repeats,
          warmup,
          netns: l.t.node,
          naming: l.t.naming,
          podPrefix: l.t.podPrefix,
          serve: true,
        });
        const hello = await l.worker.next<{ ready?: boolean; error?: string }>();
        if (!hello.ready) {
          l.done = true;
          l.result = failed(hello.error ?? 'worker did not start');
        }
      } catch (err) {
        l.done = true;
        l.result = failed(firstLine(err));
      }
    }
    const rounds = Math.max(0, ...live.map((l) => l.repeats));
    for (let k = 0; k < rounds; k++) {
      for (const l of live) {
        if (l.done || k >= l.repeats) continue;
        l.loads.push(load());
        l.worker!.send('run');
        const reply = await l.worker!.next<{ sample?: number; error?: string }>();
        if (reply.error) l.done = true;
      }
    }
    for (const l of live) {
      if (l.worker && !l.result) {
        l.worker.send('end');
        l.result = await l.worker.next<WorkerResult>();
        l.result.loadAvg = Math.max(...l.loads);
      }
    }
  } finally {
    for (const l of live) {
      l.worker?.kill();
      if (l.t && !l.e.shared) destroyTopology(l.t);
    }
  }
  for (const l of live) record(w, l.e.c, n, l.result ?? failed('no result'));
}

// ---- the run ----------------------------------------------------------------------------------

async function runAll(opts: Options): Promise<void> {
  const has = (w: Workload) => opts.only.has(w);
  for (const n of opts.sizes) {
    process.stderr.write(`N=${n.toLocaleString('en-US')} [${elapsed()}]\n`);
    if (has('W1'))
      await measureGroup(
        opts,
        'W1',
        n,
        CONTENDERS.W1.map((c) => ({ c, topology: () => createTopology(`w1-${c}`, n, 'h') })),
      );
    if (has('W2')) {
      await measureGroup(
        opts,
        'W2',
        n,
        CONTENDERS.W2.map((c) => ({
          c,
          topology: () => createTopology(`w2-${c}`, n, c === 'floor' ? 'h' : 'cali', c === 'cni'),
        })),
      );
    }
    // The reads and W3, W5 and W4 share one configured node namespace per N (W4 puts 10M back
    // after each of its runs, and runs last); the floor's W4 has its own.
    const shared = SHARED.filter(has);
    if (shared.length) {
      let t: Topology | undefined;
      try {
        t = createTopology('shared', n, 'cali');
        const setup = await new Worker({
          workload: 'W2',
          contender: 'nq-qos',
          n,
          repeats: 1,
          warmup: 0,
          netns: t.node,
          naming: 'cali',
        }).next<WorkerResult>();
        if (setup.error) throw new Error(`configuring the shared pods failed: ${setup.error}`);
        for (const w of shared) {
          await measureGroup(
            opts,
            w,
            n,
            CONTENDERS[w].map((c) =>
              c === 'floor' && w === 'W4'
                ? { c, topology: () => createTopology('w4-floor', n, 'h') }
                : { c, shared: t },
            ),
          );
        }
      } catch (e) {
        process.stderr.write(`  shared pods at N=${n}: ${(e as Error).message}\n`);
        for (const w of shared)
          for (const c of CONTENDERS[w])
            if (!find(w, c, n))
              cells.push({
                workload: w,
                contender: c,
                label: label(w, c),
                n,
                status: 'error',
                reason: (e as Error).message,
              });
      } finally {
        if (t) destroyTopology(t);
      }
    }
    if (has('A1'))
      await measureGroup(
        opts,
        'A1',
        n,
        CONTENDERS.A1.map((c) => ({ c, topology: () => createTopology(`a1-${c}`, n, 'h') })),
      );
    if (has('W6'))
      await measureGroup(
        opts,
        'W6',
        n,
        CONTENDERS.W6.map((c) => ({
          c,
          topology: () => createTopology(`w6-${c}`, n, c === 'floor' ? 'h' : 'cali'),
        })),
      );
  }
  if (has('LAT')) {
    process.stderr.write(`single-pod latency [${elapsed()}]\n`);
    await measureGroup(
      opts,
      'LAT',
      1,
      CONTENDERS.LAT.map((c) => ({
        c,
        topology: () =>
          createTopology(
            `lat-${c}`,
            1,
            c === 'nq-qos' || c === 'nq-qos-sync' || c === 'nq-watch' ? 'cali' : 'h',
          ),
      })),
    );
  }
  if (opts.cni) {
    process.stderr.write(`CNI ADD time [${elapsed()}]\n`);
    try {
      cni = await benchAdd(opts.quick ? 10 : 30);
    } catch (e) {
      cniError = (e as Error).message.split('\n')[0];
      process.stderr.write(`  CNI ADD time: ${cniError}\n`);
    }
  }
}

/** The CNI ADD-time comparison, or why it did not run. */
let cni: BenchResult | undefined;
let cniError: string | undefined;

function computeRatios(): void {
  for (const cell of cells) {
    const value = cell.status === 'ok' ? cell.median : cell.extrapolated?.seconds;
    if (value === undefined) continue;
    const base = find(cell.workload, BASELINE[cell.workload], cell.n);
    const floor = find(cell.workload, 'floor', cell.n);
    if (base?.status === 'ok' && base.median) cell.vsBaseline = value / base.median;
    if (floor?.status === 'ok' && floor.median) cell.vsFloor = value / floor.median;
  }
}

// ---- reporting --------------------------------------------------------------------------------

interface Target {
  target: string;
  measured: string;
  met?: boolean;
}

function targets(opts: Options): Target[] {
  const out: Target[] = [];
  const largest = (w: Workload, c: ContenderId) =>
    opts.sizes.filter((n) => find(w, c, n)?.status === 'ok').pop();
  const list = (w: Workload, c: ContenderId, pick: (cell: Cell) => number | undefined, fmt = fmtRatio) =>
    opts.sizes
      .map((n) => {
        const cell = find(w, c, n);
        const v = cell ? pick(cell) : undefined;
        return v === undefined
          ? undefined
          : `N=${n.toLocaleString('en-US')}: ${fmt(v)}${cell?.status === 'skipped' ? ' (extrapolated)' : ''}`;
      })
      .filter(Boolean)
      .join(', ');
  const worstAt = (
    w: Workload,
    c: ContenderId,
    pick: (cell: Cell) => number | undefined,
    atLeast: number,
  ) => {
    const ns = opts.sizes.filter((n) => n >= atLeast && find(w, c, n) && pick(find(w, c, n)!) !== undefined);
    return ns.length ? ns.map((n) => pick(find(w, c, n)!)!) : undefined;
  };
  // 1, 2: batched vs the floor (the criterion judged at N >= 1000, where per-call overheads vanish).
  for (const [w, c, limit] of [
    ['W1', 'nq-raw', 1.2],
    ['W2', 'nq-qos', 1.5],
    ['W2', 'nq-raw', 1.5],
  ] as [Workload, ContenderId, number][]) {
    const vs = worstAt(w, c, (x) => x.vsFloor, 1000);
    out.push({
      target: `${w} ${label(w, c)} within ${limit}x of the floor (judged at N >= 1,000)`,
      measured: list(w, c, (x) => (x.status === 'ok' ? x.vsFloor : undefined)),
      met: vs ? vs.every((v) => v <= limit) : undefined,
    });
  }
  // 3, 4: vs the spawn path and tc -batch (speedup = contender time / netqos time).
  for (const w of ['W1', 'W2'] as Workload[]) {
    const vs = worstAt(w, 'tc-spawn', (x) => x.vsBaseline, 1000);
    out.push({
      target: `${w} netqos batched >= 1000x faster than tc/ip spawned per command (judged at N >= 1,000)`,
      measured: list(w, 'tc-spawn', (x) => x.vsBaseline),
      met: vs ? vs.every((v) => v >= 1000) : undefined,
    });
    const vb = worstAt(w, 'tc-batch', (x) => x.vsBaseline, 100);
    out.push({
      target: `${w} netqos batched >= 3x faster than tc -batch (judged at N >= 100)`,
      measured: list(w, 'tc-batch', (x) => x.vsBaseline),
      met: vb ? vb.every((v) => v >= 3) : undefined,
    });
  }
  // 5: W3 at 10,000 pods under 50 ms: reading the kernel each time, and from a watching handle.
  for (const c of ['nq-qos', 'nq-watch'] as ContenderId[]) {
    const w3 = find('W3', c, 10000);
    const big = largest('W3', c);
    out.push({
      target: `W3 no-op reconcile of 10,000 pods under 50 ms: ${label('W3', c)}`,
      measured:
        w3?.status === 'ok'
          ? `${fmtTime(w3.median!)} (${(w3.median! / 0.05).toFixed(2)}x the budget)`
          : `not measured at 10,000${big ? ` (largest: N=${big}, ${fmtTime(find('W3', c, big)!.median!)})` : ''}`,
      met: w3?.status === 'ok' ? w3.median! < 0.05 : undefined,
    });
  }
  // 6: single-pod async apply p50 within 100 µs of the floor's round trip.
  const floorLat = find('LAT', 'floor', 1);
  for (const c of ['nq-raw', 'nq-qos', 'nq-watch'] as ContenderId[]) {
    const cell = find('LAT', c, 1);
    const ok = floorLat?.status === 'ok' && cell?.status === 'ok';
    out.push({
      target: `single-pod async p50 within 100 µs of the floor's rtt: ${label('LAT', c)}`,
      measured: ok
        ? `p50 ${cell!.p50Us!.toFixed(1)} µs vs floor ${floorLat!.p50Us!.toFixed(1)} µs: +${(cell!.p50Us! - floorLat!.p50Us!).toFixed(1)} µs`
        : 'not measured',
      met: ok ? cell!.p50Us! - floorLat!.p50Us! <= 100 : undefined,
    });
  }
  // Issue 12: reads at the floor.
  for (const w of ['RL', 'RQ', 'RF', 'W3', 'W5'] as Workload[]) {
    for (const c of (w === 'W3' || w === 'W5' ? ['nq-qos'] : ['nq-dump-sync', 'nq-dump']) as ContenderId[]) {
      const vs = worstAt(w, c, (x) => (x.status === 'ok' ? x.vsFloor : undefined), 1000);
      out.push({
        target: `${w} ${label(w, c)} within 1.5x of the floor's same reads (judged at N >= 1,000)`,
        measured: list(w, c, (x) => (x.status === 'ok' ? x.vsFloor : undefined)),
        met: w === 'W3' || w === 'W5' ? undefined : vs ? vs.every((v) => v <= 1.5) : undefined,
      });
    }
  }
  for (const [c, limit] of [
    ['nq-qos-cold', 2],
    ['nq-qos', 1.3],
  ] as [ContenderId, number][]) {
    const cell = find('A1', c, 1000);
    out.push({
      target: `A1 at N = 1,000: ${label('A1', c)} within ${limit}x of the writes-only floor`,
      measured: cell?.vsFloor !== undefined ? fmtRatio(cell.vsFloor) : 'not measured at 1,000',
      met: cell?.vsFloor !== undefined ? cell.vsFloor <= limit : undefined,
    });
  }
  const mirror = find('W3', 'nq-mirror', 10000);
  out.push({
    target: "W3 at N = 10,000: a mirror's first read within 2x of the floor's same reads",
    measured:
      mirror?.vsFloor !== undefined
        ? `${fmtTime(mirror.median!)}, ${fmtRatio(mirror.vsFloor)}`
        : `not measured at 10,000 (${list('W3', 'nq-mirror', (x) => x.vsFloor)})`,
    met: mirror?.vsFloor !== undefined ? mirror.vsFloor <= 2 : undefined,
  });
  const agent = find('W4', 'nq-watch', 10000);
  out.push({
    target: 'peak RSS of a process holding a mirror of 10,000 pods (W4, watching handle) at most 150 MiB',
    measured: agent?.maxRssKb ? `${(agent.maxRssKb / 1024).toFixed(0)} MiB` : 'not measured at 10,000',
    met: agent?.maxRssKb ? agent.maxRssKb / 1024 <= 150 : undefined,
  });
  const lat = find('LAT', 'nq-qos', 1);
  out.push({
    target: 'single-pod applyQos without a watching handle: p50 within 150 µs',
    measured: lat?.status === 'ok' ? `p50 ${lat.p50Us!.toFixed(1)} µs` : 'not measured',
    met: lat?.status === 'ok' ? lat.p50Us! <= 150 : undefined,
  });
  // Issue 5: a netqos CNI ADD no slower than the reference plugin's.
  if (opts.cni) {
    out.push({
      target:
        'CNI ADD (native plugin + resident server) not slower than the reference bandwidth plugin (medians)',
      measured: cni
        ? `${cni.shim.median.toFixed(1)} ms vs ${cni.reference.median.toFixed(1)} ms (${(cni.shim.median / cni.reference.median).toFixed(2)}x)`
        : `not measured (${cniError})`,
      met: cni ? cni.shim.median <= cni.reference.median : undefined,
    });
  }
  return out;
}

function cellRow(cell: Cell): string[] {
  const n = cell.n.toLocaleString('en-US');
  const ext = cell.status === 'skipped' && cell.extrapolated;
  if (cell.status === 'error') return [cell.label, n, 'error', '', '', '', cell.reason ?? ''];
  if (cell.status === 'skipped') {
    return [
      cell.label,
      n,
      ext ? `~${fmtTime(cell.extrapolated!.seconds)}` : 'skipped',
      ext ? `~${fmtTime(cell.extrapolated!.seconds / cell.n)}` : '',
      cell.vsBaseline ? `~${fmtRatio(cell.vsBaseline)}` : '—',
      cell.vsFloor ? `~${fmtRatio(cell.vsFloor)}` : '—',
      ext
        ? `not run at this N (extrapolated${cell.extrapolated!.exponent > 1.05 ? `, t ∝ N^${cell.extrapolated!.exponent.toFixed(2)}` : ''})`
        : `skipped: ${cell.reason}`,
    ];
  }
  const spread =
    cell.samples && cell.samples.length > 2
      ? ` (${fmtTime(Math.min(...cell.samples))}–${fmtTime(Math.max(...cell.samples))})`
      : '';
  const note = [
    cell.samples ? `${cell.samples.length} run${cell.samples.length > 1 ? 's' : ''}${spread}` : '',
  ];
  if (cell.processSeconds?.length) note.push(`python process ${fmtTime(median(cell.processSeconds))}`);
  if (cell.notes) note.push(...cell.notes);
  return [
    cell.label,
    n,
    fmtTime(cell.median!),
    fmtTime(cell.median! / cell.n),
    fmtRatio(cell.vsBaseline),
    fmtRatio(cell.vsFloor),
    note.filter(Boolean).join('; '),
  ];
}

const HEAD = ['contender', 'N', 'median', 'per item', 'x netqos batched', 'x floor', 'notes'];
const LAT_HEAD = ['contender', 'p50', 'p99', 'mean', 'p50 - floor p50', 'x floor p50'];

function latRow(cell: Cell, floor?: Cell): string[] {
  if (cell.status !== 'ok') return [cell.label, cell.status, cell.reason ?? '', '', '', ''];
  const f = floor?.status === 'ok' ? floor.p50Us : undefined;
  const us = (v: number) => `${v.toFixed(1)} µs`;
  return [
    cell.label,
    us(cell.p50Us!),
    us(cell.p99Us!),
    us(cell.meanUs!),
    f !== undefined ? `${cell.p50Us! - f >= 0 ? '+' : ''}${(cell.p50Us! - f).toFixed(1)} µs` : '—',
    f ? fmtRatio(cell.p50Us! / f) : '—',
  ];
}

function textTable(
  head: string[],
  rows: string[][],
  breaks: Set<number> = new Set(),
  right = new Set([1, 2, 3, 4, 5]),
): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) =>
        i === r.length - 1 ? c : right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const lines = [
    fmt(head),
    widths.map((w, i) => (i === widths.length - 1 ? '-'.repeat(Math.min(w, 10)) : '-'.repeat(w))).join('  '),
  ];
  rows.forEach((r, i) => {
    if (breaks.has(i)) lines.push('');
    lines.push(fmt(r));
  });
  return lines.join('\n');
}

function mdTable(head: string[], rows: string[][], right = new Set([1, 2, 3, 4, 5])): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (right.has(i) ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function rowsOf(w: Workload, opts: Options): { rows: string[][]; breaks: Set<number> } {
  const rows: string[][] = [];
  const breaks = new Set<number>();
  for (const n of opts.sizes) {
    const group = CONTENDERS[w].map((c) => find(w, c, n)).filter((x): x is Cell => !!x);
    if (!group.length) continue;
    if (rows.length) breaks.add(rows.length);
    rows.push(...group.map(cellRow));
  }
  return { rows, breaks };
}

function memoryRows(opts: Options): string[][] {
  const n = Math.max(...opts.sizes);
  return cells
    .filter((c) => c.n === n && c.contender.startsWith('nq-') && c.status === 'ok' && c.maxRssKb)
    .map((c) => [
      c.workload,
      c.label,
      `${(c.maxRssKb! / 1024).toFixed(0)} MiB`,
      `${(c.startRssKb! / 1024).toFixed(0)} MiB`,
    ]);
}

function report(
  opts: Options,
  m: Machine,
  seconds: number,
): { text: string; md: string; json: object; svg: string } {
  computeRatios();
  const ts = targets(opts);
  const text: string[] = [
    `netqos benchmarks: ${machineLine(m)}`,
    `run: ${opts.quick ? '--quick' : 'full'}, sizes ${opts.sizes.join(',')}, ${fmtTime(seconds)}`,
    '',
  ];
  const md: string[] = [
    `### Benchmarks (${m.date.slice(0, 10)})`,
    '',
    `Machine: ${machineLine(m)}.`,
    `Run: \`npm run bench\`${opts.quick ? ' -- --quick' : ''} (sizes ${opts.sizes.join(', ')}), ${fmtTime(seconds)}.`,
    'Median wall time of the timed region; "x netqos batched" and "x floor" are time ratios measured in the same run (above 1: slower than netqos / the floor). ' +
      'Every measurement runs in a fresh namespace (IPv6 off); the tc, pyroute2 and CNI contenders run inside it as a node agent would.',
    '',
  ];
  for (const w of WORKLOADS) {
    if (!opts.only.has(w)) continue;
    if (w === 'LAT') {
      const floor = find('LAT', 'floor', 1);
      const rows = CONTENDERS.LAT.map((c) => find('LAT', c, 1))
        .filter((x): x is Cell => !!x)
        .map((c) => latRow(c, floor));
      text.push(TITLE.LAT, textTable(LAT_HEAD, rows), '');
      md.push(`#### ${TITLE.LAT}`, '', mdTable(LAT_HEAD, rows), '');
      continue;
    }
    const { rows, breaks } = rowsOf(w, opts);
    text.push(`${TITLE[w]}   (baseline: ${label(w, BASELINE[w])})`, textTable(HEAD, rows, breaks), '');
    md.push(`#### ${TITLE[w]}`, '', mdTable(HEAD, rows), '');
  }
  if (cni || cniError) {
    text.push(cni ? formatBench(cni) : `CNI ADD time: not measured (${cniError})`, '');
    md.push(
      `#### CNI ADD time (${cni ? `${cni.runs} runs, ` : ''}whole processes under \`ip netns exec\`, as a runtime runs a plugin)`,
      '',
    );
    if (cni) {
      const row = (label: string, x: BenchResult['reference']) => [
        label,
        `${x.median.toFixed(1)} ms`,
        `${x.p90.toFixed(1)} ms`,
        `${x.min.toFixed(1)} ms`,
      ];
      md.push(
        mdTable(
          ['plugin', 'median', 'p90', 'min'],
          [
            row('reference `bandwidth` (Go)', cni.reference),
            row('netqos: native plugin + resident server', cni.shim),
            row('netqos: native plugin, no server (falls back to Node)', cni.shimFallback),
            row('netqos: Node plugin (bundle + code cache)', cni.netqos),
            row('launcher alone: `ip netns exec <node> /bin/true`', cni.launcher),
          ],
          new Set([1, 2, 3]),
        ),
        '',
      );
    } else md.push(`Not measured: ${cniError}`, '');
  }
  const mem = memoryRows(opts);
  if (mem.length) {
    const head = ['workload', 'netqos contender', 'peak RSS (maxRSS)', 'RSS after loading'];
    text.push(
      `Memory: peak RSS of the netqos worker process at N=${Math.max(...opts.sizes).toLocaleString('en-US')}`,
      textTable(head, mem, new Set(), new Set([2, 3])),
      '',
    );
    md.push(
      `#### Memory: peak RSS of the netqos process at N=${Math.max(...opts.sizes).toLocaleString('en-US')}`,
      '',
      mdTable(head, mem, new Set([2, 3])),
      '',
    );
  }
  const [top] = cells.filter((c) => c.loadAvg !== undefined).sort((a, b) => b.loadAvg! - a.loadAvg!);
  const loadLine =
    `Load: the 1-minute load average was ${m.loadAvg.toFixed(2)} at the start` +
    (top ? `, at most ${top.loadAvg!.toFixed(2)} during the runs (${top.workload} N=${top.n})` : '') +
    ` on ${m.cores} cores${top && top.loadAvg! > m.cores * 0.75 ? ': other work on the machine ran at the same time, so absolute times are noisy; the contenders of a workload ran interleaved (N <= 1,000), so ratios are less affected' : ''}.`;
  text.push(loadLine, '');
  md.push(loadLine, '');
  const trows = ts.map((t) => [t.met === undefined ? 'n/a' : t.met ? 'met' : 'MISSED', t.target, t.measured]);
  text.push(
    'Targets (reported, not asserted)',
    textTable(['', 'target', 'measured'], trows, new Set(), new Set()),
    '',
  );
  md.push(
    '#### Targets (reported, not asserted)',
    '',
    mdTable(['', 'target', 'measured'], trows, new Set()),
    '',
  );
  const notes = [
    'tc/ip spawned per command: Node child_process.execFile, one process per command, sequentially, inside the namespace (no -n). W3/W5: `tc -j [-s] qdisc show dev` for the host and its IFB and `tc -j filter show dev ... ingress` per pod, parsed and compared in JavaScript.',
    'tc -batch / ip -batch: the same command lines through one `ip -batch -` process (IFBs) and one `tc -batch -` process (qdiscs and filters), stdin fed by Node; process start included.',
    'pyroute2: Debian python3-pyroute2, /usr/bin/python3, an IPRoute socket in the namespace opened before the clock starts; the in-process time of the operations (including one link dump for the indexes) is reported, the whole python process (interpreter start and import) in the notes.',
    "CNI bandwidth plugin: /usr/lib/cni/bandwidth, one process per pod (CNI_COMMAND=ADD, prevResult with the host veth and the pod's eth0 in its own namespace), as a runtime calls it; it adds an ingress qdisc, a u32 filter with two mirred actions, an IFB (bwp...) and two TBFs.",
    "The C++ floor: bench/floor (netqos's engine over libmnl, no Node, no N-API), timing encode + send; its W2 uses an ingress qdisc and no cookies where netqos uses clsact and action cookies; its W4 is its w1 on interfaces that already have the TBF; its A1 sends the TBFs applyQos sends, nothing read.",
    "The read floor (RL, RQ, RF, W3, W5): bench/floor/reads.cc, plain libmnl and none of netqos's engine: the same dumps netqos sends (links without statistics, every qdisc, hooks two per sendmsg), every attribute of every reply walked (and the nests netqos decodes), nothing built. W3/W5: links, qdiscs, then both hooks of every interface with a clsact.",
    'netqos applyQos/clearQos are atomic per namespace (they snapshot the touched interfaces first); the raw engine contenders send the operations planQos computed beforehand, without the read-back.',
  ];
  md.push(
    'Notes:',
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    'Plot: `bench/results/latest.svg` (cost per item vs N, log-log).',
    '',
  );
  const json = {
    machine: m,
    options: { ...opts, only: [...opts.only] },
    durationSeconds: seconds,
    cells,
    cni,
    targets: ts,
  };
  return { text: text.join('\n'), md: md.join('\n'), json, svg: plot(opts, m) };
}

const COLORS: Record<ContenderId, string> = {
  floor: '#000000',
  'nq-qos': '#d62728',
  'nq-qos-sync': '#ff9896',
  'nq-qos-one': '#8c564b',
  'nq-watch': '#e377c2',
  'nq-mirror': '#bcbd22',
  'nq-qos-cold': '#c49c94',
  'nq-dump': '#393b79',
  'nq-dump-sync': '#6b6ecf',
  'nq-raw': '#1f77b4',
  'nq-raw-sync': '#aec7e8',
  'nq-one': '#9467bd',
  'tc-spawn': '#7f7f7f',
  'tc-batch': '#2ca02c',
  pyroute2: '#ff7f0e',
  cni: '#17becf',
};

function plot(opts: Options, m: Machine): string {
  const panels: Panel[] = [];
  const used = new Set<ContenderId>();
  for (const w of WORKLOADS) {
    if (w === 'LAT' || !opts.only.has(w)) continue;
    const series = CONTENDERS[w]
      .map((c) => {
        const points = cells
          .filter((x) => x.workload === w && x.contender === c)
          .map((x) =>
            x.status === 'ok'
              ? { n: x.n, us: (x.median! / x.n) * 1e6 }
              : x.extrapolated
                ? { n: x.n, us: (x.extrapolated.seconds / x.n) * 1e6, extrapolated: true }
                : undefined,
          )
          .filter((p): p is { n: number; us: number; extrapolated?: boolean } => !!p);
        if (points.length) used.add(c);
        return { label: c, color: COLORS[c], points };
      })
      .filter((s) => s.points.length);
    // "W2: pod QoS from nothing on N pods (...)" -> "W2: pod QoS from nothing"
    const [name = '', about = ''] = TITLE[w].split(':');
    const [subject = ''] = about.split('(');
    panels.push({ title: `${name}:${subject.replace(/ on N.*| of N.*/, '')}`, series });
  }
  const legendLabel: Record<ContenderId, string> = {
    floor: 'C++ floor',
    'nq-qos': 'netqos applyQos/readQos/clearQos',
    'nq-qos-sync': 'netqos ...Sync',
    'nq-qos-one': 'netqos, one pod per call',
    'nq-watch': 'netqos applyQos, watching handle',
    'nq-mirror': "netqos watch() (the mirror's first read)",
    'nq-qos-cold': 'netqos applyQos in a fresh process',
    'nq-dump': 'netqos await dump() / read()',
    'nq-dump-sync': 'netqos dumpSync() / readSync()',
    'nq-raw': 'netqos raw apply(ops)',
    'nq-raw-sync': 'netqos raw applySync',
    'nq-one': 'netqos apply([op]) per op',
    'tc-spawn': 'tc/ip spawned per command',
    'tc-batch': 'tc -batch / ip -batch',
    pyroute2: 'pyroute2',
    cni: 'CNI bandwidth plugin',
  };
  const legend = [...used].map((c) => ({ label: legendLabel[c], color: COLORS[c] }));
  return renderSvg(
    `netqos benchmarks: cost per item vs N (log-log) · ${m.cpu}, ${m.cores} cores · Linux ${m.kernel} · ${m.date.slice(0, 10)}`,
    panels,
    legend,
  );
}

// ---- preconditions, cleanup, main -------------------------------------------------------------

async function waitForAddon(): Promise<void> {
  const addon = path.join(REPO, 'build', 'Release', 'netqos.node');
  for (let i = 0; i < 60 && !fs.existsSync(addon); i++) {
    if (i === 0) process.stderr.write(`waiting for ${addon} (being rebuilt?)\n`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  if (!fs.existsSync(addon)) throw new Error(`${addon} is missing: build the addon first (npm run build)`);
}

function cleanupAndExit(code: number): never {
  for (const child of children) {
    try {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  removeAll();
  process.exit(code);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.from) return rerender(opts.from);
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: must run as root (it creates network namespaces)\n');
    process.exit(1);
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => cleanupAndExit(130));
  process.on('exit', () => removeAll());
  const stale = removeStale();
  if (stale.length) process.stderr.write(`removed ${stale.length} namespaces left by earlier runs\n`);
  await waitForAddon();
  ensureFloorBuilt('netqos_floor');
  const m = machine();
  process.stdout.write(`${machineLine(m)}\n`);
  await runAll(opts);
  const seconds = (Date.now() - t0) / 1000;
  write(report(opts, m, seconds), seconds);
}

function write(out: ReturnType<typeof report>, seconds: number): void {
  process.stdout.write(`\n${out.text}\n`);
  const dir = path.join(REPO, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(out.json, null, 1) + '\n');
  fs.writeFileSync(path.join(dir, 'latest.md'), out.md);
  fs.writeFileSync(path.join(dir, 'latest.svg'), out.svg);
  process.stdout.write(`wrote bench/results/latest.json, latest.md, latest.svg (${fmtTime(seconds)})\n`);
}

/** Tables, markdown and plot again from a results file (after a change to the report code). */
function rerender(file: string): void {
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    machine: Machine;
    options: Omit<Options, 'only'> & { only: Workload[] };
    durationSeconds: number;
    cells: Cell[];
    cni?: BenchResult;
  };
  cni = saved.cni;
  const opts: Options = { ...saved.options, only: new Set(saved.options.only), contenders: undefined };
  cells.push(...saved.cells.map((c) => ({ ...c, vsBaseline: undefined, vsFloor: undefined })));
  write(report(opts, saved.machine, saved.durationSeconds), saved.durationSeconds);
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
  cleanupAndExit(1);
});
