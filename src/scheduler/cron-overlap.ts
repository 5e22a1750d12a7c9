// Overlap protection for cron runs: an owner-tokened lock per schedule (SET NX PX, refreshed while the run lasts,
// released by compare-and-delete), and the handler wrapper that acks a tick as skipped while the previous run holds it.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import type { EventEnvelope } from '../events/envelope.js';
import type { JobContext, JobHandler } from '../pipelines/job-definition.js';
import type { KeyBuilder } from '../streams/keys.js';
import { outcome } from '../streams/outcome.js';
import type { Outcome } from '../streams/outcome.js';
import { runScript } from '../streams/scripts.js';
import type { OverlapPolicy } from './cron-schedules.js';
import type { CronTickData } from './cron-tick-event.js';

export const DEFAULT_CRON_LOCK_TTL_MS = 120_000;

export interface CronOverlapGuardOptions {
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  /**
   * Lifetime of a lock not refreshed (its holder died); longer than the job's handler timeout. Default 120 s.
   * While the run lasts the lock is refreshed every third of this.
   */
  readonly lockTtlMs?: number;
}

export type ExclusiveRun<T> =
  | { readonly ran: true; readonly value: T }
  | {
      readonly ran: false;
      /** Label of the run holding the lock (its tick), when known. */ readonly heldBy: string | undefined;
    };

export interface CronOverlapEvents {
  /** A refresh found the lock gone or taken over (the run outlived its TTL); the run's signal is aborted. */
  lockLost: [{ schedule: string; label: string }];
  /** Emitted only when someone listens: a refresh or release failed (the TTL still ends the lock). */
  error: [{ schedule: string; error: unknown }];
}

export interface CronOverlapGuard extends EventEmitter<CronOverlapEvents> {
  /**
   * Runs `run` only if no other run of the schedule holds its lock, holding it meanwhile. `label` (e.g. the tick)
   * names the run to whoever finds the lock held. The signal aborts if the lock is lost.
   */
  runExclusive<T>(
    schedule: string,
    label: string,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<ExclusiveRun<T>>;
}

export function createCronOverlapGuard(options: CronOverlapGuardOptions): CronOverlapGuard {
  const { redis, keys } = options;
  const ttlMs = options.lockTtlMs ?? DEFAULT_CRON_LOCK_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 30) {
    throw new ConfigError(`cron lock ttl must be an integer >= 30 ms, got ${ttlMs}`, 'lockTtlMs');
  }
  const refreshEveryMs = Math.floor(ttlMs / 3);
  const emitter = new EventEmitter<CronOverlapEvents>();

  function report(schedule: string, error: unknown): void {
    if (emitter.listenerCount('error') > 0) emitter.emit('error', { schedule, error });
  }

  return Object.assign(emitter, {
    async runExclusive<T>(
      schedule: string,
      label: string,
      run: (signal: AbortSignal) => Promise<T>,
    ): Promise<ExclusiveRun<T>> {
      const key = keys.cronLock(schedule);
      // label first, so whoever finds the lock held can say which run holds it
      const token = `${label}|${randomBytes(8).toString('hex')}`;
      const taken = await redis.set(key, token, 'PX', ttlMs, 'NX');
      if (taken !== 'OK') {
        const holder = await redis.get(key);
        return { ran: false, heldBy: holder === null ? undefined : holder.slice(0, holder.lastIndexOf('|')) };
      }
      const lost = new AbortController();
      const refresher = setInterval(() => {
        runScript(redis, 'cronLockRefresh', [key], [token, ttlMs]).then(
          (kept) => {
            if (kept === 1 || lost.signal.aborted) return;
            lost.abort(new Error(`cron lock of ${schedule} lost`));
            emitter.emit('lockLost', { schedule, label });
          },
          (error: unknown) => report(schedule, error),
        );
      }, refreshEveryMs);
      try {
        return { ran: true, value: await run(lost.signal) };
      } finally {
        clearInterval(refresher);
        await runScript(redis, 'cronLockRelease', [key], [token]).catch((error: unknown) =>
          report(schedule, error),
        );
      }
    },
  });
}

export interface SkippedTick {
  readonly schedule: string;
  readonly tick: string;
  /** The tick of the run still in progress, when known. */
  readonly heldBy: string | undefined;
}

export interface ExclusiveTicksOptions {
  readonly guard: CronOverlapGuard;
  /** Overlap policy per schedule name; schedules not listed get `skip`. */
  readonly overlap?: Readonly<Record<string, OverlapPolicy>> | ((schedule: string) => OverlapPolicy);
  /** Called for each tick acked without running because the previous run still holds the lock. */
  readonly onSkipped?: (skipped: SkippedTick) => void;
}

/**
 * Wraps a `cron.tick` handler with the overlap policy: `skip` runs it under the schedule's lock and acks a tick
 * that finds the lock held (reported through onSkipped); `allow` runs it as is. The handler's signal also aborts
 * when the lock is lost.
 */
export function exclusiveTicks(
  handler: JobHandler<CronTickData>,
  options: ExclusiveTicksOptions,
): JobHandler<CronTickData> {
  const { overlap } = options;
  const policyOf =
    typeof overlap === 'function'
      ? overlap
      : (schedule: string): OverlapPolicy => overlap?.[schedule] ?? 'skip';
  return async (event: EventEnvelope<CronTickData>, ctx: JobContext): Promise<Outcome> => {
    const { schedule, tick } = event.data;
    if (policyOf(schedule) === 'allow') return handler(event, ctx);
    const result = await options.guard.runExclusive(schedule, tick, (lost) =>
      handler(event, { ...ctx, signal: AbortSignal.any([ctx.signal, lost]) }),
    );
    if (result.ran) return result.value;
    options.onSkipped?.({ schedule, tick, heldBy: result.heldBy });
    return outcome.ack();
  };
}
