// tc's unit syntax (lib/netlink/units.ts): what people type ("10mbit", "32kb", "25ms") to the
// engine's plain numbers, and numbers back to tc-style text for descriptions.
import fc from 'fast-check';
import { bytesOfTicks, formatRate, formatSize, rate, size, sizeText, time } from '../../lib/netlink/units';

describe('rates: bit/s', () => {
  test("tc's decimal and binary units, bits and bytes, any case and blanks", () => {
    expect(rate('10mbit')).toBe(10_000_000);
    expect(rate('10Mbit')).toBe(10_000_000);
    expect(rate(' 1.5 gbit ')).toBe(1_500_000_000);
    expect(rate('500kbit')).toBe(500_000);
    expect(rate('2tbit')).toBe(2e12);
    expect(rate('1kibit')).toBe(1024);
    expect(rate('1mibit')).toBe(1024 ** 2);
    expect(rate('1mbps')).toBe(8_000_000);
    expect(rate('1kibps')).toBe(8192);
    expect(rate('100bit')).toBe(100);
  });

  test('a bare number is bit/s (tc would read bytes/s); a number passes through', () => {
    expect(rate('1000')).toBe(1000);
    expect(rate(12_345)).toBe(12_345);
    expect(rate(0)).toBe(0);
  });

  test('fractions are rounded to whole bit/s', () => {
    expect(rate('1.0000004kbit')).toBe(1000);
    expect(rate('0.0015kbit')).toBe(2);
  });

  test('anything else is a RangeError naming the input and the units', () => {
    expect(() => rate('10 megabits')).toThrow(RangeError);
    expect(() => rate('10 megabits')).toThrow(/rate: "10 megabits" is not understood .*units: bit, kbit/);
    expect(() => rate('-5mbit')).toThrow(RangeError);
    expect(() => rate('')).toThrow(RangeError);
    expect(() => rate('1e6')).toThrow(RangeError);
    for (const n of [-1, NaN, Infinity]) expect(() => rate(n)).toThrow(/must be a non-negative number/);
  });
});

describe('sizes: bytes', () => {
  test("tc's binary k, m, g; b is bytes; kbit style sizes are bits", () => {
    expect(size('32kb')).toBe(32_768);
    expect(size('32k')).toBe(32_768);
    expect(size('1mb')).toBe(1024 ** 2);
    expect(size('2g')).toBe(2 * 1024 ** 3);
    expect(size('1514')).toBe(1514);
    expect(size('1514b')).toBe(1514);
    expect(size('8kbit')).toBe(1024);
    expect(size(64)).toBe(64);
  });

  test('unknown units are refused', () => {
    expect(() => size('1tb')).toThrow(/size: "1tb" is not understood/);
    expect(() => size('1 kilobyte')).toThrow(RangeError);
  });
});

describe('times: microseconds', () => {
  test('s, ms, us and their long forms; a bare number is microseconds, as tc reads it', () => {
    expect(time('25ms')).toBe(25_000);
    expect(time('1s')).toBe(1_000_000);
    expect(time('2secs')).toBe(2_000_000);
    expect(time('500us')).toBe(500);
    expect(time('1.5msec')).toBe(1500);
    expect(time('40')).toBe(40);
  });

  test('minutes are not a tc unit', () => {
    expect(() => time('1min')).toThrow(/time: "1min" is not understood .*units: s, sec/);
  });
});

describe('back to text', () => {
  test('formatRate: the largest decimal unit, three decimals at most', () => {
    expect(formatRate(10_000_000)).toBe('10Mbit');
    expect(formatRate(1_500)).toBe('1.5Kbit');
    expect(formatRate(1_234_567)).toBe('1.235Mbit');
    expect(formatRate(2e12)).toBe('2Tbit');
    expect(formatRate(999)).toBe('999bit');
    expect(formatRate(0)).toBe('0bit');
  });

  test("formatSize: tc's binary units where they fit whole kilobytes", () => {
    expect(formatSize(32_768)).toBe('32Kb');
    expect(formatSize(1536)).toBe('1.5Kb');
    expect(formatSize(1024 ** 2)).toBe('1Mb');
    expect(formatSize(1000)).toBe('1000b');
  });

  test('sizeText: bytes exactly, in the largest unit that says them exactly', () => {
    expect(sizeText(12_500)).toBe('12500b');
    expect(sizeText(1536)).toBe('1536b');
    expect(sizeText(32_768)).toBe('32Kb');
    expect(sizeText(1.5 * 1024 ** 2)).toBe('1.5Mb');
    // 1025 KiB: "1.001Mb" would be 25 bytes too many.
    expect(sizeText(1025 * 1024)).toBe('1025Kb');
    expect(sizeText(1024 ** 3 + 1024 ** 2)).toBe('1025Mb');
  });

  test('sizeText reads back as the same number of bytes, for any size', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.nat(),
          fc.nat({ max: 2 ** 22 }).map((k) => k * 1024),
        ),
        (bytes) => {
          expect(size(sizeText(bytes))).toBe(bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('formatRate reads back within its rounding (0.05%)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 2 ** 53 - 1 }), (bits) => {
        expect(Math.abs(rate(formatRate(bits)) - bits) / bits).toBeLessThanOrEqual(0.0005);
      }),
    );
  });

  test('bytesOfTicks: a bucket of raw ticks (64 ns each) at a rate, in bytes', () => {
    // One second is 15,625,000 ticks: at 10 Mbit/s, 1.25 MB.
    expect(bytesOfTicks(10_000_000, 15_625_000)).toBe(1_250_000);
    expect(bytesOfTicks(10_000_000, 156_250)).toBe(12_500);
    expect(bytesOfTicks(0, 1000)).toBe(0);
  });
});
