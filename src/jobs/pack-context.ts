// What a job pack's factories get from the worker to build their jobs: config, Redis, the timer wheel, the
// publisher, and the sinks (internal services, external providers, rate limits, cache and bar writers).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { SERVICE_URL_VARIABLES } from '../config/index.js';
import type { ServiceName, WorkerConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { Publisher } from '../events/publisher.js';
import type { DistributedRateLimiter } from '../pipelines/distributed-rate-limit.js';
import type { TimerWheel } from '../scheduler/timer-wheel.js';
import type { BarWriter } from '../sinks/bar-writer.js';
import type { CacheWriter } from '../sinks/cache-writer.js';
import type { ExternalFetcher } from '../sinks/external-fetch.js';
import type { HttpSink } from '../sinks/http-sink.js';
import type { KeyBuilder } from '../streams/keys.js';

/** What jobs report beside their outcomes (the worker's metrics implement it; tests may count calls). */
export interface JobSignals {
  /** One poll of an external provider: up or down, and how long it took (provider health, seed 000). */
  providerPolled(provider: string, up: boolean, seconds: number): void;
  /** An invariant check failed (ledger recalc, budget reconcile, expiry backlog): a metric beside the alert event. */
  alertRaised(alert: string): void;
}

export interface PackContext {
  readonly config: WorkerConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The worker's command connection (shared; do not close it). */
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  /** Publishes events (sweepers, alerts, follow-up facts) with the worker's partition counts. */
  readonly publisher: Publisher;
  readonly wheel: TimerWheel;
  /**
   * The internal-service sink (one pool per SVC_*_URL, service JWTs), built on first use: a job that needs it
   * makes the worker refuse to start with a ConfigError when SERVICE_JWT_PRIVATE_JWK is missing or not Ed25519.
   */
  services(): HttpSink;
  /** The SSRF-guarded fetcher for external providers (EXTERNAL_* settings), built on first use. */
  external(): ExternalFetcher;
  /** A token bucket shared through Redis by every consumer using the same name (provider or endpoint). */
  rateLimiter(name: string, perSecond: number, burst: number): DistributedRateLimiter;
  readonly cache: CacheWriter;
  readonly bars: BarWriter;
  readonly signals: JobSignals;
}

/**
 * The internal-service sink of a job that calls `services`: a job whose SVC_*_URL is unset refuses to start with a
 * ConfigError naming the variable, instead of failing every call at run time.
 */
export function serviceSinkFor(context: PackContext, job: string, ...services: ServiceName[]): HttpSink {
  for (const service of services) {
    if (context.config.services[service] === undefined) {
      const variable = SERVICE_URL_VARIABLES[service];
      throw new ConfigError(
        `job ${job} calls ${service} but ${variable} is not set (expected its base URL)`,
        variable,
      );
    }
  }
  return context.services();
}
