// A clock that tells Redis time: the local clock plus an offset calibrated from Redis `TIME` (midpoint of the round
// trip), so replicas with skewed clocks agree on "now" for decisions such as which cron ticks are due or missed.
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { ConfigError } from '../errors.js';

export const DEFAULT_REDIS_CLOCK_REFRESH_MS = 5000;

/** A clock whose now() is trusted only after sync(): callers await sync() before a decision that reads now(). */
export interface CalibratedClock extends Clock {
  /** Resolves at once while the calibration is fresh, else calibrates; rejects only if it never calibrated. */
  sync(): Promise<void>;
}

export interface RedisClock extends CalibratedClock {
  /** Settles with the first calibration, started on creation (rejects if Redis did not answer). */
  readonly ready: Promise<void>;
  /** Redis time minus local time from the last calibration (ms), undefined before the first. */
  offsetMs(): number | undefined;
}

export interface RedisClockOptions {
  /** How old a calibration may get before sync() calibrates again; default 5 s. */
  readonly refreshMs?: number;
  /** The local clock corrected by the offset; default the system clock. */
  readonly base?: Clock;
}

/** Redis `TIME` reply ([seconds, microseconds]) in ms. */
function redisTimeMs(reply: readonly (string | number)[]): number {
  const [seconds, micros] = reply.map(Number);
  if (
    seconds === undefined ||
    micros === undefined ||
    !Number.isFinite(seconds) ||
    !Number.isFinite(micros)
  ) {
    throw new Error(`unexpected TIME reply ${JSON.stringify(reply)}`);
  }
  return seconds * 1000 + micros / 1000;
}

/**
 * `now()` = base.now() + offset, the offset measured from Redis `TIME` on creation (`ready`) and again by sync()
 * once older than refreshMs. Until the first calibration now() is the base clock. No timers: nothing to stop.
 */
export function createRedisClock(redis: Redis, options: RedisClockOptions = {}): RedisClock {
  const base = options.base ?? systemClock;
  const refreshMs = options.refreshMs ?? DEFAULT_REDIS_CLOCK_REFRESH_MS;
  if (!Number.isSafeInteger(refreshMs) || refreshMs < 1) {
    throw new ConfigError(`redis clock refreshMs must be an integer >= 1, got ${refreshMs}`, 'refreshMs');
  }
  let offset: number | undefined;
  let calibratedAt = -Infinity;
  let inFlight: Promise<void> | undefined;

  function calibrate(): Promise<void> {
    inFlight ??= (async () => {
      try {
        const sentAt = base.now();
        const reply = await redis.time();
        const receivedAt = base.now();
        // Redis read its clock somewhere in the round trip: the midpoint halves the worst-case error
        offset = Math.round(redisTimeMs(reply) - (sentAt + receivedAt) / 2);
        calibratedAt = receivedAt;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  }

  const ready = calibrate();
  // whoever awaits ready sees a failure; nobody awaiting it must not crash the process
  ready.catch(() => undefined);

  return {
    ready,
    now: () => base.now() + (offset ?? 0),
    offsetMs: () => offset,
    async sync() {
      // abs: a base clock stepped back (NTP) must not postpone the refresh
      if (Math.abs(base.now() - calibratedAt) < refreshMs) return;
      try {
        await calibrate();
      } catch (error) {
        // a failed refresh keeps the last offset (clocks drift slowly); without one there is no Redis time yet
        if (offset === undefined) throw error;
      }
    },
  };
}
