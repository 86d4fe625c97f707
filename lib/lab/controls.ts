// The lab's "additional QoS controls": packet rate (police) and DSCP marking (pedit + csum +
// skbedit). Each is applied through applyQos like the bandwidth; when the kernel lacks a piece,
// the apply fails (and is rolled back), and the lab names the missing module instead of failing.
//
// The kernel's words ("Failed to load TC action module.") do not say which module, so when a
// failing operation holds more than one action the lab probes each kind alone on a scratch IFB in
// the node namespace (removed at once) to name exactly the ones missing.
import { randomBytes } from 'crypto';
import { NetlinkError, type NetlinkHandle, type Operation, type Action } from '../netlink';
import { applyQos, clearQos, planQos, readQos, type QosTarget } from '../qos';
import { runIperf, type IperfRun } from './iperf';
import type { Resources } from './resources';
import type { Pod } from './topology';

export interface ControlReport {
  supported: boolean;
  /** The annotations tried, on the client pod's host-side interface. */
  annotations: Record<string, string>;
  /** When not supported: one line for people. */
  reason?: string;
  /** Kernel modules (sch_, cls_, act_) the kernel lacks for this control. */
  missingModules?: string[];
  /** The kernel's extended-ack text. */
  kernelMessage?: string;
  /** When supported: what readQos reports, and measurements. */
  readBack?: Record<string, unknown>;
  measured?: Record<string, number>;
}

const moduleOf = {
  qdisc: (kind: string) => `sch_${kind}`,
  filter: (kind: string) => `cls_${kind}`,
  action: (kind: string) => `act_${kind}`,
};

/** Every module an operation needs: its qdisc or filter kind and each action's kind. */
function modulesOf(op: Operation): string[] {
  if ('qdisc' in op && op.op !== 'delete' && op.qdisc.kind) {
    // ingress and clsact are both sch_ingress.
    return [moduleOf.qdisc(op.qdisc.kind === 'clsact' ? 'ingress' : op.qdisc.kind)];
  }
  if ('filter' in op && op.op !== 'delete') {
    const f = op.filter;
    return [
      ...(f.kind ? [moduleOf.filter(f.kind)] : []),
      ...(f.actions ?? []).map((a) => moduleOf.action(a.kind)),
    ];
  }
  if ('link' in op && op.op === 'add') return [op.link.kind];
  return [];
}

/** The modules a batch of operations uses: what a successful apply proves present. */
export function modulesUsed(ops: readonly Operation[]): Set<string> {
  return new Set(ops.flatMap(modulesOf));
}

const isMissingModule = (e: unknown) =>
  e instanceof NetlinkError && (e.code === 'ENOENT' || e.code === 'EOPNOTSUPP');

/** Adds one filter per action kind to a scratch IFB; returns the kinds the kernel refused. */
async function probeActions(nl: NetlinkHandle, actions: Action[]): Promise<string[]> {
  const dev = `nqlprobe${randomBytes(3).toString('hex')}`;
  await nl.apply([
    { op: 'add', link: { kind: 'ifb', name: dev, up: false } },
    { op: 'add', qdisc: { kind: 'clsact', dev } },
  ]);
  const missing: string[] = [];
  try {
    for (const [i, action] of actions.entries()) {
      try {
        await nl.apply([
          {
            op: 'add',
            filter: {
              kind: 'u32',
              dev,
              parent: 'ingress',
              priority: 100 + i,
              protocol: 'all',
              actions: [action],
            },
          },
        ]);
      } catch (e) {
        if (isMissingModule(e)) missing.push(moduleOf.action(action.kind));
      }
    }
  } finally {
    await nl.apply([{ op: 'delete', link: { name: dev } }]);
  }
  return missing;
}

/** Names the modules a failed apply lacked: those it used that nothing has proven present. */
async function missingModules(
  nl: NetlinkHandle,
  err: NetlinkError,
  ops: readonly Operation[],
  present: Set<string>,
): Promise<string[]> {
  const failed = (err.failures?.map((f) => ops[f.index]) ?? [err.operation]).filter(
    (op): op is Operation => !!op,
  );
  const candidates = [...modulesUsed(failed)].filter((m) => !present.has(m));
  if (candidates.length <= 1) return candidates;
  const actions = new Map<string, Action>();
  for (const op of failed) {
    if ('filter' in op && op.op !== 'delete')
      for (const a of op.filter.actions ?? [])
        if (!present.has(moduleOf.action(a.kind))) actions.set(a.kind, a);
  }
  try {
    const probed = await probeActions(nl, [...actions.values()]);
    const others = candidates.filter((m) => !m.startsWith('act_'));
    return probed.length ? [...probed, ...others] : candidates;
  } catch {
    return candidates;
  }
}

export interface ControlContext {
  resources: Resources;
  nl: NetlinkHandle;
  node: string;
  server: Pod;
  client: Pod;
  /** Modules already proven present (by the bandwidth apply). */
  present: Set<string>;
  seconds: number;
  signal?: AbortSignal;
  onTick?: (elapsed: number, liveBps: number | undefined) => void | Promise<void>;
}

/** Applies `annotations` to the client's interface; on a missing module, says which and undoes. */
async function tryApply(
  ctx: ControlContext,
  annotations: Record<string, string>,
): Promise<ControlReport | undefined> {
  const target: QosTarget = { ifname: ctx.client.hostInterface, netns: ctx.node, annotations };
  const handles = new Map([[ctx.node, ctx.nl]]);
  const plan = await planQos([target], { handles });
  const ops = plan.batches.flatMap((b) => b.operations);
  try {
    await applyQos([target], { handles });
    return undefined;
  } catch (e) {
    if (!(e instanceof NetlinkError)) throw e;
    const missing = await missingModules(ctx.nl, e, ops, ctx.present);
    // An atomic apply rolls back; clear anyway so the next step starts from nothing.
    await clearQos([target], { handles });
    const what = missing.length ? `missing ${missing.join(' / ')}` : `${e.code}`;
    return {
      supported: false,
      annotations,
      reason: `not supported by this kernel (${what})${e.kernelMessage ? `: the kernel answered "${e.kernelMessage}"` : ''}`,
      missingModules: missing,
      ...(e.kernelMessage ? { kernelMessage: e.kernelMessage } : {}),
    };
  }
}

export const PACKET_RATE = 100;
const UDP_LENGTH = 100;
/** Offered load: four times the packet rate. */
const UDP_PPS = PACKET_RATE * 4;

/**
 * qos.projectcalico.org/egressPacketRate on the client: police at PACKET_RATE packets/s. When
 * the kernel has act_police, UDP at four times the rate shows what passes and what is dropped.
 */
export async function packetRateControl(ctx: ControlContext): Promise<ControlReport> {
  const annotations = { 'qos.projectcalico.org/egressPacketRate': String(PACKET_RATE) };
  const refused = await tryApply(ctx, annotations);
  if (refused) return refused;
  const target = { ifname: ctx.client.hostInterface, netns: ctx.node };
  const handles = new Map([[ctx.node, ctx.nl]]);
  try {
    const seconds = Math.min(ctx.seconds, 3);
    const run: IperfRun = await runIperf(ctx.resources, {
      server: ctx.server,
      client: ctx.client,
      seconds,
      signal: ctx.signal,
      onTick: ctx.onTick,
      udp: { bitrate: String(UDP_PPS * UDP_LENGTH * 8), length: UDP_LENGTH },
    });
    const [status] = await readQos([target], { handles });
    const policer = status.egress.policer;
    const received = (run.packets ?? 0) - (run.lostPackets ?? 0);
    return {
      supported: true,
      annotations,
      readBack: { packetRate: status.egress.packetRate, packetBurst: status.egress.packetBurst },
      measured: {
        seconds,
        offeredPps: UDP_PPS,
        sentPackets: run.packets ?? 0,
        receivedPackets: received,
        receivedPps: received / seconds,
        policerPackets: policer?.packets ?? 0,
        policerDrops: policer?.drops ?? 0,
      },
    };
  } finally {
    await clearQos([target], { handles });
  }
}

/** qos.projectcalico.org/dscp: EF on the client: DS field rewrite read back from the kernel. */
export async function dscpControl(ctx: ControlContext): Promise<ControlReport> {
  const annotations = { 'qos.projectcalico.org/dscp': 'EF' };
  const refused = await tryApply(ctx, annotations);
  if (refused) return refused;
  const target = { ifname: ctx.client.hostInterface, netns: ctx.node };
  const handles = new Map([[ctx.node, ctx.nl]]);
  try {
    const [status] = await readQos([target], { handles });
    return { supported: true, annotations, readBack: { dscp: status.egress.dscp } };
  } finally {
    await clearQos([target], { handles });
  }
}
