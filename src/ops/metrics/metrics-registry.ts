// The Prometheus registry of a worker process: one prom-client Registry (with Node's process metrics unless turned
// off), the text the admin `/metrics` route serves and its content type, and the bucket sets the histograms share.
import { Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric of this project starts with this; Node's process metrics keep their standard names. */
export const METRICS_PREFIX = 'fuze_';

/** `text/plain; version=0.0.4; charset=utf-8`: the Prometheus text format `/metrics` answers with. */
export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

export interface MetricsRegistryOptions {
  /** Labels put on every series (e.g. `{ service: 'workers' }`); constant per process, never per event. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /** Node.js process metrics (CPU, memory, event-loop delay, GC) read at scrape time; default true. */
  readonly processMetrics?: boolean;
}

export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels({ ...options.defaultLabels });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The registry in the Prometheus text format (what `/metrics` serves with METRICS_CONTENT_TYPE). */
export function metricsText(registry: Registry): Promise<string> {
  return registry.metrics();
}

/** Seconds: handler calls, HTTP calls, provider polls (5 ms .. 2 min). */
export const CALL_SECONDS_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];

/** Seconds: retry backoff, end-to-end latency, timer lateness, rate-limit waits (10 ms .. 1 h). */
export const DELAY_SECONDS_BUCKETS: readonly number[] = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
];

/** Seconds: defer delays, which range from a second to days (a bet's T_end, an escrow's expiry). */
export const DEFER_SECONDS_BUCKETS: readonly number[] = [
  1,
  10,
  60,
  300,
  900,
  3600,
  6 * 3600,
  24 * 3600,
  7 * 24 * 3600,
  30 * 24 * 3600,
];

/** The Redis time (ms) at which an entry entered its stream: the first part of its id; NaN when malformed. */
export function entryTimeMs(entryId: string): number {
  const dash = entryId.indexOf('-');
  return Number(dash < 0 ? entryId : entryId.slice(0, dash));
}
