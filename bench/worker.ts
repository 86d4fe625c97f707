// One contender on one workload at one N. Started by run.ts through
// `ip netns exec <node namespace> node dist/bench/worker.js '<spec json>'`, so it runs inside the
// namespace it measures, as an agent on a node would: netqos opens its sockets in the current
// namespace, tc/ip need no `-n`, the CNI plugin is exec'd in the "host" namespace as a runtime
// does.
//
// Two modes. Plain: runs the warm-up and `repeats` timed runs, prints one JSON line
// (WorkerResult). Serve (spec.serve): runs the warm-up, prints {"ready":true}, then for each
// "run" line on stdin does one timed run and prints {"sample":s}; "end" prints the WorkerResult.
// run.ts uses serve mode to interleave the contenders of one workload run by run, so that load
// from elsewhere on the machine falls on all of them alike.
//
// Only the timed region of a run is timed; its reset before and check after are not.
import { execFile, spawn } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import { promisify } from 'util';
import {
  applyQos,
  applyQosSync,
  clearQos,
  clearQosSync,
  openNetlink,
  planQos,
  readQos,
  type DumpPlan,
  type NetlinkHandle,
  type Operation,
  type QosOptions,
  type QosTarget,
} from '../lib';
import {
  ANN_IN,
  annotations,
  batchGroups,
  CNI_PLUGIN,
  FLOOR_BIN,
  hostNames,
  ifbNameFor,
  PY_SCRIPT,
  PYTHON,
  resetHosts,
  resetRoots,
  runBatch,
  toCommand,
  w1Op,
  type Spec,
  type WorkerResult,
} from './lib/common';

const execFileP = promisify(execFile);
const now = () => Number(process.hrtime.bigint()) / 1e9;

const specArgument = process.argv[2];
if (specArgument === undefined) throw new Error('usage: worker SPEC (the JSON that bench/run.ts hands over)');
const spec: Spec = JSON.parse(specArgument);
const notes = new Set<string>();
const processSeconds: number[] = [];
let units: number | undefined;

class Invalid extends Error {}
function check(ok: boolean, what: string): void {
  if (!ok) throw new Invalid(`validation failed: ${what}`);
}

/** One timed run: returns seconds (its own clock for contenders that time themselves). */
interface Runner {
  run(): Promise<number>;
}

type Step = () => Promise<unknown> | unknown;

/** prepare (untimed), timed, validate (untimed); `timed` may return its own seconds. */
function runner(
  prepare: Step,
  timed: () => Promise<number | void> | number | void,
  validate: Step = () => {},
): Runner {
  return {
    async run() {
      await prepare();
      const t0 = now();
      const own = await timed();
      const dt = now() - t0;
      await validate();
      return typeof own === 'number' ? own : dt;
    },
  };
}

// ---- helpers that are not timed --------------------------------------------------------------

let checker: NetlinkHandle | undefined;
/** What the namespace holds, read as lightly as possible (it weighs on the worker's peak RSS). */
function counts(): { ifbs: number; tbfs: number; hooks: number; rates: Map<number, number> } {
  checker ??= openNetlink();
  const [links = [], qdiscs = []] = checker.readSync(
    (function* (): DumpPlan<Record<string, unknown>[][]> {
      return yield [
        { type: 'link', kind: 'ifb', namesOnly: true },
        { type: 'qdisc', stats: false },
      ];
    })(),
  );
  const ifbs = links.length;
  const rates = new Map<number, number>();
  let tbfs = 0;
  let hooks = 0;
  for (const q of qdiscs) {
    if (q.kind === 'clsact' || q.kind === 'ingress') hooks++;
    if (q.kind !== 'tbf') continue;
    tbfs++;
    const r = (q as unknown as { rate: number }).rate;
    rates.set(r, (rates.get(r) ?? 0) + 1);
  }
  return { ifbs, tbfs, hooks, rates };
}

interface FloorLine {
  seconds: number;
  perItemUs: number;
  p50Us?: number;
  p99Us?: number;
  failures: number;
}

/** The floor's own time of one run of a workload (reads.cc's reads too). */
async function floorSeconds(workload: string): Promise<number> {
  const [line] = await floor(workload, spec.n, 1);
  if (!line) throw new Error(`the floor printed nothing for ${workload}`);
  return line.seconds;
}

/** The operations planQos plans for pods of this namespace (one batch; none when in sync). */
async function plannedOperations(targets: QosTarget[], options: QosOptions = {}): Promise<Operation[]> {
  const [batch] = (await planQos(targets, options)).batches;
  return batch?.operations ?? [];
}

async function floor(workload: string, n: number, repeats: number): Promise<FloorLine[]> {
  const { stdout } = await execFileP(FLOOR_BIN, [spec.netns, workload, String(n), String(repeats)], {
    maxBuffer: 1 << 26,
  });
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as FloorLine);
}

async function python(job: object): Promise<Record<string, unknown>> {
  const t0 = now();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(PYTHON, [PY_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let so = '';
    let se = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (so += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (se += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(so)
        : reject(new Error(`pyroute2 script exited ${code}: ${se.trim().split('\n').pop()}`)),
    );
    child.stdin.end(JSON.stringify(job));
  });
  processSeconds.push(now() - t0);
  return JSON.parse(out);
}

// ---- the timed senders, one per contender kind -----------------------------------------------

/** Sends ops the way `contender` does; returns its own timing when the contender times itself. */
async function sendOps(contender: string, nl: NetlinkHandle, ops: Operation[]): Promise<number | void> {
  switch (contender) {
    case 'nq-raw':
      await nl.apply(ops);
      return;
    case 'nq-raw-sync':
      nl.applySync(ops);
      return;
    case 'nq-one':
      for (const o of ops) await nl.apply([o]);
      return;
    case 'tc-spawn':
      for (const o of ops) {
        const c = toCommand(o);
        await execFileP(c.tool, c.args);
      }
      return;
    case 'tc-batch':
      for (const group of batchGroups(ops))
        if (group[0])
          await runBatch(
            group[0].tool,
            group.map((c) => c.args.join(' ')),
          );
      return;
    case 'pyroute2': {
      if (JSON.stringify(ops).includes('"cookie"')) notes.add('pyroute2 0.7 sends no action cookies');
      return (await python({ mode: 'ops', ops })).seconds as number;
    }
    default:
      throw new Error(`${contender} does not send raw operations`);
  }
}

/**
 * A handle watching this namespace (its mirror's first read untimed, reported in the notes),
 * as a long-running agent keeps one; applyQos given it reads the mirror, not the kernel.
 */
async function watching(): Promise<Map<string, NetlinkHandle>> {
  const nl = openNetlink();
  const t0 = now();
  await nl.watch();
  notes.add(`the mirror's first read: ${((now() - t0) * 1e3).toFixed(1)} ms`);
  return new Map([['', nl]]);
}

/** Brings a watching handle's mirror up to date (what its next reconcile would do first). */
async function synced(handles: Map<string, NetlinkHandle>): Promise<void> {
  const nl = handles.get('')!;
  await nl.read(nl.mirror!.plan());
}

// ---- workloads --------------------------------------------------------------------------------

const targetsOf = (hosts: string[], ingress: string): QosTarget[] =>
  hosts.map((ifname) => ({ ifname, annotations: annotations(ingress) }));

async function w1(): Promise<Runner> {
  const hosts = hostNames(spec.n, 'h');
  const ops = hosts.map(w1Op);
  units = ops.length;
  const validate = () => check(counts().tbfs === spec.n, `${spec.n} TBFs`);
  const reset = () => resetRoots(hosts);
  if (spec.contender === 'floor') return runner(reset, () => floorSeconds('w1'), validate);
  const nl = openNetlink();
  return runner(reset, () => sendOps(spec.contender, nl, ops), validate);
}

async function w2(): Promise<Runner> {
  const hosts = hostNames(spec.n, spec.naming);
  const targets = targetsOf(hosts, '10M');
  const validate = () => {
    const c = counts();
    check(
      c.ifbs === spec.n && c.tbfs === 2 * spec.n && c.hooks === spec.n,
      `${spec.n} IFBs, ${2 * spec.n} TBFs, ${spec.n} hooks (have ${c.ifbs}, ${c.tbfs}, ${c.hooks})`,
    );
  };
  // The namespace is fresh: the first run needs no reset (at 10,000 pods a reset costs seconds
  // of kernel time: every IFB and every root qdisc change waits for an RCU grace period).
  let fresh = true;
  const reset = () => {
    if (!fresh) resetHosts(hosts);
    fresh = false;
  };
  switch (spec.contender) {
    case 'floor':
      units = 5 * spec.n;
      return runner(reset, () => floorSeconds('w2'), validate);
    case 'nq-qos':
      return runner(
        reset,
        async () => {
          units = (await applyQos(targets)).sent;
        },
        validate,
      );
    case 'nq-qos-sync':
      return runner(
        reset,
        () => {
          units = applyQosSync(targets).sent;
        },
        validate,
      );
    case 'cni':
      units = spec.n;
      return runner(reset, () => cniAdd(hosts), validate);
    default: {
      const ops = await plannedOperations(targets);
      units = ops.length;
      const nl = openNetlink();
      return runner(reset, () => sendOps(spec.contender, nl, ops), validate);
    }
  }
}

/** The CNI bandwidth plugin, one process per pod, as a container runtime calls it (ADD). */
async function cniAdd(hosts: string[]): Promise<void> {
  // netqos's default bucket for 10 Mbit/s: 10 ms of the rate, 12,500 bytes = 100,000 bits.
  for (let i = 0; i < hosts.length; i++) {
    const sandbox = `/var/run/netns/${spec.podPrefix}${i}`;
    const config = {
      cniVersion: '1.0.0',
      name: 'nqbench',
      type: 'bandwidth',
      ingressRate: 10_000_000,
      ingressBurst: 100_000,
      egressRate: 10_000_000,
      egressBurst: 100_000,
      prevResult: {
        cniVersion: '1.0.0',
        interfaces: [{ name: hosts[i] }, { name: 'eth0', sandbox }],
        ips: [],
      },
    };
    await new Promise<void>((resolve, reject) => {
      const child = spawn(CNI_PLUGIN, [], {
        stdio: ['pipe', 'ignore', 'pipe'],
        env: {
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: `nqbench${i}`,
          CNI_NETNS: sandbox,
          CNI_IFNAME: 'eth0',
          CNI_PATH: '/usr/lib/cni',
          PATH: process.env.PATH,
        },
      });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0
          ? resolve()
          : reject(new Error(`bandwidth plugin (pod ${i}) exited ${code}: ${err.slice(0, 400)}`)),
      );
      child.stdin.end(JSON.stringify(config));
    });
  }
}

// W3 and W5 through tc: what an agent that shells out reads back, and (W3) compares.
interface TcView {
  roots: Map<string, { kind: string; handle: string; rate?: number; bytes?: number }>;
  filters: Map<string, unknown[]>;
}

function parseQdiscs(json: string, into: TcView['roots'], dev?: string): void {
  for (const q of JSON.parse(json || '[]') as Record<string, any>[]) {
    if (!q.root) continue;
    into.set(dev ?? q.dev, { kind: q.kind, handle: q.handle, rate: q.options?.rate, bytes: q.bytes });
  }
}

/** A pod's host-side interface and its IFB. */
type PodPair = { host: string; ifb: string };
const podPairs = (hosts: string[]): PodPair[] => hosts.map((host) => ({ host, ifb: ifbNameFor(host) }));

async function tcRead(pods: PodPair[], withStats: boolean): Promise<TcView> {
  const s = withStats ? ['-s'] : [];
  const view: TcView = { roots: new Map(), filters: new Map() };
  if (spec.contender === 'tc-spawn') {
    for (const { host, ifb } of pods) {
      parseQdiscs(
        (await execFileP('tc', [...s, '-j', 'qdisc', 'show', 'dev', host])).stdout,
        view.roots,
        host,
      );
      view.filters.set(
        host,
        JSON.parse(
          (await execFileP('tc', [...s, '-j', 'filter', 'show', 'dev', host, 'ingress'])).stdout || '[]',
        ),
      );
      parseQdiscs((await execFileP('tc', [...s, '-j', 'qdisc', 'show', 'dev', ifb])).stdout, view.roots, ifb);
    }
    return view;
  }
  // tc -batch: every qdisc in one process (tc names each one's device), the filters of every
  // host's ingress hook in a second (one JSON array per line, in order).
  parseQdiscs(
    (await execFileP('tc', [...s, '-j', 'qdisc', 'show'], { maxBuffer: 1 << 30 })).stdout,
    view.roots,
  );
  const out = await runBatch(
    'tc',
    pods.map(({ host }) => `filter show dev ${host} ingress`),
    [...s, '-j'],
  );
  const lines = out.split('\n').filter((l) => l.startsWith('['));
  check(lines.length === pods.length, `one filter listing per host (${lines.length} of ${pods.length})`);
  pods.forEach(({ host }, i) => view.filters.set(host, JSON.parse(lines[i]!))); // as many, checked above
  return view;
}

/** The agent's diff: does every pod have its two 10 Mbit/s TBFs and the redirect to its IFB? */
function tcMatches(view: TcView, pods: PodPair[]): number {
  let ok = 0;
  for (const { host, ifb } of pods) {
    const root = view.roots.get(host);
    const ifbRoot = view.roots.get(ifb);
    const redirect = (view.filters.get(host) as any[]).some((f) =>
      f.options?.actions?.some((a: any) => a.kind === 'mirred' && a.to_dev === ifb),
    );
    if (
      root?.kind === 'tbf' &&
      root.handle === '4e51:' &&
      root.rate === 1_250_000 &&
      ifbRoot?.rate === 1_250_000 &&
      redirect
    )
      ok++;
  }
  return ok;
}

async function w3(): Promise<Runner> {
  const hosts = hostNames(spec.n, 'cali');
  const pods = podPairs(hosts);
  const targets = targetsOf(hosts, '10M');
  const none = () => {};
  switch (spec.contender) {
    case 'floor':
      return runner(none, () => floorSeconds('w3read'));
    case 'nq-qos':
      return runner(none, async () => check((await applyQos(targets)).sent === 0, 'nothing sent'));
    case 'nq-watch': {
      const handles = await watching();
      return runner(none, async () =>
        check((await applyQos(targets, { handles })).sent === 0, 'nothing sent'),
      );
    }
    case 'nq-mirror':
      // A watching handle's first read: what an agent does when it starts (and after an overflow).
      return runner(none, async () => {
        const nl = openNetlink();
        try {
          const mirror = await nl.watch();
          const [first] = hosts;
          check(
            first !== undefined && mirror.qdiscs(mirror.link(first)!.index).hook !== undefined,
            'the mirror has the pods',
          );
        } finally {
          nl.close();
        }
      });
    case 'nq-qos-sync':
      return runner(none, () => check(applyQosSync(targets).sent === 0, 'nothing sent'));
    case 'nq-qos-one':
      return runner(none, async () => {
        for (const t of targets) check((await applyQos([t])).sent === 0, 'nothing sent');
      });
    case 'tc-spawn':
    case 'tc-batch':
      units = spec.contender === 'tc-spawn' ? 3 * spec.n : 2;
      return runner(none, async () => {
        const matched = tcMatches(await tcRead(pods, false), pods);
        check(matched === spec.n, `all ${spec.n} pods match (${matched})`);
      });
    default:
      throw new Error(`W3: ${spec.contender}`);
  }
}

async function w4(): Promise<Runner> {
  if (spec.contender === 'floor') {
    // The floor's w1 on interfaces that already have the TBF: N in-place TBF changes.
    await floor('w1', spec.n, 1);
    units = spec.n;
    return runner(
      () => {},
      () => floorSeconds('w1'),
    );
  }
  const hosts = hostNames(spec.n, 'cali');
  const t10 = targetsOf(hosts, '10M');
  const t20 = targetsOf(hosts, '20M');
  // Every run starts from 10M, as the shared pods were configured: right after each run (and its
  // check), the raw replaces back to 10M are sent, untimed, before another contender runs.
  const nl = openNetlink();
  let back: Operation[] | undefined;
  // With a watching handle, the way back is planned from its mirror (as light as the agent).
  let handles: Map<string, NetlinkHandle> | undefined;
  const validate = async () => {
    check(counts().rates.get(20_000_000) === spec.n, `${spec.n} TBFs at 20 Mbit/s`);
    if (handles) await synced(handles);
    back ??= await plannedOperations(t10, { handles });
    await nl.apply(back);
  };
  const none = () => {};
  switch (spec.contender) {
    case 'nq-qos':
      return runner(none, async () => check((await applyQos(t20)).sent === spec.n, 'N replaces'), validate);
    case 'nq-watch': {
      // Timed: the apply, and the mirror taking in the notifications of its own changes.
      const watched = (handles = await watching());
      return runner(
        synced.bind(null, watched),
        async () => {
          check((await applyQos(t20, { handles: watched })).sent === spec.n, 'N replaces');
          await synced(watched);
        },
        validate,
      );
    }
    case 'nq-qos-sync':
      return runner(none, () => check(applyQosSync(t20).sent === spec.n, 'N replaces'), validate);
    default: {
      const ops = await plannedOperations(t20);
      check(ops.length === spec.n, 'one replace per pod');
      units = ops.length;
      return runner(none, () => sendOps(spec.contender, nl, ops), validate);
    }
  }
}

async function w5(): Promise<Runner> {
  const hosts = hostNames(spec.n, 'cali');
  const pods = podPairs(hosts);
  const ifbs = pods.map((p) => p.ifb);
  const targets = hosts.map((ifname) => ({ ifname }));
  const none = () => {};
  const full = (s: Awaited<ReturnType<typeof readQos>>) =>
    s.filter((q) => q.ingress.bandwidth && q.egress.bandwidth && q.ingress.shaper).length;
  switch (spec.contender) {
    case 'floor':
      // readQos without a mirror reads what applyQos does (W3).
      return runner(none, () => floorSeconds('w3read'));
    case 'nq-qos':
      return runner(none, async () => check(full(await readQos(targets)) === spec.n, 'every pod read'));
    case 'nq-watch': {
      const handles = await watching();
      return runner(none, async () =>
        check(full(await readQos(targets, { handles })) === spec.n, 'every pod read'),
      );
    }
    case 'nq-qos-one':
      return runner(none, async () => {
        let k = 0;
        for (const t of targets) k += full(await readQos([t]));
        check(k === spec.n, 'every pod read');
      });
    case 'tc-spawn':
    case 'tc-batch':
      units = spec.contender === 'tc-spawn' ? 3 * spec.n : 2;
      return runner(none, async () =>
        check(tcMatches(await tcRead(pods, true), pods) === spec.n, 'every pod read'),
      );
    case 'pyroute2':
      return runner(none, async () => {
        const out = await python({ mode: 'read', hosts, ifbs });
        check(
          out.found === spec.n && out.redirects === spec.n,
          `every pod read (${out.found}, ${out.redirects})`,
        );
        return out.seconds as number;
      });
    default:
      throw new Error(`W5: ${spec.contender}`);
  }
}

async function w6(): Promise<Runner> {
  if (spec.contender === 'floor') {
    // The floor's w6 builds the pods first (untimed) when they are not there.
    units = 3 * spec.n;
    return runner(
      () => {},
      () => floorSeconds('w6'),
    );
  }
  const hosts = hostNames(spec.n, 'cali');
  const t10 = targetsOf(hosts, '10M');
  const bare = hosts.map((ifname) => ({ ifname, annotations: {} }));
  const validate = () => {
    const c = counts();
    check(
      c.ifbs === 0 && c.tbfs === 0 && c.hooks === 0,
      `nothing left (${c.ifbs} IFBs, ${c.tbfs} TBFs, ${c.hooks} hooks)`,
    );
  };
  const configure = async () => {
    await applyQos(t10);
  };
  switch (spec.contender) {
    case 'nq-qos':
      return runner(
        configure,
        async () => {
          units = (await clearQos(hosts.map((ifname) => ({ ifname })))).sent;
        },
        validate,
      );
    case 'nq-qos-sync':
      return runner(
        configure,
        () => {
          units = clearQosSync(hosts.map((ifname) => ({ ifname }))).sent;
        },
        validate,
      );
    default: {
      const nl = openNetlink();
      let ops: Operation[] = [];
      const prepare = async () => {
        await configure();
        ops = await plannedOperations(bare);
        units = ops.length;
      };
      return runner(prepare, () => sendOps(spec.contender, nl, ops), validate);
    }
  }
}

/**
 * A1: applyQos with ingress bandwidth alone (one TBF per interface) on N interfaces that have
 * none: warm (the worker's warm-up runs first), or in a process that has loaded netqos and run
 * nothing (a new one per run, timing the call alone).
 */
async function a1(): Promise<Runner> {
  const hosts = hostNames(spec.n, 'h');
  const targets = hosts.map((ifname) => ({ ifname, annotations: { [ANN_IN]: '10M' } }));
  const reset = () => resetRoots(hosts);
  const validate = () => check(counts().rates.get(10_000_000) === spec.n, `${spec.n} TBFs at 10 Mbit/s`);
  units = spec.n;
  switch (spec.contender) {
    case 'floor':
      return runner(reset, () => floorSeconds('pod-tbf'), validate);
    case 'nq-qos':
      return runner(reset, async () => check((await applyQos(targets)).sent === spec.n, 'N TBFs'), validate);
    case 'nq-qos-sync':
      return runner(reset, () => check(applyQosSync(targets).sent === spec.n, 'N TBFs'), validate);
    case 'nq-qos-cold': {
      const program = [
        `const { applyQos } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});`,
        `const targets = ${JSON.stringify(targets)};`,
        'const t0 = process.hrtime.bigint();',
        'applyQos(targets).then((r) => {',
        '  const s = Number(process.hrtime.bigint() - t0) / 1e9;',
        '  process.stdout.write(JSON.stringify({ seconds: s, sent: r.sent }));',
        '});',
      ].join('\n');
      return runner(
        reset,
        async () => {
          const { stdout } = await execFileP(process.execPath, ['-e', program], { maxBuffer: 1 << 20 });
          const out = JSON.parse(stdout) as { seconds: number; sent: number };
          check(out.sent === spec.n, 'N TBFs');
          return out.seconds;
        },
        validate,
      );
    }
    default:
      throw new Error(`A1: ${spec.contender}`);
  }
}

/** The hooks of the configured pods, by interface index (looked up before the clock). */
function podHooks(): { type: 'filter'; dev: number; parent: string }[] {
  checker ??= openNetlink();
  const links = new Map(checker.dumpSync({ type: 'link' }).map((l) => [l.name, l.index]));
  return hostNames(spec.n, spec.naming).map((h) => ({
    type: 'filter',
    dev: links.get(h)!,
    parent: 'ingress',
  }));
}

/** RL, RQ, RF: the public reads on the configured pods, against the floor's same dumps. */
async function reads(): Promise<Runner> {
  const none = () => {};
  const floorWorkload = { RL: 'links', RQ: 'named-qdiscs', RF: 'filters' }[
    spec.workload as 'RL' | 'RQ' | 'RF'
  ];
  if (spec.contender === 'floor') return runner(none, () => floorSeconds(floorWorkload));
  const nl = openNetlink();
  const sync = spec.contender === 'nq-dump-sync';
  if (spec.workload === 'RF') {
    const hooks = podHooks();
    units = hooks.length;
    const plan = function* (): DumpPlan<Record<string, unknown>[][]> {
      return yield hooks;
    };
    const one = (replies: Record<string, unknown>[][]) =>
      check(replies.length === spec.n && replies.every((r) => r.length === 1), 'one filter per hook');
    return runner(none, async () => one(sync ? nl.readSync(plan()) : await nl.read(plan())));
  }
  const query = spec.workload === 'RL' ? ({ type: 'link' } as const) : ({ type: 'qdisc' } as const);
  // Links: the pods', their IFBs and lo; qdiscs: two TBFs and a clsact per pod.
  const expected = spec.workload === 'RL' ? 2 * spec.n + 1 : 3 * spec.n;
  return runner(none, async () => {
    const got = sync ? nl.dumpSync(query) : await nl.dump(query);
    check(got.length === expected, `${expected} objects (${got.length})`);
  });
}

/** Single-pod latency: `warmup` untimed, then `repeats` sequential applies, each timed. */
async function lat(res: WorkerResult): Promise<number[]> {
  const count = spec.warmup + spec.repeats;
  const samples: number[] = [];
  const timeEach = async (fn: (k: number) => unknown) => {
    for (let k = 0; k < count; k++) {
      const t0 = now();
      await fn(k);
      if (k >= spec.warmup) samples.push(now() - t0);
    }
    return samples;
  };
  const op = w1Op('h0');
  switch (spec.contender) {
    case 'floor': {
      const [line] = await floor('rtt', 1, spec.repeats);
      if (!line) throw new Error('the floor printed nothing for rtt');
      res.summary = { p50Us: line.p50Us!, p99Us: line.p99Us!, meanUs: line.perItemUs };
      return [];
    }
    case 'nq-raw': {
      const nl = openNetlink();
      return timeEach(() => nl.apply([op]));
    }
    case 'nq-raw-sync': {
      const nl = openNetlink();
      return timeEach(() => nl.applySync([op]));
    }
    case 'nq-qos':
    case 'nq-watch':
    case 'nq-qos-sync': {
      // One pod; the ingress bandwidth alternates 20M / 10M so that every apply sends one replace.
      const [host] = hostNames(1, 'cali');
      if (!host) throw new Error('hostNames(1) gave no name');
      await applyQos([{ ifname: host, annotations: annotations('10M') }]);
      const up = [{ ifname: host, annotations: annotations('20M') }];
      const down = [{ ifname: host, annotations: annotations('10M') }];
      const t = (k: number) => (k % 2 ? down : up);
      if (spec.contender === 'nq-watch') {
        const handles = await watching();
        return timeEach(async (k) => check((await applyQos(t(k), { handles })).sent === 1, 'one replace'));
      }
      return spec.contender === 'nq-qos'
        ? timeEach(async (k) => check((await applyQos(t(k))).sent === 1, 'one replace'))
        : timeEach((k) => check(applyQosSync(t(k)).sent === 1, 'one replace'));
    }
    case 'tc-spawn': {
      const c = toCommand(op);
      return timeEach(() => execFileP(c.tool, c.args));
    }
    case 'pyroute2': {
      const out = await python({ mode: 'lat', op, count });
      return (out.samples as number[]).slice(spec.warmup);
    }
    default:
      throw new Error(`LAT: ${spec.contender}`);
  }
}

function write(o: object): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function finish(res: WorkerResult): never {
  checker?.close();
  res.maxRssKb = process.resourceUsage().maxRSS;
  res.units ??= units;
  if (notes.size) res.notes = [...notes];
  if (processSeconds.length) res.processSeconds = processSeconds.slice(-res.samples.length || undefined);
  write(res);
  process.exit(0);
}

const firstLine = (e: unknown) => {
  const [line = ''] = (e as Error).message.split('\n');
  return line.slice(0, 400);
};

async function main(): Promise<void> {
  const res: WorkerResult = {
    samples: [],
    maxRssKb: 0,
    startRssKb: Math.round(process.memoryUsage().rss / 1024),
  };
  if (spec.workload === 'LAT') {
    try {
      res.samples = await lat(res);
    } catch (e) {
      res.error = firstLine(e);
    }
    finish(res);
  }
  let r: Runner;
  try {
    r = await { W1: w1, W2: w2, W3: w3, W4: w4, W5: w5, W6: w6, A1: a1, RL: reads, RQ: reads, RF: reads }[
      spec.workload
    ]();
    for (let k = 0; k < spec.warmup; k++) await r.run();
    processSeconds.length = 0;
  } catch (e) {
    res.error = firstLine(e);
    if (spec.serve) write({ error: res.error });
    finish(res);
  }
  if (!spec.serve) {
    try {
      for (let k = 0; k < spec.repeats; k++) res.samples.push(await r.run());
    } catch (e) {
      res.error = firstLine(e);
    }
    finish(res);
  }
  write({ ready: true });
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === 'run') {
      try {
        const s = await r.run();
        res.samples.push(s);
        write({ sample: s });
      } catch (e) {
        res.error = firstLine(e);
        write({ error: res.error });
      }
    } else if (line.trim() === 'end') break;
  }
  finish(res);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
void main();
