// `netqos lab`: the Calico QoS lab (../shared/reference/calico-qos-lab.txt) on one machine,
// without Kubernetes: namespaces for a node and two pods, iperf3 before, with and after the
// annotations' limits, packet rate, DSCP and max connections (through tc or nftables, whichever
// the kernel has), a plot, and cleanup of
// everything it made, on success, failure, Ctrl-C or SIGTERM.
//
// Exit codes: 0 the lab ran and the limit held (QoS goodput within ±5 % of the ceiling, and the
// rate came back after removal); 1 it did not, or something failed (the reason is printed);
// 2 bad options or manifests; 128+n interrupted by signal n.
//
// --json prints one document on stdout at the end (LabDocument in lab.ts, "version": 1) and no
// narrative or progress.
import { spawnSync } from 'child_process';
import * as path from 'path';
import type { Writable } from 'stream';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ManifestError } from '../manifest';
import { AnnotationError } from '../qos';
import { defaultManifestDir, loadLabAnnotations, type LabAnnotations } from './manifests';
import { runSections, TOLERANCE, type LabDocument, type LabOptions } from './lab';
import { formatBps, Narrative, Progress, signedPercent } from './report';
import { Interrupted, Resources } from './resources';

export type { LabDocument } from './lab';
export { loadLabAnnotations, defaultManifestDir } from './manifests';

export interface LabIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
}

const DEFAULT_DURATION = 5;

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 3 || n > 300)
    throw new InvalidArgumentError('a whole number of seconds from 3 to 300');
  return n;
}

function program(io: LabIo): Command {
  return new Command('netqos lab')
    .description(
      'Reproduce the Calico QoS lab (bandwidth limits from pod annotations) in network namespaces, without Kubernetes. Needs root, iproute2 and iperf3.',
    )
    .addOption(
      new Option(
        '--duration <seconds>',
        'length of each iperf3 run (the first second is the TCP start; the rest shows the steady state)',
      )
        .argParser(seconds)
        .default(DEFAULT_DURATION),
    )
    .option(
      '--rate <quantity>',
      "bandwidth annotation value for both pods, e.g. 10M (default: the manifests' values)",
    )
    .option('--json', 'print one JSON result document on stdout, no narrative or progress')
    .option('--plot <file>', 'write the throughput-over-time chart (SVG) here', 'netqos-lab.svg')
    .option('--no-plot', 'do not write the chart')
    .option('--keep', 'leave the namespaces for inspection (prints how to remove them)')
    .option(
      '--manifests <dir>',
      "directory holding iperf-server-qos.yaml and iperf-client-qos.yaml (default: the repository's examples/)",
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .allowExcessArguments(false);
}

/** Why the lab cannot run here at all, or undefined. */
function preflight(): string | undefined {
  if (process.platform !== 'linux') return 'netqos lab needs Linux';
  if (process.getuid?.() !== 0)
    return 'netqos lab needs root: it creates network namespaces and veth pairs (try sudo)';
  for (const [cmd, args, pkg] of [
    ['ip', ['-V'], 'iproute2'],
    ['iperf3', ['--version'], 'iperf3'],
  ] as const) {
    const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
    if (r.error) return `${cmd} is not installed (apt install ${pkg})`;
  }
  return undefined;
}

const SIGNAL_NUMBER: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

/**
 * Runs the lab with `argv` (the words after `netqos lab`), writing the narrative (or --json) to
 * io.stdout and progress and errors to io.stderr. Resolves with the exit code; never exits.
 */
export async function runLab(
  argv: string[],
  io: LabIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let parsed: Command;
  try {
    parsed = program(io).parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = parsed.opts<{
    duration: number;
    rate?: string;
    json?: boolean;
    plot: string | false;
    keep?: boolean;
    manifests?: string;
  }>();
  const options: LabOptions = {
    duration: o.duration,
    plot: o.plot === false ? false : path.resolve(o.plot),
    keep: !!o.keep,
    json: !!o.json,
  };
  const say = new Narrative(io.stdout, options.json);
  const fail = (message: string, code: number) => {
    io.stderr.write(`netqos lab: ${message}\n`);
    return code;
  };

  let annotations: LabAnnotations;
  const dir = path.resolve(o.manifests ?? defaultManifestDir());
  try {
    annotations = loadLabAnnotations(dir, o.rate);
  } catch (e) {
    if (e instanceof ManifestError || e instanceof AnnotationError) return fail(e.message, 2);
    if (e instanceof Error) return fail(e.message, 2);
    throw e;
  }
  const unusable = preflight();
  if (unusable) return fail(unusable, 1);

  const doc: LabDocument = {
    version: 1,
    ok: false,
    problems: [],
    rate: annotations.rate,
    duration: options.duration,
    manifests: {
      dir,
      notes: annotations.notes,
      server: { file: annotations.server.file ?? null, annotations: annotations.server.annotations },
      client: { file: annotations.client.file ?? null, annotations: annotations.client.annotations },
    },
    runs: {},
    plot: null,
  };
  const resources = new Resources();
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // A second Ctrl-C: no more waiting.
      resources.releaseSync({ keepNamespaces: options.keep });
      process.exit(128 + (SIGNAL_NUMBER[signal] ?? 1));
    }
    interrupted = signal;
    if (!options.json)
      io.stderr.write(`\nnetqos lab: ${signal}: stopping iperf3 and removing the namespaces...\n`);
    controller.abort(new Interrupted(signal));
    resources.killAll();
  };
  const onExit = () => resources.releaseSync({ keepNamespaces: options.keep });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);

  say.line(`netqos lab: Calico pod QoS (bandwidth ${formatBps(annotations.rate, true)}) without Kubernetes`);
  say.line(
    `iperf3 runs of ${options.duration} s; traffic stays inside the lab's namespaces (198.18.0.0/15).`,
  );
  let error: unknown;
  try {
    await runSections({
      options,
      annotations,
      resources,
      say,
      signal: controller.signal,
      doc,
      progress: new Progress(io.stderr, !options.json),
    });
  } catch (e) {
    error = e;
  } finally {
    const kept = options.keep ? [...resources.namespaces] : [];
    const started = resources.started;
    const { removed, failed } = await resources.release({ keepNamespaces: options.keep });
    doc.cleanup = {
      namespacesRemoved: removed,
      namespacesKept: [...kept, ...failed],
      processesStarted: started,
      processesLeft: resources.running,
    };
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }

  say.heading('9. Cleanup');
  const c = doc.cleanup!;
  say.block(`iperf3: ${c.processesStarted} processes started, ${c.processesLeft} left running`);
  if (c.namespacesRemoved.length) say.block(`removed namespaces: ${c.namespacesRemoved.join(' ')}`);
  if (c.namespacesKept.length) {
    say.block(
      `kept namespaces (${options.keep ? '--keep' : 'could not remove'}): ${c.namespacesKept.join(' ')}`,
    );
    say.block(`remove them with: ${c.namespacesKept.map((n) => `ip netns del ${n}`).join('; ')}`);
    if (options.json && options.keep)
      io.stderr.write(
        `netqos lab: kept namespaces; remove them with: ${c.namespacesKept.map((n) => `ip netns del ${n}`).join('; ')}\n`,
      );
  }

  let code: number;
  if (interrupted) {
    doc.error = `interrupted by ${interrupted}`;
    code = 128 + (SIGNAL_NUMBER[interrupted] ?? 1);
  } else if (error !== undefined) {
    doc.error = error instanceof Error ? error.message : String(error);
    code = 1;
  } else {
    doc.ok = doc.problems.length === 0;
    code = doc.ok ? 0 : 1;
  }
  if (options.json) {
    io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    say.line();
    if (doc.ok) {
      const q = doc.runs.qos!;
      say.line(
        `Result: OK: with ${formatBps(doc.rate, true)} annotations the pods got ${formatBps(q.sustainedBps)} sustained, ` +
          `${signedPercent(q.deviation)} from the ${formatBps(q.ceilingBps)} goodput ceiling (±${TOLERANCE * 100} % allowed).`,
      );
    } else if (doc.error) {
      say.line(`Result: FAILED: ${doc.error}`);
    } else {
      say.line('Result: FAILED:');
      for (const p of doc.problems) say.line(`  - ${p}`);
    }
  }
  if (doc.error && !interrupted) io.stderr.write(`netqos lab: ${doc.error}\n`);
  return code;
}
