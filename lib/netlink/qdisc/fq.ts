import { ownFields, type QdiscKind } from '../kind';
import type { QdiscCommon } from '../types';
import { formatRate, formatTime } from '../units';

/** Fair queueing with pacing (tc-fq(8)). Rates in bit/s, times in microseconds. */
export interface FqQdisc extends QdiscCommon {
  kind: 'fq';
  /** Packets queued at most; default 10000. */
  limit?: number;
  /** Packets per flow at most; default 100. */
  flowLimit?: number;
  /** Bytes per round; default 2 MTU. */
  quantum?: number;
  initialQuantum?: number;
  /** Pace flows to their sockets' rates; default on. */
  pacing?: boolean;
  /** Per-flow rate cap, bit/s. */
  maxrate?: number;
  lowRateThreshold?: number;
  refillDelayUs?: number;
  /** Hash buckets (a power of two; others round down as tc does). */
  buckets?: number;
  orphanMask?: number;
  ceThresholdUs?: number;
  timerSlackNs?: number;
  /** How far ahead of now a packet's send time may be. */
  horizonUs?: number;
  /** Beyond the horizon: drop (true) or cap the time (false). */
  horizonDrop?: boolean;
}

/** fq's extended statistics. */
export interface FqXstats {
  gcFlows: number;
  highprioPackets: number;
  tcpRetrans: number;
  throttled: number;
  flowsPlimit: number;
  pktsTooLong: number;
  allocationErrors: number;
  timeNextDelayedFlowNs: number;
  flows: number;
  inactiveFlows: number;
  throttledFlows: number;
  unthrottleLatencyNs: number;
  ceMark: number;
  horizonDrops: number;
  horizonCaps: number;
}

export const fq: QdiscKind<FqQdisc> = {
  family: 'qdisc',
  kind: 'fq',
  fields: ownFields<FqQdisc, QdiscCommon>()(
    'limit',
    'quantum',
    'ceThresholdUs',
    'flowLimit',
    'initialQuantum',
    'pacing',
    'maxrate',
    'lowRateThreshold',
    'refillDelayUs',
    'buckets',
    'orphanMask',
    'timerSlackNs',
    'horizonUs',
    'horizonDrop',
  ),
  restorable: true,
  describe(q) {
    const parts: string[] = [];
    if (q.limit !== undefined) parts.push(`limit ${q.limit}p`);
    if (q.flowLimit !== undefined) parts.push(`flow_limit ${q.flowLimit}p`);
    if (q.buckets !== undefined) parts.push(`buckets ${q.buckets}`);
    if (q.quantum !== undefined) parts.push(`quantum ${q.quantum}`);
    if (q.initialQuantum !== undefined) parts.push(`initial_quantum ${q.initialQuantum}`);
    if (q.pacing === false) parts.push('nopacing');
    if (q.maxrate !== undefined) parts.push(`maxrate ${formatRate(q.maxrate)}`);
    if (q.lowRateThreshold !== undefined) parts.push(`low_rate_threshold ${formatRate(q.lowRateThreshold)}`);
    if (q.refillDelayUs !== undefined) parts.push(`refill_delay ${formatTime(q.refillDelayUs)}`);
    if (q.ceThresholdUs !== undefined) parts.push(`ce_threshold ${formatTime(q.ceThresholdUs)}`);
    if (q.horizonUs !== undefined) parts.push(`horizon ${formatTime(q.horizonUs)}`);
    if (q.horizonDrop !== undefined) parts.push(q.horizonDrop ? 'horizon_drop' : 'horizon_cap');
    return parts.join(' ');
  },
};
