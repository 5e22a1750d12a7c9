// Rate-limit waits from the shared token buckets' `wait` events: how often and how long takes waited for tokens,
// per bucket name (a provider or provider.endpoint), and how many waits were aborted (shutdown, pause).
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type {
  DistributedRateLimiter,
  RateLimiterEvents,
  RateLimitWait,
} from '../../pipelines/distributed-rate-limit.js';
import type { EventSource } from './event-source.js';
import { DELAY_SECONDS_BUCKETS, METRICS_PREFIX } from './metrics-registry.js';

export interface ObservedRateLimiter
  extends EventSource<RateLimiterEvents>, Pick<DistributedRateLimiter, 'name'> {}

export interface RateLimitMetrics {
  /** Counts the limiter's waits from now on (once per limiter, however often watched); returns a stop function. */
  watch(limiter: ObservedRateLimiter): () => void;
}

export function createRateLimitMetrics(registry: Registry): RateLimitMetrics {
  const waits = new Histogram({
    name: `${METRICS_PREFIX}rate_limit_wait_seconds`,
    help: 'Takes that had to wait for tokens of a shared rate limit, and how long they waited.',
    labelNames: ['limit'],
    buckets: [...DELAY_SECONDS_BUCKETS],
    registers: [registry],
  });
  const aborted = new Counter({
    name: `${METRICS_PREFIX}rate_limit_waits_aborted_total`,
    help: 'Waits for tokens that ended without tokens (the caller stopped waiting).',
    labelNames: ['limit'],
    registers: [registry],
  });
  const watching = new Map<ObservedRateLimiter, () => void>();

  return {
    watch(limiter) {
      const existing = watching.get(limiter);
      if (existing) return existing;
      waits.zero({ limit: limiter.name });
      aborted.inc({ limit: limiter.name }, 0);
      const onWait = ({ name, waitedMs, granted }: RateLimitWait): void => {
        waits.observe({ limit: name }, Math.max(0, waitedMs) / 1000);
        if (granted === 0) aborted.inc({ limit: name });
      };
      limiter.on('wait', onWait);
      const stop = (): void => {
        limiter.off('wait', onWait);
        watching.delete(limiter);
      };
      watching.set(limiter, stop);
      return stop;
    },
  };
}
