import { ownFields, type QdiscKind } from '../kind';
import type { QdiscCommon } from '../types';
import { formatTime } from '../units';

/** Controlled delay AQM on one queue (tc-codel(8)). Times in microseconds. */
export interface CodelQdisc extends QdiscCommon {
  kind: 'codel';
  /** Packets. */
  limit?: number;
  /** Acceptable standing delay; default 5 ms. */
  targetUs?: number;
  /** Window the target applies to (about a worst-case RTT); default 100 ms. */
  intervalUs?: number;
  /** Mark ECN-capable packets instead of dropping them. */
  ecn?: boolean;
  /** Mark packets queued longer than this (DCTCP style). */
  ceThresholdUs?: number;
}

/** codel's extended statistics. */
export interface CodelXstats {
  maxPacket: number;
  count: number;
  lastcount: number;
  ldelayUs: number;
  dropNextUs: number;
  dropOverlimit: number;
  ecnMark: number;
  dropping: boolean;
  ceMark: number;
}

/** The parameters codel and fq_codel share, tc style. */
export function codelText(q: {
  limit?: number;
  targetUs?: number;
  intervalUs?: number;
  ecn?: boolean;
  ceThresholdUs?: number;
}): string[] {
  const parts: string[] = [];
  if (q.limit !== undefined) parts.push(`limit ${q.limit}p`);
  if (q.targetUs !== undefined) parts.push(`target ${formatTime(q.targetUs)}`);
  if (q.intervalUs !== undefined) parts.push(`interval ${formatTime(q.intervalUs)}`);
  if (q.ecn !== undefined) parts.push(q.ecn ? 'ecn' : 'noecn');
  if (q.ceThresholdUs !== undefined) parts.push(`ce_threshold ${formatTime(q.ceThresholdUs)}`);
  return parts;
}

export const codel: QdiscKind<CodelQdisc> = {
  family: 'qdisc',
  kind: 'codel',
  fields: ownFields<CodelQdisc, QdiscCommon>()('limit', 'ecn', 'targetUs', 'intervalUs', 'ceThresholdUs'),
  restorable: true,
  describe: (q) => codelText(q).join(' '),
};
