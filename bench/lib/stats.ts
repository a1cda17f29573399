/**
 * Summary statistics for benchmark samples. This machine is shared and noisy, so every figure the
 * bench prints is a median with its spread (min–max, p95/p99), never a single run's number.
 */

/** Percentiles and spread of a sample. All fields are NaN for an empty sample. */
export interface Summary {
  n: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

/**
 * The `q`-quantile (0..1) of an ascending-sorted sample, by linear interpolation between closest
 * ranks (Hyndman & Fan type 7, the default of R and NumPy).
 * @example
 * quantileSorted([1, 2, 3, 4], 0.5) // 2.5
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (h - lo) * (b - a);
}

/**
 * Summarises a sample (does not modify it).
 * @example
 * summarize([3, 1, 2]).p50 // 2
 */
export function summarize(sample: ArrayLike<number>): Summary {
  const s = Float64Array.from(sample).sort();
  const n = s.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return {
    n,
    min: n ? s[0]! : NaN,
    max: n ? s[n - 1]! : NaN,
    mean: n ? sum / n : NaN,
    p50: quantileSorted(s, 0.5),
    p95: quantileSorted(s, 0.95),
    p99: quantileSorted(s, 0.99),
  };
}

/**
 * Median of a sample.
 * @example
 * median([5, 1, 3, 2]) // 2.5
 */
export function median(sample: ArrayLike<number>): number {
  return summarize(sample).p50;
}

/**
 * Formats a number with a sensible number of significant digits for a table cell.
 * @example
 * fmt(1234.5) // "1,235"
 * fmt(0.01234) // "0.0123"
 */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString("en-US");
  if (a === 0) return "0";
  return Number(x.toPrecision(digits)).toString();
}

/**
 * Formats the median with its min–max range: `"12.3 (10.1–15.0)"`.
 * @example
 * fmtRange([1, 2, 3]) // "2 (1–3)"
 */
export function fmtRange(sample: ArrayLike<number>, digits = 3): string {
  const s = summarize(sample);
  if (s.n === 0) return "—";
  if (s.n === 1) return fmt(s.p50, digits);
  return `${fmt(s.p50, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}
