// What a job runner is configured with: the worker-wide settings (seed 001 defaults), its dependencies, and the
// limits a job's own declaration resolves to against those settings.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { SchedulerLike } from 'rxjs';
import type { Clock } from '../clock.js';
import type { EventRegistry } from '../events/registry.js';
import { defaultBackoff, type BackoffPolicy } from '../streams/backoff.js';
import type { KeyBuilder } from '../streams/keys.js';
import type { RetryPolicy } from './classify-outcome.js';
import type { validateJob } from './job-definition.js';

export interface RunnerSettings {
  readonly maxAttempts: number;
  readonly maxDeliveries: number;
  readonly backoff: BackoffPolicy;
  readonly claimFloorMs: number;
  readonly heartbeatMs: number;
  readonly handlerTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly dedupeWindowMs: number;
  /** Longest sleep between retry-hint polls (a due hint waits at most this long). */
  readonly retryPollMs: number;
  readonly blockMs: number;
  /** How often the job control counter is read (pause, resume, drain apply within this). */
  readonly controlPollMs: number;
}

export const defaultRunnerSettings: RunnerSettings = {
  maxAttempts: 10,
  maxDeliveries: 50,
  backoff: defaultBackoff,
  claimFloorMs: 30_000,
  heartbeatMs: 5_000,
  handlerTimeoutMs: 60_000,
  shutdownGraceMs: 25_000,
  dedupeWindowMs: 3_600_000,
  retryPollMs: 250,
  blockMs: 2_000,
  controlPollMs: 1_000,
};

/** `<host>-<pid>-<random>`: unique per runner, readable in XPENDING and XINFO CONSUMERS. */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export interface RunnerDeps {
  /** Command connection; the runner duplicates it for its blocking reads. */
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly registry: EventRegistry;
  /** Partition count of the job's domain (checked against Redis by the caller at start-up). */
  readonly partitions: number;
  readonly clock?: Clock;
  readonly consumer?: string;
  readonly settings?: Partial<RunnerSettings>;
  readonly random?: () => number;
  /** Time for the rate limit, the circuit breaker and handler timeouts (default: rxjs asyncScheduler). */
  readonly scheduler?: SchedulerLike;
}

/** A job's validated options with the worker settings filled in where the job says nothing. */
export interface ResolvedLimits {
  readonly retryPolicy: RetryPolicy & { readonly random: () => number };
  readonly maxDeliveries: number;
  readonly timeoutMs: number;
}

export function resolveLimits(
  options: ReturnType<typeof validateJob>,
  settings: RunnerSettings,
  random: () => number = Math.random,
): ResolvedLimits {
  const jobBackoff = options.retry?.backoff;
  return {
    retryPolicy: {
      maxAttempts: options.retry?.maxAttempts ?? options.maxAttempts ?? settings.maxAttempts,
      backoff: {
        baseMs: jobBackoff?.baseMs ?? settings.backoff.baseMs,
        maxMs: jobBackoff?.maxMs ?? settings.backoff.maxMs,
        floorRatio: jobBackoff?.floorRatio ?? settings.backoff.floorRatio,
      },
      random,
    },
    maxDeliveries: options.maxDeliveries ?? settings.maxDeliveries,
    timeoutMs: options.timeoutMs ?? settings.handlerTimeoutMs,
  };
}
