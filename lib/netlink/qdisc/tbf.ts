import type { QdiscCommon } from '../types';

/**
 * Token bucket filter (tc-tbf(8)). Units: rates in bit/s, sizes in bytes, time in microseconds.
 * Give `limit` or `latencyUs` (tc's "limit" / "latency"); the engine computes buffer ticks
 * and limit exactly as iproute2 does for the same command line.
 */
export interface TbfQdisc extends QdiscCommon {
  kind: 'tbf';
  /** Sustained rate, bit/s (64-bit rates above 34.4 Gbit/s are supported). */
  rate: number;
  /** Bucket size, bytes. */
  burst: number;
  /** Queue size, bytes. Exclusive with latencyUs. */
  limit?: number;
  /** Longest time a packet may wait, microseconds; the limit is derived from it. */
  latencyUs?: number;
  /** Peak rate, bit/s, above rate; needs minburst. */
  peakrate?: number;
  /** Peak bucket (tc's "mtu"/"minburst"), bytes, at least the MTU. */
  minburst?: number;
  /** Minimum packet unit, bytes. */
  mpu?: number;
}
