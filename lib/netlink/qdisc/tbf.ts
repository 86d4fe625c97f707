import { ownFields, type QdiscKind } from '../kind';
import type { QdiscCommon } from '../types';
import { bytesOfTicks, formatRate, sizeText } from '../units';

interface TbfFields extends QdiscCommon {
  kind: 'tbf';
  /** Sustained rate, bit/s (64-bit rates above 34.4 Gbit/s are supported). */
  rate: number;
  /** Queue size, bytes. Exclusive with latencyUs. */
  limit?: number;
  /** Longest time a packet may wait, microseconds; the limit is derived from it as tc does. */
  latencyUs?: number;
  /** Peak rate, bit/s, above rate; needs minburst. */
  peakrate?: number;
  /** Peak bucket (tc's "mtu"/"minburst"), bytes, at least the MTU. */
  minburst?: number;
  /** Minimum packet unit, bytes. */
  mpu?: number;
}

/**
 * Token bucket filter (tc-tbf(8)). Units: rates in bit/s, sizes in bytes, time in microseconds.
 * Give `limit` or `latencyUs` (tc's "limit" / "latency"); the engine computes buffer ticks and
 * limit exactly as iproute2 does for the same command line.
 */
export type TbfQdisc = TbfFields &
  (
    | {
        /** Bucket size, bytes. Reads back through the kernel's 64 ns ticks (exact up to ~1 Gbit/s). */
        burst: number;
        bufferTicks?: never;
      }
    | {
        /**
         * The bucket as raw psched ticks, with no TCA_TBF_BURST, as Calico sends it; needs limit.
         * Reads back as `burst`.
         */
        bufferTicks: number;
        burst?: never;
      }
  );

export const tbf: QdiscKind<TbfQdisc> = {
  family: 'qdisc',
  kind: 'tbf',
  fields: ownFields<TbfQdisc, QdiscCommon>()(
    'rate',
    'limit',
    'latencyUs',
    'peakrate',
    'minburst',
    'mpu',
    'burst',
    'bufferTicks',
  ),
  restorable: true,
  describe(q) {
    const parts = [`rate ${formatRate(q.rate)}`];
    if (q.burst !== undefined) parts.push(`burst ${sizeText(q.burst)}`);
    else if (q.bufferTicks !== undefined)
      parts.push(`burst ${sizeText(bytesOfTicks(q.rate, q.bufferTicks))} (buffer ${q.bufferTicks} ticks)`);
    if (q.limit !== undefined) parts.push(`limit ${sizeText(q.limit)}`);
    if (q.latencyUs !== undefined) parts.push(`latency ${q.latencyUs}us`);
    if (q.peakrate !== undefined) parts.push(`peakrate ${formatRate(q.peakrate)}`);
    if (q.minburst !== undefined) parts.push(`minburst ${sizeText(q.minburst)}`);
    return parts.join(' ');
  },
};
