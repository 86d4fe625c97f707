// The lab's sections, in the order of the Calico lab (../shared/reference/calico-qos-lab.txt):
// topology, baseline, apply the annotations, test with QoS, compare, remove and test again; then
// packet rate, DSCP and max connections, and the throughput plot. Each section prints its part of the narrative
// and fills its part of the result document. All traffic control goes through netqos's API.
import * as fs from 'fs';
import { openNetlink, type NetlinkHandle } from '../handle';
import { applyQos, clearQos, readQos, type QosStatus, type QosTarget } from '../qos';
import { describeQosOperation, formatStatusTable } from '../qos';
import {
  dscpControl,
  maxConnectionsControl,
  modulesUsed,
  packetRateControl,
  type ControlContext,
  type ControlReport,
} from './controls';
import { runIperf, type Interval, type IperfRun } from './iperf';
import type { LabAnnotations } from './manifests';
import { svgChart, terminalChart } from './plot';
import { formatBps, intervalTable, signedPercent, textTable, type Narrative, type Progress } from './report';
import { checkAborted, type Resources } from './resources';
import { createTopology, type Pod, type Topology } from './topology';

/** TCP goodput per wire byte at MTU 1500: 1448 payload bytes (1500 - 20 IP - 32 TCP with
 * timestamps) in a 1514-byte Ethernet frame (the TBF counts the frame without FCS). */
export const MTU = 1500;
export const GOODPUT_PER_WIRE_BYTE = (MTU - 52) / (MTU + 14);
/** The QoS run passes when its sustained goodput is within this of the ceiling. */
export const TOLERANCE = 0.05;
/** Seconds at the start of a run that the sustained figures leave out (TCP's start, the burst). */
export const SETTLE_SECONDS = 1;

export interface LabOptions {
  duration: number;
  plot: string | false;
  keep: boolean;
  json: boolean;
}

export interface RunSummary {
  intervals: Interval[];
  /** The receiver's average over the whole run, bit/s (iperf3's "receiver" line). */
  averageBps: number;
  /** The sender's average. */
  sentBps: number;
  retransmits?: number;
  /** Received bit/s after the first second. */
  sustainedBps: number;
}

export interface QosRunSummary extends RunSummary {
  /** The most TCP goodput the limit allows: rate x 1448/1514. */
  ceilingBps: number;
  /** (sustained - ceiling) / ceiling. */
  deviation: number;
  withinTolerance: boolean;
  /** The client's egress shaper (its IFB's TBF) from its byte counters over the steady part. */
  wireBps?: number;
  wire?: { window: [number, number]; clientEgressBps: number; serverIngressBps: number };
}

export interface LabDocument {
  version: 1;
  ok: boolean;
  /** Why ok is false. */
  problems: string[];
  rate: number;
  duration: number;
  manifests: {
    dir: string;
    notes: string[];
    server: { file: string | null; annotations: Record<string, string> };
    client: { file: string | null; annotations: Record<string, string> };
  };
  topology?: { node: string; pods: Pod[] };
  runs: { baseline?: RunSummary; qos?: QosRunSummary; restored?: RunSummary };
  applied?: { operations: string[]; status: QosStatus[] };
  cleared?: { operations: string[] };
  packetRate?: ControlReport;
  dscp?: ControlReport;
  maxConnections?: ControlReport;
  plot: string | null;
  cleanup?: {
    namespacesRemoved: string[];
    namespacesKept: string[];
    processesStarted: number;
    processesLeft: number;
  };
  error?: string;
}

export interface LabContext {
  options: LabOptions;
  annotations: LabAnnotations;
  resources: Resources;
  say: Narrative;
  progress: Progress;
  signal: AbortSignal;
  doc: LabDocument;
}

/** Received bit/s over the intervals after the first second (ignoring a short last one). */
function sustained(intervals: readonly Interval[]): number {
  const steady = intervals.filter((i) => i.start >= SETTLE_SECONDS - 1e-6 && i.end - i.start >= 0.5);
  const use = steady.length ? steady : intervals;
  const seconds = use.reduce((a, i) => a + (i.end - i.start), 0);
  const bytes = use.reduce((a, i) => a + (i.receivedBytes ?? i.bytes), 0);
  return seconds > 0 ? (bytes * 8) / seconds : 0;
}

function summary(run: IperfRun): RunSummary {
  return {
    intervals: run.intervals,
    averageBps: run.receivedBps,
    sentBps: run.sentBps,
    ...(run.retransmits !== undefined ? { retransmits: run.retransmits } : {}),
    sustainedBps: sustained(run.intervals),
  };
}

const command = (ctx: LabContext, pod: Pod, server: Pod) =>
  `$ iperf3 -c ${server.address} -t ${ctx.options.duration} -i 1      # in pod ${pod.name}`;

async function iperf(
  ctx: LabContext,
  topo: Topology,
  label: string,
  onTick?: (elapsed: number) => Promise<string | undefined>,
): Promise<IperfRun> {
  ctx.progress.start(label, ctx.options.duration);
  try {
    return await runIperf(ctx.resources, {
      server: topo.server,
      client: topo.client,
      seconds: ctx.options.duration,
      signal: ctx.signal,
      onTick: async (elapsed, live) => ctx.progress.update(elapsed, live, (await onTick?.(elapsed)) ?? ''),
    });
  } finally {
    ctx.progress.done();
  }
}

function section1(ctx: LabContext): Topology {
  const { say } = ctx;
  say.heading('1. Lab setup: one node, two pods, wired like Calico');
  const topo = createTopology(ctx.resources, { server: 'iperf-server', client: 'iperf-client' });
  ctx.doc.topology = { node: topo.node, pods: [topo.server, topo.client] };
  say.block(
    textTable(
      ['POD', 'NETNS', 'ETH0', 'HOST SIDE (node netns)', 'GATEWAY'],
      [topo.server, topo.client].map((p) => [p.name, p.netns, `${p.address}/32`, p.hostInterface, p.gateway]),
    ),
  );
  say.line();
  say.block(
    [
      `node netns ${topo.node}: ip_forward=1, a /32 route to each pod through its cali interface.`,
      'Host-side names as Calico makes them: "cali" + the first 11 hex digits of sha1("default.<pod>").',
      'Each pod routes everything through a gateway on the host side of its veth (Calico uses',
      '169.254.1.1 with proxy ARP; the lab keeps every address in 198.18.0.0/15).',
    ].join('\n'),
  );
  return topo;
}

async function section2(ctx: LabContext, topo: Topology): Promise<RunSummary> {
  ctx.say.heading('2. Baseline test (no QoS limits)');
  ctx.say.block(command(ctx, topo.client, topo.server));
  const run = await iperf(ctx, topo, 'baseline');
  const s = summary(run);
  ctx.say.block(intervalTable(run));
  ctx.say.line();
  ctx.say.block(
    `Without limits the pods talk at ${formatBps(s.averageBps)} (veth to veth through the node's routing).`,
  );
  return s;
}

async function section3(ctx: LabContext, topo: Topology, nl: NetlinkHandle): Promise<Set<string>> {
  const { say, annotations: a } = ctx;
  say.heading('3. Apply the QoS annotations');
  for (const [pod, p] of [
    [topo.server, a.server],
    [topo.client, a.client],
  ] as const) {
    say.block(
      `pod ${pod.name}: annotations from ${p.file ?? 'the built-in defaults'}${p.manifestPod ? ` (Pod ${p.manifestPod})` : ''}`,
    );
    for (const [k, v] of Object.entries(p.annotations).filter(
      ([k]) => k.startsWith('qos.projectcalico.org/') || k.startsWith('kubernetes.io/'),
    ))
      say.block(`  ${k}: "${v}"`);
  }
  for (const note of a.notes) say.block(`note: ${note}`);
  say.line();
  const targets: QosTarget[] = [
    { ifname: topo.server.hostInterface, netns: topo.node, annotations: a.server.annotations },
    { ifname: topo.client.hostInterface, netns: topo.node, annotations: a.client.annotations },
  ];
  const handles = new Map([[topo.node, nl]]);
  const result = await applyQos(targets, { handles });
  const ops = result.batches.flatMap((b) => b.operations);
  say.block(
    `Calico applies QoS when a pod starts; netqos applies it to the running pods' host-side interfaces:`,
  );
  say.block(`applyQos -> ${result.sent} operations in one batch (node netns):`);
  for (const op of ops) say.block(`  ${describeQosOperation(op)}`);
  for (const w of result.targets.flatMap((t) => t.warnings)) say.block(`warning: ${w}`);
  const status = await readQos(targets, { handles });
  say.line();
  say.block('readQos (ingress = to the pod: TBF at the root of its cali interface;');
  say.block('        egress = from the pod: redirected to an IFB whose root TBF shapes it):');
  say.block(formatStatusTable(status));
  ctx.doc.applied = { operations: ops.map(describeQosOperation), status };
  return modulesUsed(ops);
}

interface WireSample {
  at: number;
  egress: number;
  ingress: number;
}

/** Bit/s through the shapers between the first sample at or after `from` and the last before `to`. */
function wireRate(
  samples: readonly WireSample[],
  from: number,
  to: number,
): QosRunSummary['wire'] | undefined {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  const [a, b] = [inside[0], inside.at(-1)];
  if (inside.length < 2 || !a || !b) return undefined;
  const seconds = b.at - a.at;
  if (seconds < 0.5) return undefined;
  return {
    window: [a.at, b.at],
    clientEgressBps: ((b.egress - a.egress) * 8) / seconds,
    serverIngressBps: ((b.ingress - a.ingress) * 8) / seconds,
  };
}

async function section4(
  ctx: LabContext,
  topo: Topology,
  nl: NetlinkHandle,
  baseline: RunSummary,
): Promise<QosRunSummary> {
  const { say, options } = ctx;
  say.heading('4. Test with QoS limits applied');
  say.block(command(ctx, topo.client, topo.server));
  say.block(`(the client's egress limit and the server's ingress limit are both on this path)`);
  const targets = [
    { ifname: topo.client.hostInterface, netns: topo.node },
    { ifname: topo.server.hostInterface, netns: topo.node },
  ];
  const handles = new Map([[topo.node, nl]]);
  const samples: WireSample[] = [];
  const t0 = process.hrtime.bigint();
  const run = await iperf(ctx, topo, 'with QoS', async () => {
    const [client, server] = await readQos(targets, { handles });
    const at = Number(process.hrtime.bigint() - t0) / 1e9;
    const sample = {
      at,
      egress: client?.egress.shaper?.bytes ?? 0,
      ingress: server?.ingress.shaper?.bytes ?? 0,
    };
    samples.push(sample);
    const last = samples.length > 4 ? samples[samples.length - 5] : undefined;
    return last ? `shaper ${formatBps(((sample.egress - last.egress) * 8) / (at - last.at))}` : undefined;
  });
  const rate = ctx.annotations.rate;
  const s = summary(run);
  const ceilingBps = rate * GOODPUT_PER_WIRE_BYTE;
  const deviation = (s.sustainedBps - ceilingBps) / ceilingBps;
  const wire = wireRate(samples, SETTLE_SECONDS + 0.25, options.duration - 0.05);
  const result: QosRunSummary = {
    ...s,
    ceilingBps,
    deviation,
    withinTolerance: Math.abs(deviation) <= TOLERANCE,
    ...(wire ? { wireBps: wire.clientEgressBps, wire } : {}),
  };

  say.block(intervalTable(run));
  say.line();
  const first = run.intervals[0];
  const burst = ctx.doc.applied?.status.find((st) => st.ifname === topo.client.hostInterface)?.egress.burst;
  say.block(
    [
      `sustained (after the first second, received): ${formatBps(s.sustainedBps)}`,
      `ceiling: ${formatBps(ceilingBps)} = ${(GOODPUT_PER_WIRE_BYTE * 100).toFixed(1)} % of ${formatBps(rate, true)}: the TBF counts 1514-byte frames,`,
      `  of which 1448 bytes are TCP payload at MTU 1500 (20 IP + 32 TCP header bytes, 14 Ethernet).`,
      `deviation from the ceiling: ${signedPercent(deviation)} (tolerance ±${TOLERANCE * 100} %) ${result.withinTolerance ? 'OK' : 'OUT OF TOLERANCE'}`,
      wire
        ? `shaper wire rate (TBF byte counters, ${wire.window[0].toFixed(2)}-${wire.window[1].toFixed(2)} s): client egress ${formatBps(wire.clientEgressBps)}, server ingress ${formatBps(wire.serverIngressBps)}`
        : 'shaper wire rate: not enough samples over the steady part (run longer with --duration)',
      ...(first
        ? [
            `first second: sent ${formatBps(first.bps)}, received ${formatBps(first.receivedBps ?? first.bps)}` +
              (burst
                ? ` (the bucket holds ${burst} bytes, ${((burst * 8000) / rate).toFixed(0)} ms of the rate; Calico's 4 Gibit default lets ~299 Mbit/s through)`
                : ''),
          ]
        : []),
    ].join('\n'),
  );
  say.line();
  say.block(
    terminalChart(
      [
        { label: 'baseline (avg)', bps: baseline.averageBps },
        ...run.intervals.map((i) => ({
          label: `with QoS ${i.start.toFixed(0)}-${i.end.toFixed(0)} s`,
          bps: i.receivedBps ?? i.bps,
        })),
      ],
      rate,
      'Received bitrate per second (log scale)',
    ),
  );
  return result;
}

function section5(ctx: LabContext, baseline: RunSummary, qos: QosRunSummary): void {
  const { say } = ctx;
  say.heading('5. Compare results');
  const rate = formatBps(ctx.annotations.rate, true);
  say.block(
    textTable(
      ['TEST', 'AVERAGE', 'SUSTAINED', 'NOTES'],
      [
        ['Without QoS', formatBps(baseline.averageBps), formatBps(baseline.sustainedBps), 'no restrictions'],
        [
          `With QoS (${rate})`,
          formatBps(qos.averageBps),
          formatBps(qos.sustainedBps),
          'limited by the annotations',
        ],
      ],
    ),
  );
  say.line();
  say.block(
    `The sustained bandwidth is ~${Math.round(baseline.sustainedBps / qos.sustainedBps)}x lower with QoS.`,
  );
}

async function section6(
  ctx: LabContext,
  topo: Topology,
  nl: NetlinkHandle,
  baseline: RunSummary,
): Promise<RunSummary> {
  const { say } = ctx;
  say.heading('6. Remove QoS limits');
  const targets = [topo.server, topo.client].map((p) => ({ ifname: p.hostInterface, netns: topo.node }));
  const handles = new Map([[topo.node, nl]]);
  const result = await clearQos(targets, { handles });
  const ops = result.batches.flatMap((b) => b.operations);
  ctx.doc.cleared = { operations: ops.map(describeQosOperation) };
  say.block(`clearQos -> ${result.sent} operations (no pod restart needed):`);
  for (const op of ops) say.block(`  ${describeQosOperation(op)}`);
  say.block(formatStatusTable(await readQos(targets, { handles })));
  say.line();
  say.block(command(ctx, topo.client, topo.server));
  const run = await iperf(ctx, topo, 'restored');
  const s = summary(run);
  say.block(intervalTable(run));
  say.line();
  say.block(
    `Back to ${formatBps(s.averageBps)} (${((s.averageBps / baseline.averageBps) * 100).toFixed(0)} % of the baseline).`,
  );
  return s;
}

async function section7(
  ctx: LabContext,
  topo: Topology,
  nl: NetlinkHandle,
  present: Set<string>,
): Promise<void> {
  const { say } = ctx;
  say.heading('7. Additional QoS controls: packet rate, DSCP, max connections');
  const cc: ControlContext = {
    resources: ctx.resources,
    nl,
    node: topo.node,
    server: topo.server,
    client: topo.client,
    present,
    seconds: ctx.options.duration,
    signal: ctx.signal,
  };
  const show = (r: ControlReport, pod: Pod, said: (m: Record<string, number>) => string) => {
    for (const [key, value] of Object.entries(r.annotations))
      say.block(`${key}: "${value}" on pod ${pod.name}`);
    if (!r.supported) {
      say.block(`  -> ${r.reason}`);
      return;
    }
    say.block(`  -> enforced by ${r.dataplane ?? 'netqos'}; readQos: ${JSON.stringify(r.readBack)}`);
    if (r.measured) say.block(`     ${said(r.measured)}`);
  };
  ctx.progress.start('packet rate', Math.min(ctx.options.duration, 3));
  cc.onTick = (elapsed, live) => ctx.progress.update(elapsed, live);
  try {
    ctx.doc.packetRate = await packetRateControl(cc);
  } finally {
    ctx.progress.done();
  }
  show(
    ctx.doc.packetRate,
    topo.client,
    (m) =>
      `UDP at ${m.offeredPps} packets/s for ${m.seconds} s: ${m.receivedPackets} of ${m.sentPackets} arrived ` +
      `(${m.receivedPps?.toFixed(0)}/s); ${m.droppedPackets} dropped over the rate`,
  );
  checkAborted(ctx.signal);
  ctx.doc.dscp = await dscpControl(cc);
  show(
    ctx.doc.dscp,
    topo.client,
    (m) =>
      `${m.sentPackets} pings sent with ECT(0): ${m.receivedEfEct0} of ${m.receivedPackets} arrived as EF with ECT(0) ` +
      `(TOS 0xba); ${m.replies} answered (valid checksums)`,
  );
  checkAborted(ctx.signal);
  ctx.doc.maxConnections = await maxConnectionsControl(cc);
  show(
    ctx.doc.maxConnections,
    topo.server,
    (m) =>
      `${m.attempted} TCP connections at once: ${m.established} established, ${m.reset} reset; ` +
      `after closing one, a new one was ${m.admittedAfterClose ? 'admitted' : 'refused'}`,
  );
  const refused = [ctx.doc.packetRate, ctx.doc.dscp, ctx.doc.maxConnections].filter((r) => !r.supported);
  if (refused.length) {
    say.block(
      '(netqos enforces these through tc or nftables; this kernel has neither for them. The UML test suite runs them: npm run test:uml)',
    );
  }
}

function section8(ctx: LabContext, runs: LabDocument['runs']): void {
  const { say, options } = ctx;
  say.heading('8. Throughput over time');
  if (options.plot === false) {
    say.block('plot skipped (--no-plot)');
    return;
  }
  const series = (['baseline', 'qos', 'restored'] as const)
    .filter((k) => runs[k])
    .map((k) => ({
      label: { baseline: 'baseline', qos: 'with QoS', restored: 'QoS removed' }[k],
      points: runs[k]!.intervals.map((i) => ({ start: i.start, end: i.end, bps: i.receivedBps ?? i.bps })),
    }));
  const qos = runs.qos;
  const subtitle =
    qos && runs.baseline
      ? `baseline ${formatBps(runs.baseline.averageBps)} · with QoS ${formatBps(qos.sustainedBps)} sustained (ceiling ${formatBps(qos.ceilingBps)}) · removed ${runs.restored ? formatBps(runs.restored.averageBps) : '-'}`
      : undefined;
  fs.writeFileSync(
    options.plot,
    svgChart(
      series,
      ctx.annotations.rate,
      'netqos lab: iperf3 client -> server, received bitrate per second',
      subtitle,
    ),
  );
  ctx.doc.plot = options.plot;
  say.block(`wrote ${options.plot} (SVG: per-second bitrate of each run, log scale, with the limit)`);
}

/** Runs every section; the caller owns cleanup. Returns normally when the lab completed. */
export async function runSections(ctx: LabContext): Promise<void> {
  const { doc, signal } = ctx;
  const topo = section1(ctx);
  const nl = openNetlink({ netns: topo.node });
  try {
    checkAborted(signal);
    const baseline = (doc.runs.baseline = await section2(ctx, topo));
    checkAborted(signal);
    const present = await section3(ctx, topo, nl);
    checkAborted(signal);
    const qos = (doc.runs.qos = await section4(ctx, topo, nl, baseline));
    section5(ctx, baseline, qos);
    checkAborted(signal);
    const restored = (doc.runs.restored = await section6(ctx, topo, nl, baseline));
    checkAborted(signal);
    await section7(ctx, topo, nl, present);
    checkAborted(signal);
    section8(ctx, doc.runs);

    if (!qos.withinTolerance) {
      doc.problems.push(
        `the QoS run's sustained ${formatBps(qos.sustainedBps)} is ${signedPercent(qos.deviation)} from the ${formatBps(qos.ceilingBps)} ceiling (tolerance ±${TOLERANCE * 100} %)`,
      );
    }
    if (restored.sustainedBps < 2 * ctx.annotations.rate) {
      doc.problems.push(
        `after clearQos the rate stayed at ${formatBps(restored.sustainedBps)}: the limit was not removed`,
      );
    }
  } finally {
    nl.close();
  }
}
