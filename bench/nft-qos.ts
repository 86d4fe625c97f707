// W7: packet rate + DSCP + max connections on N pods through the nftables dataplane
// (egressPacketRate 100, dscp EF, ingressMaxConnections 10), against nft itself and a floor: one
// `nft -f` process with the same table (as knftables / Calico's nftables mode write), one `nft`
// process per pod (as a script would), and the C++ floor (bench/floor/nft_floor.cc: netqos's
// engine without Node sending the very batch applyQos planned, timing encode + send). Apply from
// nothing, re-apply with nothing to change (netqos with a watching handle, as the agent), change
// one pod's rate, clear. Each contender gets its own namespace of N veths (bench/lib/netns.ts);
// per N the contenders take turns, run by run; the median of the runs; ratios measured in one run.
//
//   npx tsc -p tsconfig.json && sudo node dist/bench/nft-qos.js [--sizes 10,100,1000] [--runs 3]
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applyQos, clearQos, openNetlink, planQos, type NetlinkHandle, type QosTarget } from '../lib';
import { NFT_FLOOR_BIN, ensureFloorBuilt } from './lib/common';
import { createTopology, destroyTopology, removeAll, type Topology } from './lib/netns';

const Q = 'qos.projectcalico.org/';
const annotations = (rate: number) => ({
  [`${Q}egressPacketRate`]: String(rate),
  [`${Q}dscp`]: 'EF',
  [`${Q}ingressMaxConnections`]: '10',
});

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = process.argv[i + 1];
  if (value === undefined) throw new Error(`--${name} needs a value (default ${fallback})`);
  return value;
}
const SIZES = arg('sizes', '10,100,1000').split(',').map(Number);
const RUNS = Number(arg('runs', '3'));

function nft(ns: string, input: string): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft -f: ${r.stderr}`);
}

function ifindexes(ns: string): Map<string, number> {
  const out = execFileSync('ip', ['-n', ns, '-j', 'link', 'show'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const links = JSON.parse(out) as {
    ifname: string;
    ifindex: number;
  }[];
  return new Map(links.map((l) => [l.ifname, l.ifindex]));
}

/** The same table as netqos makes, in nft's language. */
const TABLE = `table inet netqos {
  map from-pod { type iface_index : verdict; }
  map to-pod { type iface_index : verdict; }
  chain prerouting { type filter hook prerouting priority -140; policy accept; iif vmap @from-pod; }
  chain forward { type filter hook forward priority 20; policy accept; oif vmap @to-pod; }
  chain output { type filter hook output priority 20; policy accept; oif vmap @to-pod; }
}
`;
function podText(ifname: string, index: number, rate: number): string {
  const from = `from-${ifname}-${index}`;
  const to = `to-${ifname}-${index}`;
  return `add chain inet netqos ${from}
add rule inet netqos ${from} meta nfproto ipv4 limit rate over ${rate}/second burst 5 packets counter drop
add rule inet netqos ${from} meta nfproto ipv6 limit rate over ${rate}/second burst 5 packets counter drop
add rule inet netqos ${from} meta nfproto ipv4 ip dscp set ef counter meta priority set 0:4
add rule inet netqos ${from} meta nfproto ipv6 ip6 dscp set ef counter meta priority set 0:4
add chain inet netqos ${to}
add rule inet netqos ${to} meta nfproto ipv4 tcp flags & (fin|syn|rst|ack) == syn ct count over 10 counter reject with tcp reset
add rule inet netqos ${to} meta nfproto ipv6 tcp flags & (fin|syn|rst|ack) == syn ct count over 10 counter reject with tcp reset
add element inet netqos from-pod { "${ifname}" : jump ${from} }
add element inet netqos to-pod { "${ifname}" : jump ${to} }
`;
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Times = { apply: number; noop?: number; change?: number; clear: number };
interface Row extends Times {
  n: number;
  contender: string;
}

const targetsOf = (t: Topology, changed?: number, clear = false): QosTarget[] =>
  t.hosts.map((ifname, i) => ({
    ifname,
    netns: t.node,
    annotations: clear ? {} : annotations(i === changed ? 150 : 100),
  }));

async function netqosRun(n: number): Promise<Times> {
  const t = createTopology('w7-netqos', n, 'h');
  const nl: NetlinkHandle = openNetlink({ netns: t.node });
  try {
    await nl.watch();
    const options = { handles: new Map([[t.node, nl]]), dataplane: 'nftables' as const };
    let t0 = process.hrtime.bigint();
    await applyQos(targetsOf(t), options);
    const apply = ms(t0);
    // The first pass after a large apply reads the table back once (untimed, as the agent's).
    await applyQos(targetsOf(t), options);
    t0 = process.hrtime.bigint();
    const r = await applyQos(targetsOf(t), options);
    const noop = ms(t0);
    if (r.sent) throw new Error(`no-op sent ${r.sent}`);
    t0 = process.hrtime.bigint();
    const c = await applyQos(targetsOf(t, 0), options);
    const change = ms(t0);
    if (c.sent !== 2) throw new Error(`change sent ${c.sent}`);
    t0 = process.hrtime.bigint();
    await clearQos(targetsOf(t), options);
    return { apply, noop, change, clear: ms(t0) };
  } finally {
    nl.close();
    destroyTopology(t);
  }
}

/**
 * The floor sends what planQos plans, each step planned against the state the floor's previous
 * step made (untimed); afterwards planQos must find nothing left to send, or the run fails.
 */
async function floorRun(n: number): Promise<Times> {
  const t = createTopology('w7-floor', n, 'h');
  const nl: NetlinkHandle = openNetlink({ netns: t.node });
  const file = path.join(os.tmpdir(), `nqw7-${process.pid}.json`);
  try {
    const options = { handles: new Map([[t.node, nl]]), dataplane: 'nftables' as const };
    const plan = async (targets: QosTarget[]) => {
      const p = await planQos(targets, options);
      if (p.batches.some((b) => b.operations.length)) throw new Error('W7 planned tc operations');
      return p.batches.flatMap((b) => b.nftables);
    };
    const step = async (targets: QosTarget[], expected?: number): Promise<number> => {
      const ops = await plan(targets);
      if (expected !== undefined && ops.length !== expected)
        throw new Error(`planned ${ops.length} operations, not ${expected}`);
      fs.writeFileSync(file, JSON.stringify(ops));
      const r = spawnSync(NFT_FLOOR_BIN, [t.node, file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`the floor failed: ${r.stderr || r.stdout}`);
      const left = await plan(targets);
      if (left.length) throw new Error(`after the floor, planQos still plans ${left.length} operations`);
      return (JSON.parse(r.stdout) as { seconds: number }).seconds * 1000;
    };
    const apply = await step(targetsOf(t), 3 + 6 + 10 * n);
    const change = await step(targetsOf(t, 0), 2);
    const clear = await step(targetsOf(t, undefined, true));
    return { apply, change, clear };
  } finally {
    nl.close();
    fs.rmSync(file, { force: true });
    destroyTopology(t);
  }
}

function nftBatchRun(n: number): Times {
  const t = createTopology('w7-nft', n, 'h');
  try {
    const index = ifindexes(t.node);
    const text = TABLE + t.hosts.map((h) => podText(h, index.get(h)!, 100)).join('');
    let t0 = process.hrtime.bigint();
    nft(t.node, text);
    const apply = ms(t0);
    // Changing one pod's rate as knftables would: flush that chain, write it again.
    const [h] = t.hosts;
    if (h === undefined) throw new Error('the testbed has no pod');
    const from = `from-${h}-${index.get(h)}`;
    t0 = process.hrtime.bigint();
    nft(
      t.node,
      `flush chain inet netqos ${from}\n${podText(h, index.get(h)!, 150)
        .split('\n')
        .filter((l) => l.startsWith(`add rule inet netqos ${from}`))
        .join('\n')}\n`,
    );
    const change = ms(t0);
    t0 = process.hrtime.bigint();
    nft(t.node, 'delete table inet netqos\n');
    return { apply, change, clear: ms(t0) };
  } finally {
    destroyTopology(t);
  }
}

function nftPerPodRun(n: number): Times {
  const t = createTopology('w7-nft1', n, 'h');
  try {
    const index = ifindexes(t.node);
    const t0 = process.hrtime.bigint();
    nft(t.node, TABLE);
    for (const h of t.hosts) nft(t.node, podText(h, index.get(h)!, 100));
    const apply = ms(t0);
    const t1 = process.hrtime.bigint();
    nft(t.node, 'delete table inet netqos\n');
    return { apply, clear: ms(t1) };
  } finally {
    destroyTopology(t);
  }
}

const CONTENDERS = ['netqos', 'floor', 'nft -f', 'nft per pod'] as const;
type Contender = (typeof CONTENDERS)[number];

const f = (v: number | undefined) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}x`;

/** The table rows of one N (printed as soon as its runs are done). */
function printRows(rows: readonly Row[]): void {
  const base = rows.find((x) => x.contender === 'nft -f')!;
  const fl = rows.find((x) => x.contender === 'floor');
  for (const r of rows) {
    const vsFloor = fl
      ? `${ratio(r.apply, fl.apply)} / ${ratio(r.change, fl.change)} / ${ratio(r.clear, fl.clear)}`
      : '-';
    console.log(
      `| ${r.n} | ${r.contender} | ${f(r.apply)} | ${f(r.noop)} | ${f(r.change)} | ${f(r.clear)} | ${vsFloor} | ${ratio(r.apply, base.apply)} |`,
    );
  }
}

async function main(): Promise<void> {
  const floor = ensureFloorBuilt('netqos_nft_floor');
  console.log(`median of ${RUNS}; ms`);
  console.log(
    '| N | contender | apply | no-op re-apply | change one | clear | vs floor (apply / change / clear) | apply vs nft -f |',
  );
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const n of SIZES) {
    const runs = new Map<Contender, Times[]>(CONTENDERS.map((c) => [c, []]));
    for (let r = 0; r < RUNS; r++) {
      runs.get('netqos')!.push(await netqosRun(n));
      if (floor) runs.get('floor')!.push(await floorRun(n));
      runs.get('nft -f')!.push(nftBatchRun(n));
      if (n <= 1000) runs.get('nft per pod')!.push(nftPerPodRun(n));
    }
    const rows: Row[] = [];
    for (const [contender, list] of runs) {
      if (!list.length) continue;
      const pick = (k: keyof Times) =>
        list[0]?.[k] === undefined ? undefined : median(list.map((x) => x[k]!));
      rows.push({
        n,
        contender,
        apply: pick('apply')!,
        noop: pick('noop'),
        change: pick('change'),
        clear: pick('clear')!,
      });
    }
    printRows(rows);
  }
  console.log(`load average at the end: ${os.loadavg()[0]?.toFixed(1)}`);
}

process.on('exit', removeAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    removeAll();
    process.exit(130);
  });

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
