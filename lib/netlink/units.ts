// tc's unit syntax, for people who think in "10mbit" and "32kb". The engine takes plain
// numbers: rates in bit/s, sizes in bytes, times in microseconds.

const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  tibit: 1024 ** 4,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
  kibps: 8 * 1024,
  mibps: 8 * 1024 ** 2,
  gibps: 8 * 1024 ** 3,
  tibps: 8 * 1024 ** 4,
};
// tc's get_size: k, m, g are binary; b is bytes, and "kbit" style bit sizes divide by 8.
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  kbit: 1024 / 8,
  mbit: 1024 ** 2 / 8,
  gbit: 1024 ** 3 / 8,
};
const TIME_UNITS: Record<string, number> = {
  s: 1e6,
  sec: 1e6,
  secs: 1e6,
  ms: 1e3,
  msec: 1e3,
  msecs: 1e3,
  us: 1,
  usec: 1,
  usecs: 1,
  '': 1,
};

function parse(kind: string, input: string | number, units: Record<string, number>, example: string): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return input;
    throw new RangeError(`${kind}: ${input} must be a non-negative number`);
  }
  const [, digits, unit] = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input) ?? [];
  const factor = unit === undefined ? undefined : units[unit.toLowerCase()];
  if (digits === undefined || factor === undefined) {
    throw new RangeError(
      `${kind}: "${input}" is not understood (e.g. ${example}; units: ${Object.keys(units).filter(Boolean).join(', ')})`,
    );
  }
  return Math.round(Number(digits) * factor);
}

/** "10mbit" -> 10000000 (bit/s). A bare number is bit/s; note tc reads a bare number as bytes/s. */
export function parseRate(input: string | number): number {
  return parse('rate', input, { ...RATE_UNITS, '': 1 }, '"10mbit", "1gbit", "500kbit"');
}

/** "32kb" -> 32768 (bytes), with tc's binary k/m/g. */
export function parseSize(input: string | number): number {
  return parse('size', input, SIZE_UNITS, '"32kb", "1mb", "1514"');
}

/** "25ms" -> 25000 (microseconds). A bare number is microseconds, as tc reads it. */
export function parseTime(input: string | number): number {
  return parse('time', input, TIME_UNITS, '"25ms", "1s", "500us"');
}

/** 10000000 -> "10Mbit", for display. */
export function formatRate(bitsPerSecond: number): string {
  for (const [unit, f] of [
    ['Tbit', 1e12],
    ['Gbit', 1e9],
    ['Mbit', 1e6],
    ['Kbit', 1e3],
  ] as const) {
    if (bitsPerSecond >= f) return `${+(bitsPerSecond / f).toFixed(3)}${unit}`;
  }
  return `${bitsPerSecond}bit`;
}

/** 32768 -> "32Kb", tc style. */
export function formatSize(bytes: number): string {
  for (const [unit, f] of [
    ['Gb', 1024 ** 3],
    ['Mb', 1024 ** 2],
    ['Kb', 1024],
  ] as const) {
    if (bytes >= f && bytes % (f / 1024) === 0) return `${+(bytes / f).toFixed(3)}${unit}`;
  }
  return `${bytes}b`;
}

/**
 * Bytes exactly: "12500b", or tc's binary units when they say the same number ("32Kb", "1.5Mb",
 * "1025Kb": "1.001Mb" would be 25 bytes more).
 */
export function sizeText(bytes: number): string {
  if (bytes < 1024 || bytes % 1024 !== 0) return `${bytes}b`;
  for (const [unit, f] of [
    ['Gb', 1024 ** 3],
    ['Mb', 1024 ** 2],
  ] as const) {
    const count = +(bytes / f).toFixed(3);
    if (bytes >= f && Math.round(count * f) === bytes) return `${count}${unit}`;
  }
  return `${bytes / 1024}Kb`;
}

/** The bucket raw buffer ticks stand for: the kernel keeps them as 64 ns each (PSCHED_SHIFT 6). */
export function bytesOfTicks(rate: number, ticks: number): number {
  return Math.round((rate / 8) * ticks * 64e-9);
}

/** 50000 -> "50ms", 1500 -> "1.5ms", 20 -> "20us" (microseconds, for display). */
export function formatTime(us: number): string {
  if (us >= 1e6) return `${+(us / 1e6).toFixed(3)}s`;
  if (us >= 1e3) return `${+(us / 1e3).toFixed(3)}ms`;
  return `${us}us`;
}
