/** Latency figures of one benchmark variant, in milliseconds. */
export type LatencySummary = { count: number; mean: number; p50: number; p95: number; max: number };

/**
 * The `p`-th percentile (0–100) of `values` by the nearest-rank method: always one of the
 * measured values, which keeps small samples honest (the p95 of 30 runs is the 29th slowest).
 * @throws Error when `values` is empty or `p` is outside 0–100
 * @example
 * ```ts
 * percentile([5, 1, 3, 2, 4], 50); // 3
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile ${p} is outside 0-100`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Mean, p50, p95 and max of `values`. @throws Error when `values` is empty */
export function summarize(values: readonly number[]): LatencySummary {
  if (values.length === 0) throw new Error('summary of no values');
  return {
    count: values.length,
    mean: values.reduce((sum, value) => sum + value, 0) / values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: Math.max(...values),
  };
}

/** `value / baseline` as e.g. `"2.41x"` or `"0.00336x"`; `"n/a"` when the baseline is zero. */
export function ratio(value: number, baseline: number): string {
  if (baseline === 0) return 'n/a';
  const r = value / baseline;
  // Small ratios keep three significant digits instead of rounding to 0.00.
  return `${r >= 1 || r === 0 ? r.toFixed(2) : Number(r.toPrecision(3)).toString()}x`;
}
