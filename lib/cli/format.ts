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
//                    "nftables": [ { "description": "add rule netdev netqos from-cali0-7: rate ip",
//                                    "operation": { "op": "add", "rule": { ... } } } ],
//                    "enforcedBy": { "bandwidth": "tc", "packetRate": "nftables", ... },
//                    "warnings": [ "..." ] } ] }
//   "operation" is the library's Operation (lib/netlink/types.ts) or NftOperation
//   (lib/nftables/types.ts) exactly as netqos sends it.
//
// show (--json):
//   { "version": 1, "interfaces": [ QosStatus, ... ] }
//   QosStatus (lib/qos/qos.ts): { "ifname", "netns": string | null, "exists": boolean,
//     "ingress": { "bandwidth"?, "burst"?, "limit"?, "peakrate"?, "minburst"?, "packetRate"?,
//                  "packetBurst"?, "maxConnections"?, "enforcedBy"?: { control: "tc" | "nftables" },
//                  "shaper"?: Stats, "policer"?: Stats, "packetRateDrops"?, "rejectedConnections"? },
//     "egress": { ...the same, "ifb"?: string, "dscp"?: number, "remarkedPackets"? },
//     "foreign": { "root"?: string, "filters": number } }
//   Rates in bit/s, burst/limit/minburst in bytes, packet rate in packets/s; Stats: { bytes,
//   packets, drops, overlimits, requeues, backlog, qlen }. "ingress" is traffic to the pod (the
//   TBF at the interface's root), "egress" traffic from it (the IFB's TBF). Absent fields mean
//   "no such control".
import type { Operation } from '../netlink';
import type { NftOperation } from '../nftables';
import {
  describeQosNftOperation,
  describeQosOperation,
  type Enforcement,
  type QosStatus,
  type TargetPlan,
} from '../qos';

export const JSON_VERSION = 1;

export interface TargetJson {
  ifname: string;
  netns: string | null;
  operations: { description: string; operation: Operation }[];
  nftables: { description: string; operation: NftOperation }[];
  enforcedBy: Enforcement;
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
      operations: t.operations.map((operation) => ({
        description: describeQosOperation(operation),
        operation,
      })),
      nftables: t.nftables.map((operation) => ({
        description: describeQosNftOperation(operation),
        operation,
      })),
      enforcedBy: t.enforcedBy,
      warnings: [...t.warnings],
    })),
  };
}

/** The human form of apply/plan/clear: one line per operation, or `no change`. */
export function formatResult(targets: readonly TargetPlan[]): string {
  const lines = targets.flatMap((t) => [
    ...t.operations.map(describeQosOperation),
    ...t.nftables.map(describeQosNftOperation),
  ]);
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

/**
 * The other tools' objects on each interface, a line each, described by their kinds
 * ("cali0 also carries: root qdisc netem 1: delay 50ms loss 10%; 2 other filters"); '' if none.
 */
export function formatForeign(statuses: readonly QosStatus[]): string {
  return statuses
    .flatMap((s) => {
      const parts = [
        ...(s.foreign.root ? [`root qdisc ${s.foreign.root}`] : []),
        ...(s.foreign.filters
          ? [`${s.foreign.filters} other filter${s.foreign.filters === 1 ? '' : 's'}`]
          : []),
      ];
      return parts.length ? [`${s.ifname} also carries: ${parts.join('; ')}\n`] : [];
    })
    .join('');
}
