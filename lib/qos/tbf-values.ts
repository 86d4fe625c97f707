/**
 * TBF (token bucket filter) parameters from a rate and a burst, two ways:
 *
 * - calicoTbf: Calico Felix's GetTBFValues + makeTBF (felix/dataplane/linux/qos/qos.go), the same
 *   float64 operations in the same order, so the numbers match Calico's to the unit. Its quirks
 *   are kept on purpose: `limit` adds the bucket in psched *ticks* to a byte count, both the
 *   transmit time and the tick count saturate at 2^32-1, and the peakrate limit is computed from
 *   the minburst as given, before makeTBF raises minburst to MTU+14.
 * - tcTbf: what `tc qdisc add ... tbf rate R burst B latency 25ms` computes (iproute2
 *   tc/q_tbf.c + tc_core.c): limit = rate*latency + burst bytes, ticks = ceil(...) capped at
 *   2^32-1, and the burst in bytes for TCA_TBF_BURST, which the kernel prefers over the ticks.
 *
 * Units: rates in, bit/s; rates out, bytes/s. Bursts in, bits; minburst in and out, bytes.
 * `buffer` and `mtu` out are psched ticks (tick_in_usec ticks per microsecond).
 */

import { NetqosError } from '../errors';
import { PSCHED_TICKS_PER_USEC, U32_MAX } from './tc-limits';

/** Ticks per microsecond on every kernel since 2.6.x with hrtimers: /proc/net/psched "3e8 40 f4240". */
export const PSCHED_TICK_IN_USEC = PSCHED_TICKS_PER_USEC;
/** Calico's and the CNI plugin's fixed queueing latency, in microseconds (latencyMillis = 25). */
export const CALICO_LATENCY_USEC = 25_000;
export const MAX_UINT32 = U32_MAX;
/** Calico raises minburst to MTU + the Ethernet header, the largest frame TBF must pass. */
export const ETHERNET_HEADER_BYTES = 14;

const USEC_PER_SEC = 1_000_000;

export interface TbfInput {
  /** Rate, bit/s. */
  rateBps: number;
  /** Bucket size, bits. */
  burstBits: number;
  /** Peak rate, bit/s (optional). */
  peakrateBps?: number;
  /** Peak bucket, bytes (optional; needs peakrateBps). */
  minburstBytes?: number;
  /** Interface MTU; required with a peak rate, since minburst must hold MTU+14 bytes. */
  mtu?: number;
  /** psched ticks per microsecond; see tickInUsecFromPsched. Default 15.625. */
  tickInUsec?: number;
}

export interface TbfValues {
  /** Bytes/s (TCA_TBF_PARMS rate, plus TCA_TBF_RATE64 at or above 2^32). */
  rate: number;
  /** Bucket in psched ticks (TCA_TBF_PARMS buffer). */
  buffer: number;
  /** Queue limit, bytes (TCA_TBF_PARMS limit). */
  limit: number;
  /** Bytes/s, 0 without a peak rate (TCA_TBF_PARMS peakrate, TCA_TBF_PRATE64). */
  peakrate: number;
  /** Peak bucket, bytes, 0 without a peak rate (TCA_TBF_PBURST). */
  minburst: number;
}

export interface TcTbfInput extends TbfInput {
  /** Queueing latency that sizes the limit, microseconds. Default 25 ms, as Calico and the CNI plugin. */
  latencyUsec?: number;
}

export interface TcTbfValues extends TbfValues {
  /** Bucket, bytes (TCA_TBF_BURST; the kernel derives its buffer from this when present). */
  burst: number;
  /** Peak bucket in ticks (TCA_TBF_PARMS mtu), 0 without a peak rate. */
  mtu: number;
}

export class TbfValuesError extends NetqosError {
  readonly code = 'ERR_NETQOS_TBF_VALUES';

  constructor(message: string) {
    super(message);
    this.name = 'TbfValuesError';
  }
}

function requireCount(name: string, value: number | undefined, optional = false): number {
  if (value === undefined && optional) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TbfValuesError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function requireTick(value: number | undefined): number {
  const tick = value ?? PSCHED_TICK_IN_USEC;
  if (!Number.isFinite(tick) || tick <= 0)
    throw new TbfValuesError(`tickInUsec must be positive, got ${tick}`);
  return tick;
}

function requireMtu(mtu: number | undefined): number {
  if (mtu === undefined) {
    throw new TbfValuesError(
      'mtu is required with a peak rate: minburst must hold a full frame (MTU+14 bytes)',
    );
  }
  return requireCount('mtu', mtu);
}

/** Go's uint32(f) for 0 <= f <= MaxUint32: truncation toward zero (NaN taken as 0). */
const goUint32 = (value: number): number => (Number.isNaN(value) ? 0 : Math.trunc(value));

/** Go's min(f, math.MaxUint32) then uint32(...), the clamp-and-convert Calico uses everywhere. */
const saturateUint32 = (value: number): number => goUint32(Math.min(value, MAX_UINT32));

/**
 * Calico's TBF numbers for a rate and burst (and optionally peakrate/minburst), exactly as
 * GetTBFValues computes them and makeTBF validates and adjusts them. Throws TbfValuesError where
 * makeTBF refuses ("invalid value(s) for TokenBucketState"): a zero rate, buffer or limit, e.g. a
 * bucket too small to last one tick at the rate.
 */
export function calicoTbf(input: TbfInput): TbfValues {
  const tick = requireTick(input.tickInUsec);
  const rateBytes = Math.floor(requireCount('rateBps', input.rateBps) / 8);
  const burstBytes = Math.floor(requireCount('burstBits', input.burstBits) / 8);
  const peakrateBps = requireCount('peakrateBps', input.peakrateBps, true);
  const minburstBytes = requireCount('minburstBytes', input.minburstBytes, true);
  if (minburstBytes > MAX_UINT32)
    throw new TbfValuesError(`minburstBytes must fit in 32 bits, got ${minburstBytes}`);

  const timeToBurstUsec = saturateUint32((burstBytes * USEC_PER_SEC) / rateBytes);
  const buffer = saturateUint32(timeToBurstUsec * tick);
  // Calico adds the tick count, not the burst in bytes: kept for fidelity.
  let limit = saturateUint32((rateBytes * CALICO_LATENCY_USEC) / USEC_PER_SEC + buffer);

  let peakrateBytes = 0;
  if (peakrateBps !== 0) {
    peakrateBytes = Math.floor(peakrateBps / 8);
    if (peakrateBytes === 0) throw new TbfValuesError(`peakrate ${peakrateBps} bit/s is below 1 byte/s`);
    const minburstTimeUsec = saturateUint32((minburstBytes * USEC_PER_SEC) / peakrateBytes);
    const minburstBuffer = saturateUint32(minburstTimeUsec * tick);
    const peakrateLimit = saturateUint32(
      (peakrateBytes * CALICO_LATENCY_USEC) / USEC_PER_SEC + minburstBuffer,
    );
    if (peakrateLimit < limit) limit = peakrateLimit;
  }

  if (limit <= 0 || rateBytes <= 0 || buffer <= 0 || (peakrateBytes === 0 && minburstBytes !== 0)) {
    throw new TbfValuesError(
      `invalid value(s) for TokenBucketState {Rate:${rateBytes} Buffer:${buffer} Limit:${limit} ` +
        `Peakrate:${peakrateBytes} Minburst:${minburstBytes}}, ` +
        'verify bandwidth, burst, peakrate and minburst configuration',
    );
  }

  let minburst = minburstBytes;
  if (peakrateBytes > 0) {
    const fullFrame = requireMtu(input.mtu) + ETHERNET_HEADER_BYTES;
    if (minburst < fullFrame) minburst = fullFrame;
  }
  return { rate: rateBytes, buffer, limit, peakrate: peakrateBytes, minburst };
}

/** iproute2 tc_calc_xmittime: ticks to send `sizeBytes` at `rateBytes`, rounded up, capped. */
function tcTransmitTicks(rateBytes: number, sizeBytes: number, tick: number): number {
  const ticks = Math.ceil(USEC_PER_SEC * (sizeBytes / rateBytes) * tick);
  return ticks > MAX_UINT32 ? MAX_UINT32 : ticks;
}

/**
 * The TBF numbers `tc` computes for `rate R burst B latency L` (plus `peakrate P minburst M`):
 * limit = R*L + B bytes (with a peak rate, the smaller of that and P*L + M). Ticks are computed
 * from the full 64-bit rate (iproute2 uses the 32-bit-capped one, which only matters above
 * 34 Gbit/s, where the kernel uses TCA_TBF_BURST anyway). A limit beyond 2^32-1 saturates.
 * With a peak rate, minburst is raised to MTU+14 as Calico does, so one full frame always fits.
 */
export function tcTbf(input: TcTbfInput): TcTbfValues {
  const tick = requireTick(input.tickInUsec);
  const latencyUsec = requireCount('latencyUsec', input.latencyUsec ?? CALICO_LATENCY_USEC);
  const rateBytes = Math.floor(requireCount('rateBps', input.rateBps) / 8);
  const burstBytes = Math.floor(requireCount('burstBits', input.burstBits) / 8);
  const peakrateBps = requireCount('peakrateBps', input.peakrateBps, true);
  const minburstInput = requireCount('minburstBytes', input.minburstBytes, true);

  if (rateBytes === 0) throw new TbfValuesError(`rate ${input.rateBps} bit/s is below 1 byte/s`);
  if (burstBytes === 0) throw new TbfValuesError(`burst ${input.burstBits} bits is below 1 byte`);
  if (burstBytes > MAX_UINT32) throw new TbfValuesError(`burst ${burstBytes} bytes does not fit in 32 bits`);

  const buffer = tcTransmitTicks(rateBytes, burstBytes, tick);
  let limit = (rateBytes * latencyUsec) / USEC_PER_SEC + burstBytes;

  let peakrateBytes = 0;
  let minburst = 0;
  let mtu = 0;
  if (peakrateBps !== 0) {
    peakrateBytes = Math.floor(peakrateBps / 8);
    if (peakrateBytes === 0) throw new TbfValuesError(`peakrate ${peakrateBps} bit/s is below 1 byte/s`);
    minburst = Math.max(minburstInput, requireMtu(input.mtu) + ETHERNET_HEADER_BYTES);
    if (minburst > MAX_UINT32) throw new TbfValuesError(`minburst ${minburst} bytes does not fit in 32 bits`);
    const peakLimit = (peakrateBytes * latencyUsec) / USEC_PER_SEC + minburst;
    if (peakLimit < limit) limit = peakLimit;
    mtu = tcTransmitTicks(peakrateBytes, minburst, tick);
  } else if (minburstInput !== 0) {
    throw new TbfValuesError('minburst needs a peak rate');
  }

  return {
    rate: rateBytes,
    buffer,
    limit: saturateUint32(limit),
    peakrate: peakrateBytes,
    minburst,
    burst: burstBytes,
    mtu,
  };
}

/**
 * Ticks per microsecond from the text of /proc/net/psched ("t2us us2t clock_res hz", hex), the
 * way iproute2's tc_core_init and vishvananda/netlink compute it. Pure: the caller reads the file.
 */
export function tickInUsecFromPsched(contents: string): number {
  const [t2us, us2t, resolution] = contents.trim().split(/\s+/);
  const hex = (field: string | undefined): field is string =>
    field !== undefined && /^[0-9a-fA-F]{1,8}$/.test(field);
  if (!hex(t2us) || !hex(us2t) || !hex(resolution)) {
    throw new TbfValuesError(`unexpected /proc/net/psched contents: ${JSON.stringify(contents)}`);
  }
  const usecToTicks = parseInt(us2t, 16);
  const clockResolution = parseInt(resolution, 16);
  // Compatibility hack of the kernel for old tc binaries: 1000 means 1 at nanosecond resolution.
  const ticksToUsec = clockResolution === 1_000_000_000 ? usecToTicks : parseInt(t2us, 16);
  if (usecToTicks === 0) throw new TbfValuesError('unexpected /proc/net/psched contents: zero divisor');
  return (ticksToUsec / usecToTicks) * (clockResolution / USEC_PER_SEC);
}
