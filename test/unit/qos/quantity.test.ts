import { isQuantity, parseQuantity, QuantityError } from '../../../lib/qos/quantity';

const MAX_INT64 = (1n << 63n) - 1n;

describe('parseQuantity: values as resource.ParseQuantity(s).Value()', () => {
  test.each<[string, bigint]>([
    // plain numbers
    ['0', 0n],
    ['1', 1n],
    ['007', 7n],
    ['34359738360', 34359738360n],
    ['99999999999999999999', 99999999999999999999n],
    // decimal suffixes
    ['1n', 1n],
    ['1u', 1n],
    ['1m', 1n],
    ['1k', 1000n],
    ['1M', 1_000_000n],
    ['1G', 1_000_000_000n],
    ['1T', 10n ** 12n],
    ['1P', 10n ** 15n],
    ['1E', 10n ** 18n],
    ['12E', 12n * 10n ** 18n],
    ['10M', 10_000_000n],
    ['100M', 100_000_000n],
    // binary suffixes
    ['1Ki', 1024n],
    ['1Mi', 1n << 20n],
    ['1Gi', 1n << 30n],
    ['4Gi', 4294967296n],
    ['1Ti', 1n << 40n],
    ['1Pi', 1n << 50n],
    ['1Ei', 1n << 60n],
    ['3Ei', 3n << 60n],
    // decimal exponents
    ['1e3', 1000n],
    ['1E3', 1000n],
    ['1e+3', 1000n],
    ['1e03', 1000n],
    ['1e0', 1n],
    ['1E18', 10n ** 18n],
    ['1.5e3', 1500n],
    ['1.3E+6', 1_300_000n],
    ['12e-1', 2n],
    ['1e-3', 1n],
    ['0.5e0', 1n],
    // fractions
    ['1.5M', 1_500_000n],
    ['1.01k', 1010n],
    ['1.01P', 1010n * 10n ** 12n],
    ['100.035k', 100035n],
    ['10.035M', 10035000n],
    ['6.987654321G', 6987654321n],
    ['.5k', 500n],
    ['1.', 1n],
    ['1.G', 1_000_000_000n],
    ['0.5Gi', 536870912n],
    ['1.5Ki', 1536n],
    ['100.035Ki', 102436n], // 102435.84 rounds up
  ])('%s -> %s', (input, expected) => {
    expect(parseQuantity(input)).toBe(expected);
  });

  test.each<[string, bigint]>([
    ['10m', 1n],
    ['1000m', 1n],
    ['1001m', 2n],
    ['1500m', 2n],
    ['1.5', 2n],
    ['0.5', 1n],
    ['1.0000001', 2n],
    ['0.9n', 1n],
    ['0.000000000001Ki', 1n],
    ['0.001Ki', 2n], // 1.024
    ['1e-9999999', 1n],
  ])('rounds %s up to %s (away from zero)', (input, expected) => {
    expect(parseQuantity(input)).toBe(expected);
  });

  test.each<[string, bigint]>([
    ['-1', -1n],
    ['-1.5', -2n],
    ['-10m', -1n],
    ['-1k', -1000n],
    ['-1Ki', -1024n],
    ['+1k', 1000n],
    ['+1.5M', 1_500_000n],
    ['-0', 0n],
    ['+0', 0n],
    ['-0.0', 0n],
  ])('signed %s -> %s', (input, expected) => {
    expect(parseQuantity(input)).toBe(expected);
  });

  test('binary quantities are capped at 2^63-1 as apimachinery caps them', () => {
    expect(parseQuantity('8Ei')).toBe(MAX_INT64);
    expect(parseQuantity('9223372036854775807Ki')).toBe(MAX_INT64);
    expect(parseQuantity('-9Ei')).toBe(-MAX_INT64);
  });

  test('decimal quantities above 2^63-1 stay exact (Go Value() is undefined there)', () => {
    expect(parseQuantity('10E')).toBe(10n ** 19n);
    expect(parseQuantity('1e30')).toBe(10n ** 30n);
  });

  test('the exponent wraps to int32 exactly as apimachinery narrows it', () => {
    expect(parseQuantity('1e4294967296')).toBe(1n); // 2^32 wraps to 0
    expect(parseQuantity('1e4294967299')).toBe(1000n); // wraps to 3
  });

  test('values beyond 2^53 are exact', () => {
    expect(parseQuantity('9007199254740993')).toBe(9007199254740993n);
    expect(parseQuantity('1Ei') + 1n).toBe(1152921504606846977n);
  });
});

describe('parseQuantity: rejections', () => {
  test.each([
    '10Mb',
    '10 M',
    ' 1',
    '1 ',
    '1.2.3',
    '1.1.M',
    '1+1.0M',
    '0x10',
    'abc',
    'aoeu',
    '1,000',
    '1_000',
    '1e3k',
    '1kb',
    '1KiB',
    '0.1am',
    'Infinity',
    'NaN',
    '10%',
    '１０',
  ])('%j is not a quantity', (input) => {
    expect(() => parseQuantity(input)).toThrow(QuantityError);
  });

  test.each([
    '1K',
    '1i',
    '.5i',
    '-3.01i',
    '0.1mi',
    '-3.01e-',
    '1e',
    '1e+',
    '1E-',
    '1kM',
    '1Mi3',
    '1e99999999999999999999',
  ])('%j has an unknown suffix', (input) => {
    const error = catchQuantityError(() => parseQuantity(input));
    expect(error.reason).toBe('suffix');
    expect(error.goError).toBe("unable to parse quantity's suffix");
  });

  test.each(['M', 'Ki', 'k', '-', '+', '.', '-.', 'e3'])('%j has no digits: rejected by default', (input) => {
    const error = catchQuantityError(() => parseQuantity(input));
    expect(error.reason).toBe('no-digits');
    expect(error.goError).toBeUndefined(); // Go accepts it
  });

  test.each(['M', 'Ki', 'k', '-', '+', '.', '-.'])(
    '%j is 0 with acceptDigitlessAsZero, as in Go',
    (input) => {
      expect(parseQuantity(input, { acceptDigitlessAsZero: true })).toBe(0n);
    },
  );

  test('acceptDigitlessAsZero does not loosen anything else', () => {
    expect(() => parseQuantity('10Mb', { acceptDigitlessAsZero: true })).toThrow(QuantityError);
    expect(() => parseQuantity('', { acceptDigitlessAsZero: true })).toThrow(QuantityError);
  });

  test('the empty string', () => {
    const error = catchQuantityError(() => parseQuantity(''));
    expect(error.reason).toBe('empty');
    expect(error.input).toBe('');
  });

  test("format errors carry the input and apimachinery's message", () => {
    const error = catchQuantityError(() => parseQuantity('10Mb'));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('QuantityError');
    expect(error.input).toBe('10Mb');
    expect(error.reason).toBe('format');
    expect(error.goError).toContain('quantities must match the regular expression');
    expect(error.message).toContain('"10Mb"');
    expect(error.message).toContain('10M');
  });

  test('absurd magnitudes are refused rather than materialised', () => {
    expect(catchQuantityError(() => parseQuantity('1e500')).reason).toBe('too-large');
    expect(catchQuantityError(() => parseQuantity('1e2147483647')).reason).toBe('too-large');
  });

  test('a non-string input is refused', () => {
    expect(() => parseQuantity(undefined as unknown as string)).toThrow(QuantityError);
    expect(() => parseQuantity(10 as unknown as string)).toThrow(QuantityError);
  });
});

describe('isQuantity', () => {
  test('mirrors parseQuantity', () => {
    expect(isQuantity('10M')).toBe(true);
    expect(isQuantity('10Mb')).toBe(false);
    expect(isQuantity('M')).toBe(false);
    expect(isQuantity('M', { acceptDigitlessAsZero: true })).toBe(true);
  });
});

function catchQuantityError(run: () => unknown): QuantityError {
  try {
    run();
  } catch (error) {
    if (error instanceof QuantityError) return error;
    throw error;
  }
  throw new Error('expected a QuantityError');
}
