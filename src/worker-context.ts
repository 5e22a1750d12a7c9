// Builds the PackContext the worker hands to job factories: shared Redis, wheel and publisher, and the sinks
// built on first use (so a worker without jobs needing a service does not need a JWT key). close() frees them.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { systemClock } from './clock.js';
import { ConfigError } from './errors.js';
import type { WorkerConfig } from './config/index.js';
import { createPublisher } from './events/publisher.js';
import type { EventRegistry } from './events/registry.js';
import type { JobSignals, PackContext } from './jobs/pack-context.js';
import { createDistributedRateLimiter } from './pipelines/distributed-rate-limit.js';
import type { DistributedRateLimiter } from './pipelines/distributed-rate-limit.js';
import { createTimerWheel } from './scheduler/timer-wheel.js';
import { createBarWriter } from './sinks/bar-writer.js';
import { createCacheWriter } from './sinks/cache-writer.js';
import { createExternalFetcher } from './sinks/external-fetch.js';
import type { ExternalFetcher } from './sinks/external-fetch.js';
import { createServiceSink } from './sinks/service-sink.js';
import type { ServiceSink } from './sinks/service-sink.js';
import type { KeyBuilder } from './streams/keys.js';
import type { WorkerMetrics } from './ops/metrics/worker-metrics.js';
import { createJobAudit } from './ops/job-audit.js';
import { traceHttpSink } from './ops/tracing/http-client-span.js';
import type { CallObservation, HttpSink } from './sinks/http-sink.js';

export interface WorkerContext extends PackContext {
  close(): Promise<void>;
}

export function createWorkerContext(deps: {
  readonly config: WorkerConfig;
  readonly logger: Logger;
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly registry: EventRegistry;
  /** Default: nothing recorded. */
  readonly signals?: JobSignals;
  /** HTTP call and rate-limit wait metrics; default none. */
  readonly metrics?: Pick<WorkerMetrics, 'observeCall' | 'watchRateLimiter'>;
}): WorkerContext {
  const { config, logger, redis, keys, registry } = deps;
  let serviceSink: ServiceSink | undefined;
  // JOB_AUDIT_ENABLED: every internal call a job makes, kept as long as the admin audit (AUDIT_MAX_LEN)
  const audit = config.jobs.auditEnabled
    ? createJobAudit({ redis, keys, maxLen: config.admin.auditMaxLen, logger })
    : undefined;
  let tracedSink: HttpSink | undefined;
  let external: ExternalFetcher | undefined;
  const limiters = new Map<string, DistributedRateLimiter>();

  return {
    config,
    logger,
    clock: systemClock,
    redis,
    keys,
    publisher: createPublisher({
      redis,
      keys,
      registry,
      partitions: () => config.queue.partitionsDefault,
      dedupeWindowMs: config.queue.dedupeWindowMs,
      maxEventBytes: config.queue.eventMaxBytes,
    }),
    wheel: createTimerWheel({ redis, keys }),
    cache: createCacheWriter({ redis, keys }),
    bars: createBarWriter({ redis, keys }),
    signals: deps.signals ?? {
      providerPolled: () => undefined,
      alertRaised: () => undefined,
    },
    services() {
      const observers = [
        deps.metrics?.observeCall,
        audit && ((call: CallObservation) => audit.record(call)),
      ].filter((o) => o !== undefined);
      serviceSink ??= createServiceSink(config, {
        logger,
        observe: (call) => {
          for (const observe of observers) observe(call);
        },
      });
      tracedSink ??= traceHttpSink(serviceSink.sink);
      return tracedSink;
    },
    external() {
      external ??= createExternalFetcher(
        {
          allowHosts: [...config.external.allowHosts],
          allowHttp: config.external.allowHttp,
          allowLoopbackHosts: [...config.external.allowLoopbackHosts],
          maxBytes: config.external.maxBytes,
          timeoutMs: config.external.timeoutMs,
          connectTimeoutMs: config.external.connectTimeoutMs,
          maxRedirects: config.external.maxRedirects,
          userAgent: `${config.service.name} (${config.service.id})`,
        },
        { logger },
      );
      return external;
    },
    rateLimiter(name, perSecond, burst) {
      // one bucket in Redis per name: two different rates on it would refill it at two speeds
      let limiter = limiters.get(name);
      if (limiter && (limiter.perSecond !== perSecond || limiter.burst !== burst)) {
        throw new ConfigError(
          `rate limit "${name}" is declared as ${limiter.perSecond}/s burst ${limiter.burst} and as ` +
            `${perSecond}/s burst ${burst} (expected one rate per name)`,
        );
      }
      if (!limiter) {
        limiter = createDistributedRateLimiter({ redis, keys, name, perSecond, burst });
        deps.metrics?.watchRateLimiter(limiter);
        limiters.set(name, limiter);
      }
      return limiter;
    },
    async close() {
      await Promise.allSettled([serviceSink?.close(), external?.close(), audit?.flush()]);
    },
  };
}
