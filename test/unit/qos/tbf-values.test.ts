import {
  CALICO_LATENCY_USEC,
  calicoTbf,
  MAX_UINT32,
  PSCHED_TICK_IN_USEC,
  TbfValuesError,
  tcTbf,
  tickInUsecFromPsched,
} from '../../../lib/qos/tbf-values';

const CALICO_DEFAULT_BURST_BITS = 4294967296; // 4Gi bits
const CNI_BURST_BITS = 4294967295; // containerd passes math.MaxUint32 bits

describe('calicoTbf: golden numbers from the semantics report (section 2a table)', () => {
  test.each<[string, number, number, number]>([
    ['1 Mbit', 1_000_000, MAX_UINT32, MAX_UINT32],
    ['10 Mbit', 10_000_000, 4_294_967_295, 4_294_967_295],
    ['100 Mbit', 100_000_000, 671_088_625, 671_401_125],
    ['1 Gbit', 1_000_000_000, 67_108_859, 70_233_859],
    ['10 Gbit', 10_000_000_000, 6_710_875, 37_960_875],
  ])('%s with the 4Gi-bit default burst', (_label, rateBps, buffer, limit) => {
    expect(calicoTbf({ rateBps, burstBits: CALICO_DEFAULT_BURST_BITS })).toEqual({
      rate: rateBps / 8,
      buffer,
      limit,
      peakrate: 0,
      minburst: 0,
    });
  });

  test('the buffer saturates below about 15.6 Mbit/s', () => {
    expect(calicoTbf({ rateBps: 15_600_000, burstBits: CALICO_DEFAULT_BURST_BITS }).buffer).toBe(MAX_UINT32);
    expect(calicoTbf({ rateBps: 15_700_000, burstBits: CALICO_DEFAULT_BURST_BITS }).buffer).toBeLessThan(
      MAX_UINT32,
    );
  });

  test("limit adds the tick count, not the burst bytes (Calico's formula, kept)", () => {
    const { rate, buffer, limit } = calicoTbf({ rateBps: 100_000_000, burstBits: CALICO_DEFAULT_BURST_BITS });
    expect(limit).toBe(rate * 0.025 + buffer);
    expect(limit).not.toBe(rate * 0.025 + CALICO_DEFAULT_BURST_BITS / 8);
  });

  test('integer division of bits into bytes, truncation of microseconds and ticks', () => {
    // 1 Mbit, burst 1001 bits: 125 bytes -> 1000 us -> 15625 ticks; limit 3125 + 15625.
    expect(calicoTbf({ rateBps: 1_000_007, burstBits: 1001 })).toEqual({
      rate: 125_000,
      buffer: 15_625,
      limit: 18_750,
      peakrate: 0,
      minburst: 0,
    });
    // 15 bytes at 1.25e6 B/s = 12 us = 187.5 ticks, truncated to 187.
    expect(calicoTbf({ rateBps: 10_000_000, burstBits: 125 }).buffer).toBe(187);
  });

  test('the 1P maximum rate is representable (rate above 2^32 B/s goes in RATE64)', () => {
    const values = calicoTbf({ rateBps: 1e15, burstBits: 34359738360 });
    expect(values.rate).toBe(125_000_000_000_000);
    expect(values.rate).toBeGreaterThan(MAX_UINT32);
    // 4294967295 bytes at 1.25e14 B/s: 34.359 us -> 34 us -> 531.25 ticks -> 531.
    expect(values.buffer).toBe(531);
    expect(values.limit).toBe(MAX_UINT32); // 3.125e12 + 531 saturates
  });

  test('a custom tick rate', () => {
    expect(
      calicoTbf({ rateBps: 100_000_000, burstBits: CALICO_DEFAULT_BURST_BITS, tickInUsec: 1 }).buffer,
    ).toBe(42_949_672);
  });
});

describe('calicoTbf: peakrate and minburst', () => {
  const base = { rateBps: 10_000_000, burstBits: CALICO_DEFAULT_BURST_BITS, mtu: 1500 };

  test('the peak limit from the minburst as given (0), then minburst raised to MTU+14', () => {
    expect(calicoTbf({ ...base, peakrateBps: 20_000_000 })).toEqual({
      rate: 1_250_000,
      buffer: MAX_UINT32,
      limit: 62_500, // 2.5e6 B/s * 25 ms + 0 ticks
      peakrate: 2_500_000,
      minburst: 1514,
    });
  });

  test('a minburst above MTU+14 is kept and its ticks enter the peak limit', () => {
    // 3000 B at 2.5e6 B/s = 1200 us = 18750 ticks; 62500 + 18750.
    expect(calicoTbf({ ...base, peakrateBps: 20_000_000, minburstBytes: 3000 })).toMatchObject({
      limit: 81_250,
      minburst: 3000,
    });
  });

  test('a minburst below MTU+14 is raised after the limit was computed from it', () => {
    // 1000 B at 2.5e6 B/s = 400 us = 6250 ticks; 62500 + 6250.
    expect(calicoTbf({ ...base, peakrateBps: 20_000_000, minburstBytes: 1000 })).toMatchObject({
      limit: 68_750,
      minburst: 1514,
    });
    expect(calicoTbf({ ...base, mtu: 9000, peakrateBps: 20_000_000, minburstBytes: 1000 }).minburst).toBe(
      9014,
    );
  });

  test('the smaller of the two limits wins', () => {
    // Rate side: 125000 B at 12.5e6 B/s = 10000 us = 156250 ticks, + 312500 = 468750.
    // Peak side: 1e8 B at 1.25e8 B/s = 800000 us = 12.5e6 ticks, + 3125000 = 15625000.
    const values = calicoTbf({
      rateBps: 100_000_000,
      burstBits: 1_000_000,
      peakrateBps: 1e9,
      minburstBytes: 100_000_000,
      mtu: 1500,
    });
    expect(values.limit).toBe(468_750);
  });
});

describe('calicoTbf: what makeTBF refuses', () => {
  test('a rate below 1 byte/s', () => {
    expect(() => calicoTbf({ rateBps: 7, burstBits: 1000 })).toThrow(TbfValuesError);
  });

  test('a bucket that lasts less than a microsecond gives buffer 0', () => {
    expect(() => calicoTbf({ rateBps: 1e15, burstBits: 1000 })).toThrow(
      'invalid value(s) for TokenBucketState {Rate:125000000000000 Buffer:0 Limit:4294967295 Peakrate:0 Minburst:0}, ' +
        'verify bandwidth, burst, peakrate and minburst configuration',
    );
  });

  test('minburst without peakrate', () => {
    expect(() => calicoTbf({ rateBps: 1e6, burstBits: 1e6, minburstBytes: 1514 })).toThrow(
      /invalid value\(s\)/,
    );
  });

  test('a peakrate needs the MTU', () => {
    expect(() => calicoTbf({ rateBps: 1e6, burstBits: 1e6, peakrateBps: 2e6 })).toThrow(/mtu is required/);
  });

  test.each([
    { rateBps: -1, burstBits: 1000 },
    { rateBps: 1.5, burstBits: 1000 },
    { rateBps: Number.NaN, burstBits: 1000 },
    { rateBps: 1e6, burstBits: 2 ** 53 },
    { rateBps: 1e6, burstBits: 1e6, peakrateBps: 2e6, mtu: 1500, minburstBytes: 2 ** 32 },
    { rateBps: 1e6, burstBits: 1e6, tickInUsec: 0 },
  ])('bad input %p', (input) => {
    expect(() => calicoTbf(input)).toThrow(TbfValuesError);
  });
});

describe('tcTbf: what tc computes (limit = rate*latency + burst bytes)', () => {
  test.each<[string, number, number]>([
    ['1 Mbit', 1_000_000, 536_874_036],
    ['10 Mbit', 10_000_000, 536_902_161],
    ['100 Mbit', 100_000_000, 537_183_411],
    ['1 Gbit', 1_000_000_000, 539_995_911],
    ['10 Gbit', 10_000_000_000, 568_120_911],
  ])("%s with the CNI plugin's MaxUint32-bit burst: the report's CNI limit", (_label, rateBps, limit) => {
    const values = tcTbf({ rateBps, burstBits: CNI_BURST_BITS });
    expect(values.limit).toBe(limit);
    expect(values.burst).toBe(536_870_911);
    expect(values.rate).toBe(rateBps / 8);
  });

  test("the reference's worked example: 100mbit, burst 32 KiB, latency 25 ms", () => {
    expect(tcTbf({ rateBps: 100_000_000, burstBits: 32768 * 8 })).toEqual({
      rate: 12_500_000,
      buffer: 40_960,
      limit: 345_268,
      peakrate: 0,
      minburst: 0,
      burst: 32_768,
      mtu: 0,
    });
  });

  test('ticks are rounded up (iproute2 tc_calc_xmittime), not truncated as the CNI plugin does', () => {
    // 536870911 B at 12.5e6 B/s = 42949672.88 us = 671088638.75 ticks.
    expect(tcTbf({ rateBps: 100_000_000, burstBits: CNI_BURST_BITS }).buffer).toBe(671_088_639);
  });

  test('ticks and limit saturate at 2^32-1', () => {
    const values = tcTbf({ rateBps: 1_000_000, burstBits: 34359738360 });
    expect(values.buffer).toBe(MAX_UINT32);
    expect(values.limit).toBe(MAX_UINT32);
    expect(values.burst).toBe(4_294_967_295);
  });

  test('a configurable latency', () => {
    expect(tcTbf({ rateBps: 10_000_000, burstBits: 80_000, latencyUsec: 5000 }).limit).toBe(6250 + 10_000);
    expect(tcTbf({ rateBps: 10_000_000, burstBits: 80_000 }).limit).toBe(31_250 + 10_000);
    expect(CALICO_LATENCY_USEC).toBe(25_000);
  });

  test('peakrate: the smaller limit, minburst at least MTU+14, its ticks in mtu', () => {
    const values = tcTbf({ rateBps: 10_000_000, burstBits: 8_000_000, peakrateBps: 20_000_000, mtu: 1500 });
    expect(values).toEqual({
      rate: 1_250_000,
      buffer: 12_500_000, // 1e6 B at 1.25e6 B/s = 800000 us
      limit: 62_500 + 1514,
      peakrate: 2_500_000,
      minburst: 1514,
      burst: 1_000_000,
      mtu: 9463, // 1514 B at 2.5e6 B/s = 605.6 us = 9462.5 ticks, rounded up
    });
    expect(
      tcTbf({
        rateBps: 10_000_000,
        burstBits: 8_000,
        peakrateBps: 20_000_000,
        minburstBytes: 3000,
        mtu: 1500,
      }),
    ).toMatchObject({
      limit: 31_250 + 1000, // the rate side is smaller here
      minburst: 3000,
    });
  });

  test('refusals', () => {
    expect(() => tcTbf({ rateBps: 7, burstBits: 1000 })).toThrow(TbfValuesError);
    expect(() => tcTbf({ rateBps: 1e6, burstBits: 7 })).toThrow(TbfValuesError);
    expect(() => tcTbf({ rateBps: 1e6, burstBits: 34359738368 })).toThrow(/does not fit in 32 bits/);
    expect(() => tcTbf({ rateBps: 1e6, burstBits: 1e6, minburstBytes: 1514 })).toThrow(/needs a peak rate/);
    expect(() => tcTbf({ rateBps: 1e6, burstBits: 1e6, peakrateBps: 2e6 })).toThrow(/mtu is required/);
  });
});

describe('tickInUsecFromPsched', () => {
  test('current kernels: 1000/64 * 1e6/1e6 = 15.625', () => {
    expect(tickInUsecFromPsched('000003e8 00000040 000f4240 3b9aca00\n')).toBe(PSCHED_TICK_IN_USEC);
  });

  test('the nanosecond-resolution compatibility hack', () => {
    expect(tickInUsecFromPsched('000003e8 00000040 3b9aca00 3b9aca00')).toBe(1000);
  });

  test('an old microsecond kernel', () => {
    expect(tickInUsecFromPsched('00000001 00000001 000f4240 00000064')).toBe(1);
  });

  test.each(['', 'garbage', '000003e8 00000040', '000003e8 00000000 000f4240 0'])('refuses %j', (text) => {
    expect(() => tickInUsecFromPsched(text)).toThrow(TbfValuesError);
  });
});
