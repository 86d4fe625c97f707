// Output of the CLI: operations as one human-readable line each, the status table, and the JSON
// documents. The JSON shapes are a stable interface (version 1):
//
// apply, plan, clear (--json):
//   { "version": 1,
//     "sent": N,                 // operations sent to the kernel (always 0 for plan / --dry-run)
//     "targets": [ { "ifname": "cali0",
//                    "netns": "ns1" | null,        // null: the namespace netqos runs in
//                    "operations": [ { "description": "replace tbf qdisc on cali0 root: rate 10Mbit ...",
//                                      "operation": { "op": "replace", "qdisc": { ... } } } ],
//                    "warnings": [ "..." ] } ] }
//   "operation" is the library's Operation object exactly as netqos sends it (lib/netlink/types.ts).
//
// show (--json):
//   { "version": 1, "interfaces": [ QosStatus, ... ] }
//   QosStatus (lib/qos/qos.ts): { "ifname", "netns": string | null, "exists": boolean,
//     "ingress": { "bandwidth"?, "burst"?, "limit"?, "peakrate"?, "minburst"?, "packetRate"?,
//                  "packetBurst"?, "shaper"?: Stats, "policer"?: Stats },
//     "egress": { ...the same, "ifb"?: string, "dscp"?: number },
//     "foreign": { "root"?: string, "filters": number } }
//   Rates in bit/s, burst/limit/minburst in bytes, packet rate in packets/s; Stats: { bytes,
//   packets, drops, overlimits, requeues, backlog, qlen }. "ingress" is traffic to the pod (the
//   TBF at the interface's root), "egress" traffic from it (the IFB's TBF). Absent fields mean
//   "no such control".
import {
  formatRate,
  formatSize,
  describe,
  linkTarget,
  type Action,
  type Operation,
  type Stats,
} from '../netlink';
import { NETQOS_DOOMED_GROUP } from '../qos';
import { dscpName, type QosStatus, type DirectionStatus, type TargetPlan } from '../qos';

export const JSON_VERSION = 1;

/** The bucket raw buffer ticks stand for: the kernel keeps them as 64 ns each (PSCHED_SHIFT 6). */
function bytesOfTicks(rate: number, ticks: number): number {
  return Math.round((rate / 8) * ticks * 64e-9);
}

/** Bytes exactly: "12500b", or tc's binary units when they are exact ("32Kb", "1Mb"). */
export function sizeText(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? formatSize(bytes) : `${bytes}b`;
}

function dscpText(value: number): string {
  const name = dscpName(value);
  return name ? `${value} (${name})` : String(value);
}

function actionText(a: Action): string {
  switch (a.kind) {
    case 'police': {
      const what =
        a.pktRate !== undefined
          ? `${a.pktRate}pps burst ${a.pktBurst ?? 5}pkt`
          : `rate ${formatRate(a.rate ?? 0)}${a.burst !== undefined ? ` burst ${sizeText(a.burst)}` : ''}`;
      return `police ${what} conform ${a.conform ?? 'ok'} exceed ${a.exceed ?? 'reclassify'}`;
    }
    case 'mirred':
      return `mirred ${a.direction ?? 'egress'} ${a.mode ?? 'redirect'} to ${a.dev}`;
    case 'pedit': {
      const k = a.keys[0];
      if (
        a.keys.length === 1 &&
        k &&
        (k.htype === 'ipv4' || k.htype === 'ipv6') &&
        k.offset === 0 &&
        (k.cmd ?? 'set') === 'set'
      ) {
        const dscp = k.htype === 'ipv4' ? (k.value >>> 18) & 0x3f : (k.value >>> 22) & 0x3f;
        return `pedit ${k.htype} dscp ${dscpText(dscp)}`;
      }
      return `pedit ${a.keys.length} key${a.keys.length === 1 ? '' : 's'}`;
    }
    case 'csum':
      return `csum ${a.update.join(',')}`;
    case 'skbedit':
      return `skbedit${a.priority !== undefined ? ` priority ${typeof a.priority === 'number' ? `${(a.priority >>> 16).toString(16)}:${(a.priority & 0xffff).toString(16)}` : a.priority}` : ''}${a.mark !== undefined ? ` mark ${a.mark}` : ''}`;
    case 'gact':
      return `gact ${a.control}`;
    default:
      return (a as { kind: string }).kind;
  }
}

/** One line per operation, e.g. `replace tbf qdisc on cali0 root: rate 10Mbit burst 12500b limit 43750b`. */
export function formatOperation(op: Operation): string {
  const head = describe(op);
  if ('link' in op) {
    if (op.op === 'add') {
      const l = op.link;
      return `add ${l.kind} link ${l.name}${l.mtu !== undefined ? `: mtu ${l.mtu}` : ''}${l.up ? ', up' : ''}`;
    }
    // IFBs are deleted together: each is moved to netqos's doomed group, then the group goes.
    if (op.op === 'change' && op.link.group === NETQOS_DOOMED_GROUP)
      return `delete link ${linkTarget(op.link)} (with the others below)`;
    if (op.op === 'delete' && 'group' in op.link && op.link.group === NETQOS_DOOMED_GROUP)
      return 'delete the links above, in one step';
    return head;
  }
  if ('qdisc' in op) {
    if (op.op === 'delete')
      return op.qdisc.handle !== undefined && !op.qdisc.kind ? `${head} (handle ${op.qdisc.handle})` : head;
    if (op.qdisc.kind !== 'tbf') return head;
    const q = op.qdisc;
    const parts = [`rate ${formatRate(q.rate)}`];
    if (q.burst !== undefined) parts.push(`burst ${sizeText(q.burst)}`);
    else if (q.bufferTicks !== undefined)
      parts.push(`burst ${sizeText(bytesOfTicks(q.rate, q.bufferTicks))} (buffer ${q.bufferTicks} ticks)`);
    if (q.limit !== undefined) parts.push(`limit ${sizeText(q.limit)}`);
    if (q.latencyUs !== undefined) parts.push(`latency ${q.latencyUs}us`);
    if (q.peakrate !== undefined) parts.push(`peakrate ${formatRate(q.peakrate)}`);
    if (q.minburst !== undefined) parts.push(`minburst ${sizeText(q.minburst)}`);
    return `${head}: ${parts.join(' ')}`;
  }
  const f = op.filter;
  const protocol = f.protocol !== undefined ? ` protocol ${f.protocol}` : '';
  if (op.op === 'delete') return `${head}${protocol}`;
  const actions = (op.filter.actions ?? []).map(actionText);
  return `${head}${protocol}${actions.length ? `: ${actions.join(' | ')}` : ''}`;
}

export interface TargetJson {
  ifname: string;
  netns: string | null;
  operations: { description: string; operation: Operation }[];
  warnings: string[];
}

export interface ResultJson {
  version: typeof JSON_VERSION;
  sent: number;
  targets: TargetJson[];
}

export function resultJson(targets: readonly TargetPlan[], sent: number): ResultJson {
  return {
    version: JSON_VERSION,
    sent,
    targets: targets.map((t) => ({
      ifname: t.ifname,
      netns: t.netns ?? null,
      operations: t.operations.map((operation) => ({ description: formatOperation(operation), operation })),
      warnings: [...t.warnings],
    })),
  };
}

/** The human form of apply/plan/clear: one line per operation, or `no change`. */
export function formatResult(targets: readonly TargetPlan[]): string {
  const lines = targets.flatMap((t) => t.operations.map(formatOperation));
  return lines.length ? lines.join('\n') : 'no change';
}

export type StatusJson = Omit<QosStatus, 'netns'> & { netns: string | null };

export function statusJson(statuses: readonly QosStatus[]): {
  version: typeof JSON_VERSION;
  interfaces: StatusJson[];
} {
  return {
    version: JSON_VERSION,
    interfaces: statuses.map((s) => ({
      ifname: s.ifname,
      netns: s.netns ?? null,
      exists: s.exists,
      ingress: s.ingress,
      egress: s.egress,
      foreign: s.foreign,
    })),
  };
}

/** True when the interface carries any netqos control. */
export function hasQos(s: QosStatus): boolean {
  const controls = (d: DirectionStatus) => d.bandwidth !== undefined || d.packetRate !== undefined;
  return (
    controls(s.ingress) || controls(s.egress) || s.egress.dscp !== undefined || s.egress.ifb !== undefined
  );
}

export const TABLE_COLUMNS = [
  'INTERFACE',
  'DIRECTION',
  'RATE',
  'BURST',
  'LIMIT',
  'PKT RATE',
  'DSCP',
  'BYTES',
  'PACKETS',
  'DROPS',
  'OVERLIMITS',
] as const;

const sum = (...xs: (number | undefined)[]) =>
  xs.some((x) => x !== undefined) ? xs.reduce<number>((a, x) => a + (x ?? 0), 0) : undefined;
const text = (v: string | number | undefined) => (v === undefined ? '-' : String(v));

/**
 * One row per interface and direction that has a control. BYTES and PACKETS are what the shaper
 * passed (the policer's count when there is no shaper); DROPS and OVERLIMITS add up the shaper's
 * and the policer's (a policer's drops are the packets over the packet rate).
 */
function rows(s: QosStatus): string[][] {
  const out: string[][] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const d: DirectionStatus & { dscp?: number } = s[direction];
    const dscp = direction === 'egress' ? s.egress.dscp : undefined;
    if (d.bandwidth === undefined && d.packetRate === undefined && dscp === undefined) continue;
    const counted: Stats | undefined = d.shaper ?? d.policer;
    out.push([
      s.ifname,
      direction,
      d.bandwidth !== undefined ? formatRate(d.bandwidth) : '-',
      d.burst !== undefined ? sizeText(d.burst) : '-',
      d.limit !== undefined ? sizeText(d.limit) : '-',
      d.packetRate !== undefined ? `${d.packetRate}pps/${d.packetBurst ?? 5}` : '-',
      dscp !== undefined ? dscpText(dscp) : '-',
      text(counted?.bytes),
      text(counted?.packets),
      text(sum(d.shaper?.drops, d.policer?.drops)),
      text(sum(d.shaper?.overlimits, d.policer?.overlimits)),
    ]);
  }
  if (!out.length)
    out.push([
      s.ifname,
      s.exists ? '(none)' : '(no such interface)',
      ...TABLE_COLUMNS.slice(2).map(() => '-'),
    ]);
  return out;
}

/** Left-aligned text columns, right-aligned counters, two spaces apart. */
export function formatTable(statuses: readonly QosStatus[]): string {
  const body = statuses.flatMap(rows);
  const all = [[...TABLE_COLUMNS], ...body];
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const numeric = new Set([7, 8, 9, 10]);
  return all
    .map((r) =>
      r
        .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
