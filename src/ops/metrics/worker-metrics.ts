// Every metric of a worker process in one registry, and the hooks that feed them: runners (outcomes, circuit, shared
// rate limit), job handlers (latency, timer lateness), the HTTP sink's observe hook, the timer mover, rate limiters,
// retention, job signals, and the stream gauges read at scrape time. `metricsText()` is what `/metrics` serves.
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type { JobSignals } from '../../jobs/pack-context.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import type { JobRunner, RunnerEvents } from '../../pipelines/job-runner.js';
import type { EventSource } from './event-source.js';
import type { CallObservation } from '../../sinks/http-sink.js';
import type { KeyBuilder } from '../../streams/keys.js';
import type { RedisClient } from '../../streams/scripts.js';
import type { StreamStatsTarget } from '../../streams/stream-stats.js';
import { createCircuitMetrics } from './circuit-metrics.js';
import { createHandlerMetrics } from './handler-metrics.js';
import { createHttpMetrics } from './http-metrics.js';
import { createJobSignalsMetrics } from './job-signals-metrics.js';
import { METRICS_CONTENT_TYPE, createMetricsRegistry, metricsText } from './metrics-registry.js';
import { createRateLimitMetrics } from './rate-limit-metrics.js';
import type { ObservedRateLimiter } from './rate-limit-metrics.js';
import { createRetentionMetrics } from './retention-metrics.js';
import type { ObservedRetention } from './retention-metrics.js';
import { createRunnerMetrics } from './runner-metrics.js';
import { createStreamMetrics } from './stream-metrics.js';
import type { StreamMetrics } from './stream-metrics.js';
import { createTimerMetrics } from './timer-metrics.js';
import type { ObservedTimerMover } from './timer-metrics.js';

export interface WatchedRunner
  extends EventSource<RunnerEvents>, Pick<JobRunner, 'job' | 'breaker' | 'rateLimiter' | 'heldCount'> {}

export interface WorkerMetricsOptions {
  /** Connection the stream gauges read through at scrape time (the worker's command connection will do). */
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  /** The domains to report (partition count and groups), e.g. the worker's jobs grouped by domain. */
  readonly streams: readonly StreamStatsTarget[] | (() => readonly StreamStatsTarget[]);
  /** Default: a new registry with Node's process metrics (createMetricsRegistry). */
  readonly registry?: Registry;
  readonly clock?: Clock;
  /** Longest wait for Redis during a scrape (then the stream series are left out); default 5000 ms. */
  readonly statsReadTimeoutMs?: number;
  /** Logs one line when the stream figures cannot be read at scrape time, and one when they can again. */
  readonly logger?: Pick<Logger, 'warn' | 'info'>;
}

export interface WorkerMetrics {
  readonly registry: Registry;
  /** The content type of `metricsText()` (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** Reads the stream gauges from Redis, then renders every metric: what `/metrics` serves; needs no `this`. */
  readonly metricsText: () => Promise<string>;
  /** Provider health and alerts: pass as the PackContext `signals`. */
  readonly signals: JobSignals;
  /** Pass as the HTTP sink's `observe` option; needs no `this`. */
  readonly observeCall: (observation: CallObservation) => void;
  /** Wraps a job's handler to time it and measure timer lateness: apply before createJobRunner; needs no `this`. */
  readonly instrumentJob: <TData>(job: JobDefinition<TData>) => JobDefinition<TData>;
  /** Outcomes, in-flight, alarms, circuit state and the runner's shared rate limit; returns a stop function. */
  watchRunner(runner: WatchedRunner): () => void;
  watchTimerMover(mover: ObservedTimerMover): () => void;
  /** A shared rate limit used by job code (PackContext.rateLimiter); watching one twice counts it once. */
  watchRateLimiter(limiter: ObservedRateLimiter): () => void;
  watchRetention(retention: ObservedRetention): () => void;
  /** The stream figures of the last scrape. */
  readonly streams: StreamMetrics;
}

export function createWorkerMetrics(options: WorkerMetricsOptions): WorkerMetrics {
  const registry = options.registry ?? createMetricsRegistry();
  const clock = options.clock ?? systemClock;
  const runners = createRunnerMetrics(registry, clock);
  const circuits = createCircuitMetrics(registry);
  const handlers = createHandlerMetrics(registry, clock);
  const http = createHttpMetrics(registry);
  const timers = createTimerMetrics(registry);
  const limits = createRateLimitMetrics(registry);
  const retention = createRetentionMetrics(registry);
  const signals = createJobSignalsMetrics(registry);
  const logger = options.logger;
  const streams = createStreamMetrics(registry, {
    redis: options.redis,
    keys: options.keys,
    targets: options.streams,
    clock,
    ...(options.statsReadTimeoutMs === undefined ? {} : { readTimeoutMs: options.statsReadTimeoutMs }),
    onReadStateChange: (up, error) => {
      if (up) logger?.info('metrics: stream figures can be read from Redis again');
      else
        logger?.warn(
          { err: error },
          'metrics: stream figures cannot be read from Redis (left out of /metrics)',
        );
    },
  });

  return {
    registry,
    contentType: METRICS_CONTENT_TYPE,
    metricsText: () => metricsText(registry),
    signals,
    observeCall: (observation) => http.observe(observation),
    instrumentJob: (job) => handlers.instrument(job),
    watchRunner(runner) {
      const stops = [runners.watch(runner), circuits.watch(runner)];
      if (runner.rateLimiter) stops.push(limits.watch(runner.rateLimiter));
      return () => stops.forEach((stop) => stop());
    },
    watchTimerMover: (mover) => timers.watch(mover),
    watchRateLimiter: (limiter) => limits.watch(limiter),
    watchRetention: (loop) => retention.watch(loop),
    streams,
  };
}
