#!/usr/bin/env node
// RunPodSandbox end to end under a real runtime: what a pod's start costs the kubelet with each
// network configuration. Four private containerd instances (bench/lib/containerd.ts) in one
// throwaway node namespace, each with one conflist: ptp alone; ptp + the reference `bandwidth`
// plugin; ptp + netqos's native plugin with its resident server (`netqos cni-server`, started
// untimed before the runs, in the node namespace); ptp + netqos with no server (the plugin falls
// back to Node). Every pod asks for kubernetes.io/ingress-bandwidth and egress-bandwidth 10M
// (capability "bandwidth": both plugins shape from containerd's runtimeConfig.bandwidth). Each
// run times one RunPodSandbox per contender, in a rotating order so load weighs on all alike,
// then stops and removes the sandboxes untimed. Medians of --runs (default 20) after 2 warm-up
// runs; the cost of each plugin is the median of its time minus ptp alone's in the same run.
//
//   node dist/bench/cri-run.js [--runs N] [--json]       (root; `npm run bench:cri`)
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installPlugin } from '../lib/cni/install';
import { Containerd, buildPauseImage, missingBinaries } from './lib/containerd';
import { CniServerProcess, REFERENCE_PLUGINS } from './lib/cni-testbed';
import { median, percentile } from './lib/stats';

const CONTENDERS = ['ptp', 'reference', 'netqosServer', 'netqosFallback'] as const;
type Contender = (typeof CONTENDERS)[number];
const LABELS: Record<Contender, string> = {
  ptp: 'ptp alone',
  reference: 'ptp + reference bandwidth plugin',
  netqosServer: 'ptp + netqos (resident server)',
  netqosFallback: 'ptp + netqos (fallback to Node)',
};
const ANNOTATIONS = { 'kubernetes.io/ingress-bandwidth': '10M', 'kubernetes.io/egress-bandwidth': '10M' };

interface Stats {
  median: number;
  p90: number;
  min: number;
}
const stats = (xs: number[]): Stats => ({
  median: +median(xs).toFixed(1),
  p90: +percentile(xs, 0.9).toFixed(1),
  min: +Math.min(...xs).toFixed(1),
});

export interface CriBenchResult {
  runs: number;
  runtime: string;
  ms: Record<Contender, Stats>;
  /**
   * A plugin's cost: the median over runs of its time minus ptp alone's in the same run (paired,
   * so that load that changes from run to run cancels out).
   */
  costMs: { reference: number; netqosServer: number; netqosFallback: number };
}

export async function benchRunPodSandbox(runs = 20): Promise<CriBenchResult> {
  const missing = missingBinaries();
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run scripts/setup.sh`);
  const node = `nqc-${process.pid}-${randomBytes(3).toString('hex')}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-cri-bench-'));
  const runtimes: Partial<Record<Contender, Containerd>> = {};
  const started = new Set<Containerd>();
  let server: CniServerProcess | undefined;
  const cleanup = async () => {
    await Promise.all([...started].map((c) => c.stop()));
    await server?.stop();
    try {
      execFileSync('ip', ['netns', 'del', node], { stdio: 'ignore' });
    } catch {
      /* not made */
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    execFileSync('ip', ['netns', 'add', node]);
    execFileSync('ip', ['-n', node, 'link', 'set', 'lo', 'up']);
    const socket = path.join(tmp, 'run', 'cni.sock');
    const withServer = installPlugin({ dir: path.join(tmp, 'bin-server'), socket }).executable;
    const withoutServer = installPlugin({
      dir: path.join(tmp, 'bin-fallback'),
      socket: path.join(tmp, 'run', 'nobody.sock'),
    }).executable;
    server = await CniServerProcess.start(socket, ['nsenter', `--net=/var/run/netns/${node}`], false);
    const pauseImage = buildPauseImage(tmp);
    const plugins = {
      ptp: path.join(REFERENCE_PLUGINS, 'ptp'),
      'host-local': path.join(REFERENCE_PLUGINS, 'host-local'),
      loopback: path.join(REFERENCE_PLUGINS, 'loopback'), // containerd brings up the pod's lo with it
      bandwidth: path.join(REFERENCE_PLUGINS, 'bandwidth'),
    };
    const second: Record<Contender, object | undefined> = {
      ptp: undefined,
      reference: { type: 'bandwidth', capabilities: { bandwidth: true } },
      netqosServer: {
        type: 'netqos',
        dataDir: path.join(tmp, 'nq-server'),
        capabilities: { bandwidth: true },
      },
      netqosFallback: {
        type: 'netqos',
        dataDir: path.join(tmp, 'nq-fallback'),
        capabilities: { bandwidth: true },
      },
    };
    await Promise.all(
      CONTENDERS.map(async (c, i) => {
        runtimes[c] = await Containerd.start(
          {
            netns: node,
            pauseImage,
            parent: tmp,
            plugins: { ...plugins, netqos: c === 'netqosFallback' ? withoutServer : withServer },
            conflist: {
              cniVersion: '1.0.0',
              name: 'bench',
              plugins: [
                {
                  type: 'ptp',
                  ipMasq: false,
                  ipam: {
                    type: 'host-local',
                    subnet: `198.18.${70 + i}.0/24`,
                    dataDir: path.join(tmp, `ipam-${c}`),
                  },
                },
                ...(second[c] ? [second[c]] : []),
              ],
            },
          },
          (rt) => started.add(rt),
        );
      }),
    );
    const version = await runtimes.ptp!.cri.version();
    const samples: Record<Contender, number[]> = {
      ptp: [],
      reference: [],
      netqosServer: [],
      netqosFallback: [],
    };
    for (let run = 0; run < runs + 2; run++) {
      const turn = run % CONTENDERS.length;
      const order = [...CONTENDERS.slice(turn), ...CONTENDERS.slice(0, turn)];
      for (const c of order) {
        const rt = runtimes[c]!;
        const t0 = process.hrtime.bigint();
        const id = await rt.cri.runPodSandbox(rt.podConfig(`bench-${run}`, ANNOTATIONS));
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        await rt.cri.stopPodSandbox(id);
        await rt.cri.removePodSandbox(id);
        if (run >= 2) samples[c].push(ms); // the first runs warm caches: not counted
      }
    }
    if (server.events().some((e) => e.kind === 'fallback'))
      throw new Error('the resident server answered "fallback": its figures would be the fallback\'s');
    const ms = Object.fromEntries(CONTENDERS.map((c) => [c, stats(samples[c])])) as Record<Contender, Stats>;
    const cost = (c: Contender) => +median(samples[c].map((t, i) => t - (samples.ptp[i] ?? NaN))).toFixed(1);
    return {
      runs,
      runtime: `${version.runtime_name} ${version.runtime_version} (CRI ${version.runtime_api_version})`,
      ms,
      costMs: {
        reference: cost('reference'),
        netqosServer: cost('netqosServer'),
        netqosFallback: cost('netqosFallback'),
      },
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

export function formatCriBench(r: CriBenchResult): string {
  const row = (c: Contender) => {
    const s = r.ms[c];
    const cost = c === 'ptp' ? '' : `+${r.costMs[c].toFixed(1)}`;
    return `${LABELS[c].padEnd(34)} ${s.median.toFixed(1).padStart(7)} ${s.p90.toFixed(1).padStart(7)} ${s.min.toFixed(1).padStart(7)} ${cost.padStart(8)}`;
  };
  const met = r.costMs.netqosServer <= r.costMs.reference;
  return [
    `RunPodSandbox through the CRI, ${r.runs} runs each, interleaved, milliseconds (${r.runtime})`,
    `${''.padEnd(34)} ${'median'.padStart(7)} ${'p90'.padStart(7)} ${'min'.padStart(7)} ${'over ptp'.padStart(8)} (paired)`,
    ...CONTENDERS.map(row),
    `target: netqos's cost over ptp at most the reference's: ${met ? 'met' : 'not met'} (${r.costMs.netqosServer.toFixed(1)} vs ${r.costMs.reference.toFixed(1)} ms)`,
  ].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 20;
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('usage: cri-run.js [--runs N] [--json]\n');
    process.exit(2);
  }
  benchRunPodSandbox(runs).then(
    (r) =>
      process.stdout.write(
        args.includes('--json')
          ? `${JSON.stringify({ version: 1, runPodSandboxMs: r }, null, 2)}\n`
          : `${formatCriBench(r)}\n`,
      ),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
