// The limits of the kernel's tc numbers, one place for each. The engine (native/) enforces the
// same ones and refuses what lies beyond: native/qdisc/tbf.cc (burst, minburst and limit in 32
// bits), native/action/police.cc (a bucket under 2^32-1 ticks). This module is the one source
// on the TypeScript side: the annotation bounds (annotations.ts) and the policy (policy.ts)
// derive from it, so what validation accepts the engine applies, and
// test/unit/qos/tc-limits.test.ts checks the engine's encoder against every bound here.

/** The largest value of the kernel's 32-bit fields. */
export const U32_MAX = 0xffff_ffff;

/** psched ticks per microsecond (64 ns ticks): /proc/net/psched on every kernel with hrtimers. */
export const PSCHED_TICKS_PER_USEC = 15.625;

/** A TBF bucket (TCA_TBF_BURST) and peak bucket (TCA_TBF_PBURST), bytes: 32 bits. */
export const MAX_TBF_BURST_BYTES = U32_MAX;
/** A TBF queue (tc_tbf_qopt.limit), bytes: 32 bits. */
export const MAX_TBF_LIMIT_BYTES = U32_MAX;
/** Buckets as time (tc_tbf_qopt.buffer and mtu, tc_police.burst, the packet burst): 32-bit ticks. */
export const MAX_TICKS = U32_MAX;
/** The longest bucket in time the kernel keeps and reports back: 2^32-1 ticks of 64 ns, ~274.9 s. */
export const MAX_BUCKET_SECONDS = MAX_TICKS / (PSCHED_TICKS_PER_USEC * 1e6);
/** A policer's packet burst, packets (the engine's bound: 32 bits). */
export const MAX_PACKET_BURST = U32_MAX;
/** The lowest rate the engine takes, bit/s (1 byte/s). */
export const MIN_RATE_BPS = 8;

/** Ticks to drain `size` units (bytes, packets) at `perSecond`, as the engine computes them. */
export const transmitTicks = (size: number, perSecond: number): number =>
  ((1e6 * size) / perSecond) * PSCHED_TICKS_PER_USEC;

/** Whether a bucket of `size` at `perSecond` is under 2^32-1 ticks (the police encoder's test). */
export const bucketFits = (size: number, perSecond: number): boolean =>
  transmitTicks(size, perSecond) < MAX_TICKS;

/** The largest whole bucket that fits at `perSecond` (see bucketFits). */
export function largestBucket(perSecond: number): number {
  // A bisection, not a count down: above 2^53 (rates over ~33 Tbit/s) size - 1 === size.
  let fits = 0;
  let fitsNot = Math.ceil(perSecond * MAX_BUCKET_SECONDS * (1 + 1e-9)) + 2;
  for (;;) {
    const mid = Math.floor((fits + fitsNot) / 2);
    if (mid === fits || mid === fitsNot) return fits;
    if (bucketFits(mid, perSecond)) fits = mid;
    else fitsNot = mid;
  }
}
