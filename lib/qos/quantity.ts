/**
 * Kubernetes resource quantities ("10M", "4Gi", "1.5k", "1e3", "500m"), parsed the way
 * k8s.io/apimachinery `resource.ParseQuantity(s)` followed by `q.Value()` parses them.
 *
 * Grammar (apimachinery pkg/api/resource/quantity.go):
 *   <quantity>  ::= <sign>? <number> <suffix>
 *   <number>    ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *   <suffix>    ::= "" | n | u | m | k | M | G | T | P | E      (decimal, 1k = 1000)
 *                 | Ki | Mi | Gi | Ti | Pi | Ei                  (binary, 1Ki = 1024)
 *                 | (e|E) <sign>? <digits>                       (decimal exponent)
 * No whitespace anywhere. A lowercase `m` is milli, not mega.
 *
 * The result is the exact value rounded up, away from zero, to an integer, as `Value()` does:
 * "10m" (0.01) is 1, "-1.5" is -2, "1.5k" is 1500. It is a bigint because binary quantities go
 * past 2^53 ("1Ei" = 2^60); every value netqos keeps after bounds checking (at most 1.01P bit/s
 * and 34359738360 bits) is below 2^53 and converts to a number exactly.
 *
 * Where this differs from Go, on purpose:
 * - Go accepts a number without digits as zero ("M", "Ki", "-", ".", see kubernetes/apimachinery
 *   issue #165). This parser rejects those unless `acceptDigitlessAsZero` is set, which the
 *   Calico compatibility mode uses to reproduce Calico.
 * - Go's Value() is undefined above 2^63-1 for decimal quantities (it wraps or returns 0). Here
 *   the exact value is returned; binary quantities are capped at 2^63-1 exactly as Go caps them.
 * - A value with more than MAX_DECIMAL_DIGITS integer digits ("1e999999") is rejected with reason
 *   'too-large' rather than materialised.
 */

import { NetqosError } from '../errors';
import { quoteValue } from './errors';

export type QuantityErrorReason =
  /** Empty string. Go: ErrFormatWrong. */
  | 'empty'
  /** Does not match the grammar (whitespace, stray characters, "1.2.3", "10Mb"). Go: ErrFormatWrong. */
  | 'format'
  /** Characters in suffix position that are not a known suffix ("1K", "1i", "1e"). Go: ErrSuffix. */
  | 'suffix'
  /** A number without any digit ("M", "-", "."); Go accepts it as 0. */
  | 'no-digits'
  /** Astronomically large ("1e5000"); Go's Value() is undefined there. */
  | 'too-large';

const GO_REGEXP = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';

/** The error text apimachinery returns for the same input, where it returns one. */
const GO_ERROR_TEXT: Record<QuantityErrorReason, string | undefined> = {
  empty: `quantities must match the regular expression '${GO_REGEXP}'`,
  format: `quantities must match the regular expression '${GO_REGEXP}'`,
  suffix: "unable to parse quantity's suffix",
  'no-digits': undefined,
  'too-large': undefined,
};

const REASON_TEXT: Record<QuantityErrorReason, string> = {
  empty: 'is empty',
  format: 'is not a quantity',
  suffix: 'has an unknown unit suffix',
  'no-digits': 'has no digits',
  'too-large': 'is too large',
};

export class QuantityError extends NetqosError {
  readonly code = 'ERR_NETQOS_QUANTITY';
  /** The string that failed to parse, unchanged. */
  readonly input: string;
  readonly reason: QuantityErrorReason;
  /** What apimachinery's ParseQuantity says for this input, or undefined where Go accepts it. */
  readonly goError: string | undefined;

  constructor(input: string, reason: QuantityErrorReason) {
    super(
      `${quoteValue(input)} ${REASON_TEXT[reason]}: expected a Kubernetes quantity such as 10M, 500k, ` +
        '1.5G, 4Gi or 1e6 (decimal suffixes n u m k M G T P E, binary Ki Mi Gi Ti Pi Ei)',
    );
    this.name = 'QuantityError';
    this.input = input;
    this.reason = reason;
    this.goError = GO_ERROR_TEXT[reason];
  }
}

export interface ParseQuantityOptions {
  /**
   * Accept a number without digits ("M", "Ki", "+", ".") as zero, as apimachinery does.
   * Off by default: such a string is almost certainly a typo.
   */
  acceptDigitlessAsZero?: boolean;
}

/** Guard against materialising absurd powers of ten; Go's Value() is undefined long before this. */
export const MAX_DECIMAL_DIGITS = 400;

/** apimachinery caps binary-suffixed quantities at this value ("8Ei" parses as 2^63-1). */
const MAX_INT64 = (1n << 63n) - 1n;

const DECIMAL_SUFFIX_EXPONENTS: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const BINARY_SUFFIX_EXPONENTS: Readonly<Record<string, number>> = {
  Ki: 10,
  Mi: 20,
  Gi: 30,
  Ti: 40,
  Pi: 50,
  Ei: 60,
};

/** Characters apimachinery's scanner lets into the suffix before an optional signed exponent. */
const SUFFIX_LETTERS = 'eEinumkKMGTP';

interface ScannedQuantity {
  positive: boolean;
  /** Integer digits with leading zeros stripped; "0" when there are none. */
  integerDigits: string;
  fractionDigits: string;
  suffix: string;
  hasDigits: boolean;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** A port of apimachinery's parseQuantityString: same acceptance, same split. */
function scanQuantity(str: string): ScannedQuantity | undefined {
  const end = str.length;
  let pos = 0;
  let positive = true;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  const numberStart = pos;

  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) {
    return { positive, integerDigits: '0', fractionDigits: '', suffix: '', hasDigits: end > numberStart };
  }

  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  const integerDigits = str.slice(pos, i) || '0';
  pos = i;

  let fractionDigits = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    i = pos;
    while (i < end && isDigit(str[i])) i++;
    fractionDigits = str.slice(pos, i);
    pos = i;
  }
  const hasDigits = /[0-9]/.test(str.slice(numberStart, pos));

  const suffixStart = pos;
  while (pos < end && SUFFIX_LETTERS.includes(str.charAt(pos))) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < end && isDigit(str[pos])) pos++;
  if (pos < end) return undefined; // a character no part of the grammar can take
  return { positive, integerDigits, fractionDigits, suffix: str.slice(suffixStart), hasDigits };
}

interface Interpreted {
  base: 2 | 10;
  exponent: number;
}

/** Go strconv.ParseInt(s, 10, 64): optional sign, ASCII digits only, must fit int64. */
function parseGoInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const value = BigInt(s);
  if (value > MAX_INT64 || value < -MAX_INT64 - 1n) return undefined;
  return value;
}

/** apimachinery's suffixer.interpret: the tables first, then e/E followed by an int64. */
function interpretSuffix(suffix: string): Interpreted | undefined {
  // (Own keys only: "constructor" is no suffix.)
  const decimal = Object.hasOwn(DECIMAL_SUFFIX_EXPONENTS, suffix)
    ? DECIMAL_SUFFIX_EXPONENTS[suffix]
    : undefined;
  if (decimal !== undefined) return { base: 10, exponent: decimal };
  const binary = Object.hasOwn(BINARY_SUFFIX_EXPONENTS, suffix) ? BINARY_SUFFIX_EXPONENTS[suffix] : undefined;
  if (binary !== undefined) return { base: 2, exponent: binary };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    const parsed = parseGoInt64(suffix.slice(1));
    if (parsed === undefined) return undefined;
    // apimachinery narrows the exponent with int32(parsed); keep that wrap-around.
    return { base: 10, exponent: Number(BigInt.asIntN(32, parsed)) };
  }
  return undefined;
}

/** ceil(numerator / denominator) for non-negative numerator and positive denominator. */
function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

/**
 * Parse a Kubernetes quantity and round it up (away from zero) to an integer, like
 * `resource.MustParse(s).Value()`. Throws QuantityError for anything ParseQuantity rejects, and
 * for digit-less numbers unless `options.acceptDigitlessAsZero` is set.
 */
export function parseQuantity(input: string, options: ParseQuantityOptions = {}): bigint {
  if (typeof input !== 'string') throw new QuantityError(String(input), 'format');
  if (input.length === 0) throw new QuantityError(input, 'empty');
  const scanned = scanQuantity(input);
  if (scanned === undefined) throw new QuantityError(input, 'format');
  const unit = interpretSuffix(scanned.suffix);
  if (unit === undefined) throw new QuantityError(input, 'suffix');
  if (!scanned.hasDigits && !options.acceptDigitlessAsZero) {
    throw new QuantityError(input, 'no-digits');
  }

  const digits = BigInt(scanned.integerDigits + scanned.fractionDigits);
  if (digits === 0n) return 0n;

  let magnitude: bigint;
  if (unit.base === 2) {
    const numerator = digits << BigInt(unit.exponent);
    magnitude = ceilDiv(numerator, 10n ** BigInt(scanned.fractionDigits.length));
    if (magnitude > MAX_INT64) magnitude = MAX_INT64;
  } else {
    const scale = unit.exponent - scanned.fractionDigits.length;
    const digitCount = digits.toString().length;
    if (scale >= 0) {
      if (digitCount + scale > MAX_DECIMAL_DIGITS) throw new QuantityError(input, 'too-large');
      magnitude = digits * 10n ** BigInt(scale);
    } else if (-scale > digitCount) {
      magnitude = 1n; // 0 < value < 1: Value() rounds it up to 1
    } else {
      magnitude = ceilDiv(digits, 10n ** BigInt(-scale));
    }
  }
  return scanned.positive ? magnitude : -magnitude;
}

/** True when `input` parses as a quantity (with the same options as parseQuantity). */
export function isQuantity(input: string, options: ParseQuantityOptions = {}): boolean {
  try {
    parseQuantity(input, options);
    return true;
  } catch (error) {
    if (error instanceof QuantityError) return false;
    throw error;
  }
}
