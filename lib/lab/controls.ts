// The lab's "additional QoS controls": packet rate, DSCP marking and connection limits. Each is
// applied through applyQos like the bandwidth, on whichever dataplane the kernel supports (tc's
// police / pedit + csum + skbedit, or nftables' limit / dscp set; connection limits are always
// nftables' ct count), then measured on real traffic. When the kernel lacks every way, the apply
// fails (and is rolled back), and the lab names what is missing instead of failing.
//
// The kernel's words ("Failed to load TC action module.") do not say which module, so when a
// failing operation holds more than one action the lab probes each kind alone on a scratch IFB in
// the node namespace (removed at once) to name exactly the ones missing.
import { randomBytes } from 'crypto';
import type { NetlinkHandle } from '../handle';
import { NetlinkError, type Operation, type Action } from '../netlink';
import {
  QosDataplaneError,
  applyQos,
  clearQos,
  planQos,
  readQos,
  type Enforcer,
  type QosTarget,
} from '../qos';
import type { Resources } from './resources';
import type { Pod } from './topology';
import { arrivals, pings, tcpConnections, udpStream } from './traffic';

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
  /** When supported: what enforced it (readQos's enforcedBy). */
  dataplane?: Enforcer;
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
  pod: Pod = ctx.client,
): Promise<ControlReport | undefined> {
  const target: QosTarget = { ifname: pod.hostInterface, netns: ctx.node, annotations };
  const handles = new Map([[ctx.node, ctx.nl]]);
  const plan = await planQos([target], { handles });
  const ops = plan.batches.flatMap((b) => b.operations);
  try {
    await applyQos([target], { handles });
    return undefined;
  } catch (e) {
    if (e instanceof QosDataplaneError)
      return {
        supported: false,
        annotations,
        reason: `not supported by this kernel (missing ${e.missing.join(' / ')})`,
        missingModules: [...e.missing],
      };
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
/** Offered load: four times the packet rate. */
const UDP_PPS = PACKET_RATE * 4;
export const MAX_CONNECTIONS = 3;
const CONNECTIONS_TRIED = 5;
const PINGS = 50;

/**
 * qos.projectcalico.org/egressPacketRate on the client: PACKET_RATE packets/s. A UDP stream at
 * four times the rate (no control connection beside it) shows what passes: counted where it
 * arrives, on the server pod's eth0.
 */
export async function packetRateControl(ctx: ControlContext): Promise<ControlReport> {
  const annotations = { 'qos.projectcalico.org/egressPacketRate': String(PACKET_RATE) };
  const refused = await tryApply(ctx, annotations);
  if (refused) return refused;
  const target = { ifname: ctx.client.hostInterface, netns: ctx.node };
  const handles = new Map([[ctx.node, ctx.nl]]);
  const counter = await arrivals(ctx.server.netns, 'eth0', 'udp');
  try {
    const seconds = Math.min(ctx.seconds, 3);
    const started = Date.now();
    const ticker = setInterval(() => void ctx.onTick?.((Date.now() - started) / 1000, undefined), 250);
    let sent: number;
    try {
      sent = await udpStream(ctx.resources, {
        netns: ctx.client.netns,
        to: ctx.server.address,
        pps: UDP_PPS,
        seconds,
        signal: ctx.signal,
      });
    } finally {
      clearInterval(ticker);
    }
    const received = (await counter.read()).all;
    const status = await readQos(target, { handles });
    return {
      supported: true,
      annotations,
      dataplane: status.egress.enforcedBy?.packetRate,
      readBack: {
        packetRate: status.egress.packetRate,
        packetBurst: status.egress.packetBurst,
        enforcedBy: status.egress.enforcedBy?.packetRate,
      },
      measured: {
        seconds,
        offeredPps: UDP_PPS,
        sentPackets: sent,
        receivedPackets: received,
        receivedPps: received / seconds,
        droppedPackets: status.egress.packetRateDrops ?? 0,
      },
    };
  } finally {
    await counter.close();
    await clearQos([target], { handles });
  }
}

/**
 * qos.projectcalico.org/dscp: EF on the client. Pings sent with ECT(0) (TOS 0x02) are counted
 * where they arrive: all of them, and those carrying EF with ECT(0) kept (TOS 0xba); every reply
 * shows a request whose rewritten IPv4 header had a valid checksum.
 */
export async function dscpControl(ctx: ControlContext): Promise<ControlReport> {
  const annotations = { 'qos.projectcalico.org/dscp': 'EF' };
  const refused = await tryApply(ctx, annotations);
  if (refused) return refused;
  const target = { ifname: ctx.client.hostInterface, netns: ctx.node };
  const handles = new Map([[ctx.node, ctx.nl]]);
  const EF_ECT0 = (46 << 2) | 2;
  const counter = await arrivals(ctx.server.netns, 'eth0', 'echo', EF_ECT0);
  try {
    const replies = await pings(ctx.resources, {
      netns: ctx.client.netns,
      to: ctx.server.address,
      count: PINGS,
      tos: 2,
      signal: ctx.signal,
    });
    const arrived = await counter.read();
    const status = await readQos(target, { handles });
    return {
      supported: true,
      annotations,
      dataplane: status.egress.enforcedBy?.dscp,
      readBack: {
        dscp: status.egress.dscp,
        enforcedBy: status.egress.enforcedBy?.dscp,
        ...(status.egress.remarkedPackets !== undefined
          ? { remarkedPackets: status.egress.remarkedPackets }
          : {}),
      },
      measured: {
        sentPackets: PINGS,
        receivedPackets: arrived.all,
        receivedEfEct0: arrived.tos ?? 0,
        replies,
      },
    };
  } finally {
    await counter.close();
    await clearQos([target], { handles });
  }
}

/**
 * qos.projectcalico.org/ingressMaxConnections on the server: the client opens five TCP
 * connections at once (MAX_CONNECTIONS held, the rest reset), closes one, and tries again.
 */
export async function maxConnectionsControl(ctx: ControlContext): Promise<ControlReport> {
  const annotations = { 'qos.projectcalico.org/ingressMaxConnections': String(MAX_CONNECTIONS) };
  const refused = await tryApply(ctx, annotations, ctx.server);
  if (refused) return refused;
  const target = { ifname: ctx.server.hostInterface, netns: ctx.node };
  const handles = new Map([[ctx.node, ctx.nl]]);
  try {
    const result = await tcpConnections(ctx.resources, {
      server: { netns: ctx.server.netns, address: ctx.server.address },
      client: { netns: ctx.client.netns },
      count: CONNECTIONS_TRIED,
      signal: ctx.signal,
    });
    const status = await readQos(target, { handles });
    return {
      supported: true,
      annotations,
      dataplane: status.ingress.enforcedBy?.maxConnections,
      readBack: {
        maxConnections: status.ingress.maxConnections,
        enforcedBy: status.ingress.enforcedBy?.maxConnections,
        rejectedConnections: status.ingress.rejectedConnections,
      },
      measured: {
        attempted: result.attempted,
        established: result.established,
        reset: result.reset,
        admittedAfterClose: result.admittedAfterClose ? 1 : 0,
      },
    };
  } finally {
    await clearQos([target], { handles });
  }
}
