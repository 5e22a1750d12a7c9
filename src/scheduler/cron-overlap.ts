// Overlap protection for cron runs: an owner-tokened lock per schedule (SET NX PX, refreshed while the attempt lasts,
// released by compare-and-delete when it ends or is aborted), and the handler wrapper that acks a tick as skipped
// while another tick's run holds the lock, and retries a tick whose own earlier attempt still holds it.
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

/** Tries to take a lock that was released between the refused SET NX and the read of its holder. */
const ACQUIRE_ATTEMPTS = 3;

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
      /** Label of the run holding the lock (its tick), when known. */
      readonly heldBy: string | undefined;
      /** Time until the lock expires unless its holder refreshes or releases it (ms, 0 when unknown). */
      readonly remainingMs: number;
    };

export interface RunExclusiveOptions {
  /**
   * The attempt's own signal (handler timeout, forced shutdown): when it aborts, the lock stops being refreshed
   * and is released at once, even if the run ignores the signal and goes on.
   */
  readonly signal?: AbortSignal;
}

export interface CronOverlapEvents {
  /** A refresh found the lock gone or taken over (the run outlived its TTL); the run's signal is aborted. */
  lockLost: [{ schedule: string; label: string }];
  /** Emitted only when someone listens: a refresh or release failed (the TTL still ends the lock). */
  error: [{ schedule: string; error: unknown }];
}

export interface CronOverlapGuard extends EventEmitter<CronOverlapEvents> {
  /**
   * Runs `run` only if no other run of the schedule holds its lock, holding it meanwhile. `label` (e.g. the tick)
   * names the run to whoever finds the lock held. The signal aborts if the lock is lost or `options.signal` aborts.
   */
  runExclusive<T>(
    schedule: string,
    label: string,
    run: (signal: AbortSignal) => Promise<T>,
    options?: RunExclusiveOptions,
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

  /** Takes the lock (undefined), or reads who holds it and for how long, in one transaction. */
  async function acquire(
    key: string,
    token: string,
  ): Promise<{ heldBy: string | undefined; remainingMs: number } | undefined> {
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
      if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') return undefined;
      const replies = (await redis.multi().get(key).pttl(key).exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
      const holder = replies[0]?.[1];
      const pttl = replies[1]?.[1];
      if (typeof holder === 'string') {
        return {
          // the token is `label|random`: the label names the run holding the lock
          heldBy: holder.slice(0, holder.lastIndexOf('|')),
          remainingMs: typeof pttl === 'number' && pttl > 0 ? pttl : ttlMs,
        };
      }
      // released between the SET NX and the read: try again
    }
    return { heldBy: undefined, remainingMs: 0 };
  }

  return Object.assign(emitter, {
    async runExclusive<T>(
      schedule: string,
      label: string,
      run: (signal: AbortSignal) => Promise<T>,
      runOptions: RunExclusiveOptions = {},
    ): Promise<ExclusiveRun<T>> {
      const key = keys.cronLock(schedule);
      // label first, so whoever finds the lock held can say which run holds it
      const token = `${label}|${randomBytes(8).toString('hex')}`;
      const held = await acquire(key, token);
      if (held !== undefined) return { ran: false, ...held };
      const lost = new AbortController();
      const attempt = runOptions.signal;
      let released: Promise<void> | undefined;
      const refresher = setInterval(() => {
        runScript(redis, 'cronLockRefresh', [key], [token, ttlMs]).then(
          (kept) => {
            if (kept === 1 || lost.signal.aborted || released !== undefined) return;
            lost.abort(new Error(`cron lock of ${schedule} lost`));
            emitter.emit('lockLost', { schedule, label });
          },
          (error: unknown) => report(schedule, error),
        );
      }, refreshEveryMs);
      // once: at the end of the run, or as soon as the attempt is aborted (a run that ignores its signal must
      // neither hold the lock forever nor keep a retry of its own tick out until the TTL ends)
      const release = (): Promise<void> => {
        clearInterval(refresher);
        released ??= runScript(redis, 'cronLockRelease', [key], [token]).then(
          () => undefined,
          (error: unknown) => report(schedule, error),
        );
        return released;
      };
      const onAttemptAborted = (): void => void release();
      if (attempt?.aborted) onAttemptAborted();
      else attempt?.addEventListener('abort', onAttemptAborted, { once: true });
      try {
        const signal = attempt === undefined ? lost.signal : AbortSignal.any([lost.signal, attempt]);
        return { ran: true, value: await run(signal) };
      } finally {
        attempt?.removeEventListener('abort', onAttemptAborted);
        await release();
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
  /** Called for each tick acked without running because another tick's run still holds the lock. */
  readonly onSkipped?: (skipped: SkippedTick) => void;
}

/**
 * Wraps a `cron.tick` handler with the overlap policy: `skip` runs it under the schedule's lock and acks a tick
 * that finds the lock held by another tick (reported through onSkipped); a tick that finds the lock held by an
 * earlier attempt of itself (a killed consumer, a released entry) is retried when that lock expires, never acked
 * unrun. `allow` runs it as is. The handler's signal also aborts when the lock is lost.
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
    const result = await options.guard.runExclusive(
      schedule,
      tick,
      (signal) => handler(event, { ...ctx, signal }),
      { signal: ctx.signal },
    );
    if (result.ran) return result.value;
    if (result.heldBy === tick) {
      return outcome.retry('previous attempt of this tick still holds the lock', result.remainingMs);
    }
    options.onSkipped?.({ schedule, tick, heldBy: result.heldBy });
    return outcome.ack();
  };
}
