// The agent's soak: `netqos agent --manifests DIR --netns NODE --cni-socket PATH` (a child
// process) for a while, with pods churned two ways at once in a throwaway node namespace (nqn-...):
//   - manifest pods: N veth pairs named as Calico names them; their manifests are added,
//     changed (new rates) and deleted at random, a slice of them every round;
//   - CNI pods: pod namespaces wired by the real ptp plugin (host-local IPAM), then netqos's
//     native CNI plugin ADD through the agent's socket (no fallback), later DEL, ptp DEL and the
//     namespace removed, a few at a time.
// Then everything is removed, and the agent's file descriptors and memory, the node's IFBs, the
// CNI records and the agent's pod records must be back at their baseline, with no error line
// in its log; and before that, the kernel must match the manifests exactly.
//
//   npm run soak -- --minutes 10            (1,000 manifest pods)
//   npm run soak -- --short                 (about 90 s, 200 pods: scripts/test.sh runs it)
// Options: --minutes M, --pods N, --cni-parallel K, --resync S. Exit 0 when every check held.
import * as fs from 'fs';
import * as path from 'path';
import { CniTestbed, REFERENCE_PLUGINS, type Pod } from '../bench/lib/cni-testbed';
import { installPlugin } from '../lib/cni/install';
import { calicoInterfaceName } from '../lib/qos';
import {
  AgentProcess,
  IN,
  OUT,
  get,
  podYaml,
  processFigures,
  sample,
  sleep,
  tcQdiscs,
  tcRates,
  waitFor,
} from '../test/helpers/agent';

interface Options {
  minutes: number;
  pods: number;
  cniParallel: number;
  resync: number;
}

function parseArgs(argv: string[]): Options {
  const short = argv.includes('--short');
  const o: Options = { minutes: short ? 0.75 : 10, pods: short ? 200 : 1000, cniParallel: 2, resync: 10 };
  const keys: Record<string, keyof Options> = {
    '--minutes': 'minutes',
    '--pods': 'pods',
    '--cni-parallel': 'cniParallel',
    '--resync': 'resync',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!; // i < argv.length
    if (flag === '--short') continue;
    const key = keys[flag];
    const value = Number(argv[i + 1]);
    if (!key || !(value > 0))
      throw new Error(`usage: soak [--short] [--minutes M] [--pods N] [--cni-parallel K] [--resync S]`);
    o[key] = value;
    i++;
  }
  return o;
}

const NETWORK = 'nqsoak';
const SUBNET = '198.18.44.0/22';
const MiB = 2 ** 20;

interface Figures {
  fds: number;
  rss: number;
  /** V8's heap in use (prom-client's nodejs_heap_size_used_bytes). */
  heap: number;
  ifbs: number;
  records: number;
  pods: number;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const bed = new CniTestbed('nqn');
  const cleanup = () => bed.destroy();
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      cleanup();
      process.exit(130);
    });
  let agent: AgentProcess | undefined;
  try {
    return await soak(o, bed, (a) => (agent = a));
  } finally {
    await agent?.stop();
    cleanup();
  }
}

async function soak(o: Options, bed: CniTestbed, started: (a: AgentProcess) => void): Promise<number> {
  const dir = path.join(bed.dir, 'manifests');
  const dataDir = path.join(bed.dir, 'netqos');
  const socket = path.join(bed.dir, 'run', 'agent.sock');
  fs.mkdirSync(dir);
  const shim = installPlugin({
    dir: path.join(bed.dir, 'bin'),
    socket,
    bundle: false,
    fallback: false,
  }).executable;
  const ptp = path.join(REFERENCE_PLUGINS, 'ptp');

  // The manifest pods' interfaces, in one `ip -batch`.
  const names = Array.from({ length: o.pods }, (_, i) => calicoInterfaceName('soak', `pod-${i}`));
  const batch = names.map((n, i) => `link add ${n} type veth peer name sk${i}\nlink set ${n} up`).join('\n');
  fs.writeFileSync(path.join(bed.dir, 'veths'), `${batch}\n`);
  bed.exec(['ip', '-batch', path.join(bed.dir, 'veths')]);

  const agent = await new AgentProcess([
    '--manifests',
    dir,
    '--netns',
    bed.node,
    '--cni-socket',
    socket,
    '--resync',
    String(o.resync),
  ]).started();
  started(agent);
  const port = agent.port;
  await waitFor('ready', async () => (await get(port, '/readyz')).status === 200, 60_000);

  const ifbCount = () =>
    (JSON.parse(bed.exec(['ip', '-j', 'link', 'show', 'type', 'ifb']) || '[]') as unknown[]).length;
  const recordCount = () => {
    const d = path.join(dataDir, NETWORK);
    return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.json')).length : 0;
  };
  let slowestScrape = 0;
  const scrape = async () => {
    const t = Date.now();
    const { status, body } = await get(port, '/metrics');
    slowestScrape = Math.max(slowestScrape, Date.now() - t);
    if (status !== 200) throw new Error(`/metrics answered ${status}: ${body.slice(0, 200)}`);
    return body;
  };
  const agentPods = (m: string) =>
    ['applied', 'none', 'waiting', 'invalid', 'conflict', 'failed'].reduce(
      (n, state) => n + (sample(m, 'netqos_agent_pods', { state }) ?? 0),
      0,
    );
  const figures = async (): Promise<Figures> => {
    const p = processFigures(agent.pid);
    const m = await scrape();
    return {
      fds: p.fds,
      rss: p.rss,
      heap: sample(m, 'nodejs_heap_size_used_bytes') ?? NaN,
      ifbs: ifbCount(),
      records: recordCount(),
      pods: agentPods(m),
    };
  };
  const show = (f: Figures) =>
    JSON.stringify({
      ...f,
      rss: `${(f.rss / MiB).toFixed(0)} MiB`,
      heap: `${(f.heap / MiB).toFixed(1)} MiB`,
    });

  // The manifests: which pods are present, at which rates (Mbit/s).
  const present = new Map<number, { in: number; out: number }>();
  const rnd = (n: number) => Math.floor(Math.random() * n);
  const write = (i: number) => {
    const r = { in: 1 + rnd(50), out: 1 + rnd(50) };
    const file = path.join(dir, `pod-${i}.yaml`);
    fs.writeFileSync(`${file}.tmp`, podYaml(`pod-${i}`, { [IN]: `${r.in}M`, [OUT]: `${r.out}M` }, 'soak'));
    fs.renameSync(`${file}.tmp`, file);
    present.set(i, r);
  };
  const remove = (i: number) => {
    fs.unlinkSync(path.join(dir, `pod-${i}.yaml`));
    present.delete(i);
  };
  const converged = async (what: string) => {
    await waitFor(
      what,
      () => {
        const qdiscs = tcQdiscs(bed.node);
        return names.every((n, i) => {
          const want = present.get(i);
          const got = tcRates(bed.node, n, qdiscs);
          return want
            ? got.in === want.in * 1e6 && got.out === want.out * 1e6
            : got.in === undefined && got.out === undefined;
        });
      },
      180_000,
    );
  };

  // CNI pods: ptp ADD, netqos ADD (through the agent), then DEL both and the namespace.
  const cni = { adds: 0, dels: 0, failures: [] as string[] };
  let serial = 0;
  const cniCycle = async () => {
    const pod: Pod = bed.pod(`c${serial++}`);
    try {
      const prev = bed.addPtp(pod, NETWORK, SUBNET);
      const conf = (limits: Record<string, number>) => ({
        cniVersion: '1.0.0',
        name: NETWORK,
        type: 'netqos',
        dataDir,
        ...limits,
        prevResult: prev,
      });
      const limits = { ingressRate: 5e6, ingressBurst: 100_000, egressRate: 5e6, egressBurst: 100_000 };
      const add = await bed.invokeAsync(shim, 'ADD', conf(limits), pod);
      if (add.code !== 0) cni.failures.push(`ADD: ${add.stdout}${add.stderr}`);
      else cni.adds++;
      await sleep(rnd(500));
      const del = await bed.invokeAsync(shim, 'DEL', conf(limits), pod);
      if (del.code !== 0) cni.failures.push(`DEL: ${del.stdout}${del.stderr}`);
      else cni.dels++;
      const pdel = bed.invoke(ptp, 'DEL', bed.ptpConf(NETWORK, SUBNET), pod);
      if (pdel.code !== 0) cni.failures.push(`ptp DEL: ${pdel.stdout}${pdel.stderr}`);
    } finally {
      bed.removePod(pod);
    }
  };

  // Warm-up at full scale (JIT, the V8 heap, the HTTP server): every pod added and removed
  // once, one CNI cycle, then the baseline.
  for (let i = 0; i < o.pods; i++) write(i);
  await converged('warm-up applied');
  await cniCycle();
  for (const i of [...present.keys()]) remove(i);
  await converged('warm-up removed');
  await waitFor('warm-up settled', async () => ifbCount() === 0 && agentPods(await scrape()) === 0, 30_000);
  await sleep(o.resync * 1000 + 1000);
  const base = await figures();
  console.log(`baseline: ${show(base)}`);

  // The churn.
  const until = Date.now() + o.minutes * 60_000;
  let rounds = 0;
  let peak = base.rss;
  let maxFds = base.fds;
  const ops = { add: 0, change: 0, del: 0 };
  let scrapes = 0;
  const cniWorkers = Array.from({ length: o.cniParallel }, async () => {
    while (Date.now() < until) await cniCycle();
  });
  const t0 = Date.now();
  let nextReport = t0 + 60_000;
  while (Date.now() < until) {
    rounds++;
    if (Date.now() >= nextReport) {
      nextReport += 60_000;
      const f = await figures();
      console.log(
        `${((Date.now() - t0) / 60_000).toFixed(0)} min: ${show(f)}, manifest pods ${present.size}, CNI ADD ${cni.adds} DEL ${cni.dels}`,
      );
    }
    const slice = Math.max(1, Math.floor(o.pods / 10));
    for (let k = 0; k < slice; k++) {
      const i = rnd(o.pods);
      if (!present.has(i)) {
        write(i);
        ops.add++;
      } else if (Math.random() < 0.5) {
        write(i);
        ops.change++;
      } else {
        remove(i);
        ops.del++;
      }
    }
    const p = processFigures(agent.pid);
    peak = Math.max(peak, p.rss);
    maxFds = Math.max(maxFds, p.fds);
    if (rounds % 5 === 0) {
      await scrape();
      scrapes++;
    }
    await sleep(1000);
  }
  await Promise.all(cniWorkers);
  await converged('the kernel matches the manifests after the churn');
  console.log(
    `churn: ${o.minutes} min, ${rounds} rounds, manifest ops ${JSON.stringify(ops)} (${present.size} pods present at the end), ` +
      `CNI ADD ${cni.adds}, DEL ${cni.dels}, failures ${cni.failures.length}; ${scrapes} scrapes (slowest ${slowestScrape} ms); ` +
      `agent peak RSS ${(peak / MiB).toFixed(0)} MiB, most fds ${maxFds}`,
  );

  // Everything removed: back to the baseline.
  for (const i of [...present.keys()]) remove(i);
  await converged('every manifest pod cleared');
  await waitFor(
    'IFBs and pods gone',
    async () => ifbCount() === base.ifbs && agentPods(await scrape()) === base.pods,
    180_000,
  );
  await sleep(o.resync * 1000 + 1000);
  const end = await figures();
  const problems = agent.problems();
  const errors = problems.filter((l) => l.level !== 'warn');
  console.log(`end: ${show(end)}`);
  console.log(
    `soak figures: fds ${base.fds} -> ${end.fds}, RSS ${(base.rss / MiB).toFixed(0)} -> ${(end.rss / MiB).toFixed(0)} MiB ` +
      `(peak ${(peak / MiB).toFixed(0)}), V8 heap used ${(base.heap / MiB).toFixed(1)} -> ${(end.heap / MiB).toFixed(1)} MiB, IFBs ${base.ifbs} -> ${end.ifbs}, CNI records ${base.records} -> ${end.records}, ` +
      `agent pod records ${base.pods} -> ${end.pods}; log: ${errors.length} error, ${problems.length - errors.length} warn lines`,
  );
  const checks: [string, boolean][] = [
    ['no CNI failure', cni.failures.length === 0],
    ['fds back to the baseline (+2)', end.fds <= base.fds + 2],
    ['RSS back near the baseline (+64 MiB)', end.rss < base.rss + 64 * MiB],
    ['IFBs back to the baseline', end.ifbs === base.ifbs],
    ['CNI records back to the baseline', end.records === base.records],
    ['agent pod records back to the baseline', end.pods === base.pods],
    ['no error line in the agent log', errors.length === 0],
  ];
  for (const f of cni.failures.slice(0, 5)) console.log(`CNI failure: ${f.trim().slice(0, 500)}`);
  for (const l of problems.slice(0, 10))
    console.log(`agent ${String(l.level)}: ${JSON.stringify(l).slice(0, 500)}`);
  const failed = checks.filter(([, ok]) => !ok);
  for (const [what, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`soak: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
