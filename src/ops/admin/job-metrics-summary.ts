// A job's outcome counts and latency (handler and end-to-end: count, mean, p50/p95/p99 estimated from the histogram
// buckets as Prometheus' histogram_quantile does), read from this process's metrics registry for the job page.
import type { Registry } from 'prom-client';
import { METRICS_PREFIX } from '../metrics/metrics-registry.js';

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

export interface JobMetricsSummary {
  /** Outcomes written by this process since it started, by kind. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly handler: LatencySummary | undefined;
  readonly endToEnd: LatencySummary | undefined;
}

interface MetricValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly metricName?: string;
}

async function valuesOf(registry: Registry, name: string): Promise<readonly MetricValue[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  const got = await metric.get();
  return got.values;
}

export async function summariseJobMetrics(registry: Registry, job: string): Promise<JobMetricsSummary> {
  const [outcomeValues, handlerValues, endToEndValues] = await Promise.all([
    valuesOf(registry, `${METRICS_PREFIX}job_outcomes_total`),
    valuesOf(registry, `${METRICS_PREFIX}job_handler_duration_seconds`),
    valuesOf(registry, `${METRICS_PREFIX}job_end_to_end_seconds`),
  ]);
  const outcomes: Record<string, number> = {};
  for (const v of outcomeValues) {
    if (v.labels['job'] !== job) continue;
    const kind = String(v.labels['outcome'] ?? '');
    outcomes[kind] = (outcomes[kind] ?? 0) + v.value;
  }
  return {
    outcomes,
    handler: latency(handlerValues, job),
    endToEnd: latency(endToEndValues, job),
  };
}

/** Merges the job's series of one histogram (every other label summed) and summarises them. */
export function latency(values: readonly MetricValue[], job: string): LatencySummary | undefined {
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const v of values) {
    if (v.labels['job'] !== job) continue;
    const name = v.metricName ?? '';
    if (name.endsWith('_bucket')) {
      const le = v.labels['le'];
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + v.value);
    } else if (name.endsWith('_count')) count += v.value;
    else if (name.endsWith('_sum')) sum += v.value;
  }
  if (count === 0) return undefined;
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const quantile = (q: number): number => {
    const rank = q * count;
    let previousBound = 0;
    let previousCount = 0;
    for (const [bound, cumulative] of sorted) {
      if (cumulative >= rank) {
        // in the +Inf bucket the best estimate is the largest finite bound
        if (!Number.isFinite(bound)) return previousBound;
        const inBucket = cumulative - previousCount;
        const fraction = inBucket === 0 ? 1 : (rank - previousCount) / inBucket;
        return previousBound + (bound - previousBound) * fraction;
      }
      previousBound = Number.isFinite(bound) ? bound : previousBound;
      previousCount = cumulative;
    }
    return previousBound;
  };
  const ms = (seconds: number): number => Math.round(seconds * 100_000) / 100;
  return {
    count,
    meanMs: ms(sum / count),
    p50Ms: ms(quantile(0.5)),
    p95Ms: ms(quantile(0.95)),
    p99Ms: ms(quantile(0.99)),
  };
}
