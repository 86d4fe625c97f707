// QoS plans and status for people: one line per operation (netqos's IFB group deletion said
// plainly) and the status table that `netqos show` and the lab print.
import { describeOperation, formatRate, linkTarget, sizeText, type Operation, type Stats } from '../netlink';
import { describeNft, type NftOperation } from '../nftables';
import { dscpText } from '../netlink/dsfield';
import { ruleRole } from './nft-policy';
import { NETQOS_DOOMED_GROUP } from './policy';
import type { DirectionStatus, QosStatus } from './qos';

/** One line per operation, e.g. `replace tbf qdisc on cali0 root: rate 10Mbit burst 12500b limit 43750b`. */
export function describeQosOperation(op: Operation): string {
  // IFBs are deleted together: each is moved to netqos's doomed group, then the group goes.
  if ('link' in op && op.op === 'change' && op.link.group === NETQOS_DOOMED_GROUP)
    return `delete link ${linkTarget(op.link)} (with the others below)`;
  if ('link' in op && op.op === 'delete' && 'group' in op.link && op.link.group === NETQOS_DOOMED_GROUP)
    return 'delete the links above, in one step';
  return describeOperation(op);
}

/** One line per nftables operation, e.g. `add rule inet netqos from-cali0-7: rate ip`. */
export function describeQosNftOperation(op: NftOperation): string {
  const role = 'rule' in op ? ruleRole((op.rule as { comment?: string }).comment) : undefined;
  return role ? `${describeNft(op)}: ${role}` : describeNft(op);
}

/** True when the interface carries any netqos control. */
export function hasQos(s: QosStatus): boolean {
  return hasControl(s.ingress) || hasControl(s.egress) || s.egress.ifb !== undefined;
}

/** Whether a direction has a control: a bandwidth, a packet rate, a DSCP or a connection limit. */
export function hasControl(d: DirectionStatus & { dscp?: number }): boolean {
  return (
    d.bandwidth !== undefined ||
    d.packetRate !== undefined ||
    d.dscp !== undefined ||
    d.maxConnections !== undefined
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
  'MAX CONN',
  'BYTES',
  'PACKETS',
  'DROPS',
  'OVERLIMITS',
  'RESETS',
  'DATAPLANE',
] as const;

const sum = (...xs: (number | undefined)[]) =>
  xs.some((x) => x !== undefined) ? xs.reduce<number>((a, x) => a + (x ?? 0), 0) : undefined;
const text = (v: string | number | undefined) => (v === undefined ? '-' : String(v));

/** "tc", "nftables" or "tc+nftables": what enforces the direction's controls. */
function dataplanes(d: DirectionStatus): string {
  const used = new Set(Object.values(d.enforcedBy ?? {}));
  return ['tc', 'nftables'].filter((x) => used.has(x as never)).join('+') || '-';
}

/**
 * One row per interface and direction that has a control. BYTES and PACKETS are what the shaper
 * passed (the policer's count when there is no shaper); DROPS adds up the shaper's drops and the
 * packets over the packet rate (tc's policer or nftables' limit), OVERLIMITS the shaper's and the
 * policer's; RESETS counts connections reset over MAX CONN.
 */
function rows(s: QosStatus): string[][] {
  const out: string[][] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const d: DirectionStatus & { dscp?: number } = s[direction];
    const dscp = direction === 'egress' ? s.egress.dscp : undefined;
    if (!hasControl(d)) continue;
    const counted: Stats | undefined = d.shaper ?? d.policer;
    out.push([
      s.ifname,
      direction,
      d.bandwidth !== undefined ? formatRate(d.bandwidth) : '-',
      d.burst !== undefined ? sizeText(d.burst) : '-',
      d.limit !== undefined ? sizeText(d.limit) : '-',
      d.packetRate !== undefined ? `${d.packetRate}pps/${d.packetBurst ?? 5}` : '-',
      dscp !== undefined ? dscpText(dscp) : '-',
      text(d.maxConnections),
      text(counted?.bytes),
      text(counted?.packets),
      text(sum(d.shaper?.drops, d.packetRateDrops)),
      text(sum(d.shaper?.overlimits, d.policer?.overlimits)),
      text(d.rejectedConnections),
      dataplanes(d),
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
export function formatStatusTable(statuses: readonly QosStatus[]): string {
  const body = statuses.flatMap(rows);
  const all = [[...TABLE_COLUMNS], ...body];
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const numeric = new Set([8, 9, 10, 11, 12]);
  return all
    .map((r) =>
      r
        .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
