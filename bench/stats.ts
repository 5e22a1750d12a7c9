// Small statistics for the report: median with min-max of repeated runs, and latency percentiles.
import type { LatencySummary } from './workload.js';

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread | undefined {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Latency percentiles of the first `count` samples (ms), with the achieved rate against the target. */
export function summarizeLatency(
  samples: Float64Array,
  count: number,
  expected: number,
  targetRate: number,
  spanSeconds: number,
  publishedRate: number,
): LatencySummary {
  const sorted = samples.slice(0, count).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const achievedRate = spanSeconds > 0 ? count / spanSeconds : 0;
  return {
    count,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: count > 0 ? sorted[count - 1]! : NaN,
    meanMs: count > 0 ? sum / count : NaN,
    targetRate,
    achievedRate,
    publishedRate,
    sustained: count === expected && achievedRate >= 0.95 * targetRate,
  };
}
