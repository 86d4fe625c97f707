import { ownFields, type QdiscKind } from '../kind';
import type { QdiscCommon } from '../types';
import { formatRate, formatTime } from '../units';

/** Random loss: each packet is lost with `percent` probability (0..100), optionally correlated. */
export interface NetemRandomLoss {
  model?: 'random';
  percent: number;
  correlation?: number;
}

/** 4-state Markov loss (tc's `loss state p13 p31 p32 p23 p14`), percentages. */
export interface NetemStateLoss {
  model: 'state';
  p13: number;
  /** Default 100 - p13. */
  p31?: number;
  p32?: number;
  /** Default 100. */
  p23?: number;
  p14?: number;
}

/** Gilbert-Elliott loss (tc's `loss gemodel p r 1-h 1-k`), percentages. */
export interface NetemGemodelLoss {
  model: 'gemodel';
  p: number;
  /** Default 100 - p. */
  r?: number;
  /** Default 100 (no loss in the bad state's complement). */
  oneMinusH?: number;
  /** Default 0. */
  oneMinusK?: number;
}

/** Slotting: packets leave in bursts at slot boundaries (times in microseconds). */
export type NetemSlot = {
  /** Packets per slot at most. */
  packets?: number;
  /** Bytes per slot at most. */
  bytes?: number;
} & (
  | { minDelayUs: number; maxDelayUs?: number; distribution?: never }
  | { distribution: 'normal' | 'pareto' | 'paretonormal' | number[]; delayUs: number; jitterUs: number }
);

/**
 * Network emulation (tc-netem(8)). Times in microseconds, rates in bit/s, percentages 0..100
 * (read back to a millionth of a percent). A distribution table is not read back.
 */
export interface NetemQdisc extends QdiscCommon {
  kind: 'netem';
  /** Packets queued at most; default 1000 (tc's). */
  limit?: number;
  delayUs?: number;
  jitterUs?: number;
  delayCorrelation?: number;
  /** How jitter is spread: a table netqos computes as iproute2 does, or the table's values. */
  distribution?: 'normal' | 'pareto' | 'paretonormal' | number[];
  loss?: NetemRandomLoss | NetemStateLoss | NetemGemodelLoss;
  /** Mark ECN-capable packets instead of losing them. */
  ecn?: boolean;
  duplicate?: number;
  duplicateCorrelation?: number;
  /** Packets sent at once, ahead of the delayed ones (needs delayUs). */
  reorder?: number;
  reorderCorrelation?: number;
  /** Reorder every gap-th packet; default 1. */
  gap?: number;
  corrupt?: number;
  corruptCorrelation?: number;
  /** Link rate, bit/s (64-bit rates too), with per-packet and per-cell overheads. */
  rate?: number;
  packetOverhead?: number;
  cellSize?: number;
  cellOverhead?: number;
  slot?: NetemSlot;
}

const pct = (p: number) => `${+p.toFixed(6)}%`;

export const netem: QdiscKind<NetemQdisc> = {
  family: 'qdisc',
  kind: 'netem',
  fields: ownFields<NetemQdisc, QdiscCommon>()(
    'limit',
    'ecn',
    'delayUs',
    'jitterUs',
    'delayCorrelation',
    'distribution',
    'loss',
    'duplicate',
    'duplicateCorrelation',
    'reorder',
    'reorderCorrelation',
    'gap',
    'corrupt',
    'corruptCorrelation',
    'rate',
    'packetOverhead',
    'cellSize',
    'cellOverhead',
    'slot',
  ),
  restorable: true,
  describe(q) {
    const parts: string[] = [];
    if (q.limit !== undefined) parts.push(`limit ${q.limit}`);
    if (q.delayUs !== undefined) {
      parts.push(`delay ${formatTime(q.delayUs)}`);
      if (q.jitterUs) parts.push(formatTime(q.jitterUs));
      if (q.delayCorrelation) parts.push(pct(q.delayCorrelation));
    }
    if (q.distribution)
      parts.push(`distribution ${typeof q.distribution === 'string' ? q.distribution : 'custom'}`);
    if (q.loss) {
      const l = q.loss;
      if (l.model === 'state') parts.push(`loss state ${pct(l.p13)}`);
      else if (l.model === 'gemodel') parts.push(`loss gemodel ${pct(l.p)}`);
      else parts.push(`loss ${pct(l.percent)}${l.correlation ? ` ${pct(l.correlation)}` : ''}`);
    }
    if (q.ecn) parts.push('ecn');
    if (q.duplicate) parts.push(`duplicate ${pct(q.duplicate)}`);
    if (q.reorder) parts.push(`reorder ${pct(q.reorder)}${q.gap ? ` gap ${q.gap}` : ''}`);
    if (q.corrupt) parts.push(`corrupt ${pct(q.corrupt)}`);
    if (q.rate) parts.push(`rate ${formatRate(q.rate)}`);
    if (q.slot) parts.push('slot');
    return parts.join(' ');
  },
};
