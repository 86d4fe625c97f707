#!/usr/bin/env node
// ADD time: netqos against the reference `bandwidth` plugin (/usr/lib/cni/bandwidth), on twin
// pods made by the real `ptp` plugin in a throwaway node namespace, the same configuration for
// both (10 Mbit/s each way, 1 Mbit bursts). Each run times one ADD of each contender,
// interleaved, then undoes it untimed (the reference's DEL leaves the veth's qdiscs behind, so
// they are removed with tc, or its next ADD fails). Contenders: the reference; netqos's native
// plugin with the resident server (`netqos cni-server`, started untimed before the runs and
// stopped by its pid after); the same plugin with no server (its fallback to the Node plugin);
// the Node plugin itself, with and without its bundle. Times are whole processes as a runtime
// sees them, under `ip netns exec`; the launcher's own cost (`ip netns exec <node> /bin/true`) is
// shown too.
//
//   node dist/bench/cni-add.js [--runs N] [--json]      (root; `npm run bench:cni`)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { installPlugin } from '../lib/cni/install';
import { CniServerProcess, CniTestbed, REFERENCE_PLUGINS } from './lib/cni-testbed';

interface Stats {
  median: number;
  p90: number;
  min: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  // (No samples: NaN throughout.)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { median: +at(0.5).toFixed(2), p90: +at(0.9).toFixed(2), min: +at(0).toFixed(2) };
}

export interface BenchResult {
  runs: number;
  launcher: Stats;
  nodeFloor: Stats;
  reference: Stats;
  /** The native plugin and the resident server. */
  shim: Stats;
  /** The native plugin, no server: its fallback to the Node plugin. */
  shimFallback: Stats;
  /** The Node plugin (cni-install's shell wrapper), with its bundle and code cache. */
  netqos: Stats;
  netqosNoBundle: Stats;
}

export async function benchAdd(runs = 30): Promise<BenchResult> {
  const bed = new CniTestbed('nqn');
  let server: CniServerProcess | undefined;
  try {
    const socket = path.join(bed.dir, 'run', 'cni.sock');
    const shim = installPlugin({ dir: path.join(bed.dir, 'bin'), socket }).executable;
    const node = installPlugin({
      dir: path.join(bed.dir, 'node-bin'),
      shim: false,
      bundle: false,
    }).executable;
    // As deployed (DaemonSet with hostNetwork, or a host service): in the namespace the runtime
    // runs plugins in, here the node's.
    server = await CniServerProcess.start(socket, ['ip', 'netns', 'exec', bed.node], false);
    const reference = path.join(REFERENCE_PLUGINS, 'bandwidth');
    const limits = {
      ingressRate: 10_000_000,
      ingressBurst: 1_000_000,
      egressRate: 10_000_000,
      egressBurst: 1_000_000,
    };
    const ref = bed.pod('ref');
    const nq = bed.pod('nq');
    const refConf = {
      cniVersion: '1.0.0',
      name: 'bench',
      type: 'bandwidth',
      ...limits,
      prevResult: bed.addPtp(ref, 'bench', '198.18.30.0/24'),
    };
    const nqConf = {
      cniVersion: '1.0.0',
      name: 'bench',
      type: 'netqos',
      dataDir: path.join(bed.dir, 'netqos'),
      ...limits,
      prevResult: bed.addPtp(nq, 'bench', '198.18.30.0/24'),
    };
    const refVeth = (refConf.prevResult.interfaces as { name: string; sandbox?: string }[]).find(
      (i) => !i.sandbox,
    )!.name;
    const times = {
      launcher: [] as number[],
      nodeFloor: [] as number[],
      reference: [] as number[],
      shim: [] as number[],
      shimFallback: [] as number[],
      netqos: [] as number[],
      netqosNoBundle: [] as number[],
    };
    const must = (r: { code: number | null; stdout: string; stderr: string }, what: string) => {
      if (r.code !== 0) throw new Error(`${what} failed: ${r.stdout} ${r.stderr}`);
    };
    const floor = (cmd: string[]) => {
      const t = process.hrtime.bigint();
      spawnSync('ip', ['netns', 'exec', bed.node, ...cmd], {
        stdio: 'ignore',
        env: { PATH: process.env.PATH },
      });
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    /** One timed netqos ADD, then an untimed DEL. */
    const addDel = (plugin: string, what: string, env: Record<string, string> = {}) => {
      const a = bed.invoke(plugin, 'ADD', nqConf, nq, env);
      must(a, `${what} ADD`);
      must(bed.invoke(plugin, 'DEL', nqConf, nq, env), `${what} DEL`);
      return a.ms;
    };
    const noServer = { NETQOS_CNI_SOCKET: path.join(bed.dir, 'run', 'nobody.sock') };
    for (let i = 0; i < runs + 2; i++) {
      const warm = i < 2; // the first runs fill the page cache; not counted
      const a = bed.invoke(reference, 'ADD', refConf, ref);
      must(a, 'reference ADD');
      must(bed.invoke(reference, 'DEL', refConf, ref), 'reference DEL');
      for (const parent of ['root', 'ingress'])
        spawnSync('tc', ['-n', bed.node, 'qdisc', 'del', 'dev', refVeth, parent], { stdio: 'ignore' });
      const s = addDel(shim, 'netqos via the server');
      const f = addDel(shim, 'netqos shim fallback', noServer);
      const b = addDel(node, 'netqos');
      const c = addDel(node, 'netqos (no bundle)', { NETQOS_CNI_NO_BUNDLE: '1' });
      const l = floor(['/bin/true']);
      const n = floor([process.execPath, '-e', '0']);
      if (warm) continue;
      times.reference.push(a.ms);
      times.shim.push(s);
      times.shimFallback.push(f);
      times.netqos.push(b);
      times.netqosNoBundle.push(c);
      times.launcher.push(l);
      times.nodeFloor.push(n);
    }
    return {
      runs,
      launcher: stats(times.launcher),
      nodeFloor: stats(times.nodeFloor),
      reference: stats(times.reference),
      shim: stats(times.shim),
      shimFallback: stats(times.shimFallback),
      netqos: stats(times.netqos),
      netqosNoBundle: stats(times.netqosNoBundle),
    };
  } finally {
    await server?.stop();
    bed.destroy();
  }
}

export function formatBench(r: BenchResult): string {
  const row = (label: string, s: Stats) =>
    `${label.padEnd(46)} ${s.median.toFixed(1).padStart(7)} ${s.p90.toFixed(1).padStart(7)} ${s.min.toFixed(1).padStart(7)}`;
  return [
    `CNI ADD time, ${r.runs} runs, milliseconds (whole process under ip netns exec)`,
    `${''.padEnd(46)} ${'median'.padStart(7)} ${'p90'.padStart(7)} ${'min'.padStart(7)}`,
    row('reference bandwidth plugin (Go)', r.reference),
    row('netqos via shim + resident server', r.shim),
    row('netqos shim without server (fallback to Node)', r.shimFallback),
    row('netqos Node plugin (bundle + code cache)', r.netqos),
    row('netqos Node plugin (plain require)', r.netqosNoBundle),
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
    process.stderr.write(
      `the reference plugins are missing (${REFERENCE_PLUGINS}): apt-get install containernetworking-plugins\n`,
    );
    process.exit(1);
  }
  benchAdd(runs).then(
    (r) =>
      process.stdout.write(
        args.includes('--json')
          ? `${JSON.stringify({ version: 1, addMs: r }, null, 2)}\n`
          : `${formatBench(r)}\n`,
      ),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
