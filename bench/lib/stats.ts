// Small statistics: median, percentiles, and the power-law extrapolation used for contenders
// that are not run at the largest N.

export function median(xs: readonly number[]): number {
  return percentile(xs, 0.5);
}

/** Nearest-rank on the sorted samples (the floor uses the same rule). */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.round(p * (s.length - 1)));
  return s[rank]!; // 0 <= rank < s.length
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/**
 * Time at `n` from the two largest measured points (n0 < n1), assuming t = c * n^k with k from
 * those points, kept between 1 (nothing gets cheaper per item with scale) and 2.
 */
export function extrapolate(
  points: readonly { n: number; seconds: number }[],
  n: number,
): { seconds: number; exponent: number } | undefined {
  const ps = points.filter((p) => p.n < n && p.seconds > 0).sort((a, b) => a.n - b.n);
  const [p0, p1] = [ps.at(-2), ps.at(-1)];
  if (!p1) return undefined;
  let k = 1;
  if (p0) {
    k = Math.log(p1.seconds / p0.seconds) / Math.log(p1.n / p0.n);
    k = Math.min(2, Math.max(1, k));
  }
  return { seconds: p1.seconds * Math.pow(n / p1.n, k), exponent: k };
}

/** 0.000123 s -> "123 µs", 1.5 -> "1.50 s" */
export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 1e-3) return `${(s * 1e6).toFixed(s < 1e-5 ? 2 : 1)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(s < 1e-2 ? 2 : 1)} ms`;
  if (s < 120) return `${s.toFixed(2)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '—';
  if (r >= 100) return `${Math.round(r).toLocaleString('en-US')}x`;
  if (r >= 10) return `${r.toFixed(1)}x`;
  return `${r.toFixed(2)}x`;
}
