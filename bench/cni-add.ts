#!/usr/bin/env node
// ADD time: netqos against the reference `bandwidth` plugin (/usr/lib/cni/bandwidth), on twin
// pods made by the real `ptp` plugin in a throwaway node namespace, the same configuration for
// both (10 Mbit/s each way, 1 Mbit bursts). Each run times one ADD of each, interleaved, then
// undoes it untimed (the reference's DEL leaves the veth's qdiscs behind, so they are removed with
// tc, or its next ADD fails). Times are whole processes as a runtime sees them, under
// `ip netns exec`; the launcher's own cost (`ip netns exec <node> /bin/true`) is shown too.
//
//   node dist/bench/cni-add.js [--runs N] [--json]      (root; part of `npm run bench`)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { installPlugin } from '../lib/cni/install';
import { CniTestbed, REFERENCE_PLUGINS } from './lib/cni-testbed';

interface Stats {
  median: number;
  p90: number;
  min: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median: +at(0.5).toFixed(2), p90: +at(0.9).toFixed(2), min: +s[0].toFixed(2) };
}

export interface BenchResult {
  runs: number;
  launcher: Stats;
  nodeFloor: Stats;
  reference: Stats;
  netqos: Stats;
  netqosNoBundle: Stats;
}

export function benchAdd(runs = 30): BenchResult {
  const bed = new CniTestbed('nqn');
  try {
    const bin = path.join(bed.dir, 'bin');
    installPlugin({ dir: bin });
    const netqos = path.join(bin, 'netqos');
    const reference = path.join(REFERENCE_PLUGINS, 'bandwidth');
    const limits = { ingressRate: 10_000_000, ingressBurst: 1_000_000, egressRate: 10_000_000, egressBurst: 1_000_000 };
    const ref = bed.pod('ref');
    const nq = bed.pod('nq');
    const refConf = { cniVersion: '1.0.0', name: 'bench', type: 'bandwidth', ...limits, prevResult: bed.addPtp(ref, 'bench', '198.18.30.0/24') };
    const nqConf = { cniVersion: '1.0.0', name: 'bench', type: 'netqos', dataDir: path.join(bed.dir, 'netqos'), ...limits, prevResult: bed.addPtp(nq, 'bench', '198.18.30.0/24') };
    const refVeth = (refConf.prevResult.interfaces as { name: string; sandbox?: string }[]).find((i) => !i.sandbox)!.name;
    const times = { launcher: [] as number[], nodeFloor: [] as number[], reference: [] as number[], netqos: [] as number[], netqosNoBundle: [] as number[] };
    const must = (r: { code: number | null; stdout: string; stderr: string }, what: string) => {
      if (r.code !== 0) throw new Error(`${what} failed: ${r.stdout} ${r.stderr}`);
    };
    const floor = (cmd: string[]) => {
      const t = process.hrtime.bigint();
      spawnSync('ip', ['netns', 'exec', bed.node, ...cmd], { stdio: 'ignore', env: { PATH: process.env.PATH } });
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    for (let i = 0; i < runs + 2; i++) {
      const warm = i < 2; // the first runs fill the page cache; not counted
      const a = bed.invoke(reference, 'ADD', refConf, ref);
      must(a, 'reference ADD');
      must(bed.invoke(reference, 'DEL', refConf, ref), 'reference DEL');
      for (const parent of ['root', 'ingress']) spawnSync('tc', ['-n', bed.node, 'qdisc', 'del', 'dev', refVeth, parent], { stdio: 'ignore' });
      const b = bed.invoke(netqos, 'ADD', nqConf, nq);
      must(b, 'netqos ADD');
      must(bed.invoke(netqos, 'DEL', nqConf, nq), 'netqos DEL');
      const c = bed.invoke(netqos, 'ADD', nqConf, nq, { NETQOS_CNI_NO_BUNDLE: '1' });
      must(c, 'netqos ADD (no bundle)');
      must(bed.invoke(netqos, 'DEL', nqConf, nq), 'netqos DEL');
      const l = floor(['/bin/true']);
      const n = floor([process.execPath, '-e', '0']);
      if (warm) continue;
      times.reference.push(a.ms);
      times.netqos.push(b.ms);
      times.netqosNoBundle.push(c.ms);
      times.launcher.push(l);
      times.nodeFloor.push(n);
    }
    return {
      runs,
      launcher: stats(times.launcher),
      nodeFloor: stats(times.nodeFloor),
      reference: stats(times.reference),
      netqos: stats(times.netqos),
      netqosNoBundle: stats(times.netqosNoBundle),
    };
  } finally {
    bed.destroy();
  }
}

export function formatBench(r: BenchResult): string {
  const row = (label: string, s: Stats) => `${label.padEnd(46)} ${s.median.toFixed(1).padStart(7)} ${s.p90.toFixed(1).padStart(7)} ${s.min.toFixed(1).padStart(7)}`;
  return [
    `CNI ADD time, ${r.runs} runs, milliseconds (whole process under ip netns exec)`,
    `${''.padEnd(46)} ${'median'.padStart(7)} ${'p90'.padStart(7)} ${'min'.padStart(7)}`,
    row('reference bandwidth plugin (Go)', r.reference),
    row('netqos (cni-install: bundle + code cache)', r.netqos),
    row('netqos (plain require)', r.netqosNoBundle),
    row('floor: ip netns exec <node> /bin/true', r.launcher),
    row('floor: ip netns exec <node> node -e 0', r.nodeFloor),
  ].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 30;
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('usage: bench.js [--runs N] [--json]\n');
    process.exit(2);
  }
  if (!fs.existsSync(path.join(REFERENCE_PLUGINS, 'bandwidth'))) {
    process.stderr.write(`the reference plugins are missing (${REFERENCE_PLUGINS}): apt-get install containernetworking-plugins\n`);
    process.exit(1);
  }
  const r = benchAdd(runs);
  process.stdout.write(args.includes('--json') ? `${JSON.stringify({ version: 1, addMs: r }, null, 2)}\n` : `${formatBench(r)}\n`);
}
