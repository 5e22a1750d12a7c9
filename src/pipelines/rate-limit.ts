// Operator: a local token bucket (per consumer). Items wait for a token and are never dropped: in any span
// of t ms at most `burst + perSecond * t / 1000` items pass, in arrival order.
import {
  asyncScheduler,
  concatMap,
  defer,
  map,
  of,
  timer,
  type MonoTypeOperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { ValidationError } from '../errors.js';

export interface TokenBucketOptions {
  /** Sustained rate: tokens added per second. */
  readonly perSecond: number;
  /** Bucket size: how many items may pass at once after an idle spell. */
  readonly burst: number;
  /** Time source; the default is rxjs' asyncScheduler, a TestScheduler in marble tests. */
  readonly scheduler?: SchedulerLike;
}

/** A token bucket as a schedule (GCRA): each call reserves the earliest time its token is available. */
export interface TokenBucket {
  /** Reserves a token; returns how many ms to wait before using it (0 = now). */
  reserve(): number;
}

export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const { perSecond, burst } = options;
  if (!Number.isFinite(perSecond) || perSecond <= 0) {
    throw new ValidationError(`rate limit perSecond must be a positive number, got ${perSecond}`);
  }
  if (!Number.isInteger(burst) || burst < 1) {
    throw new ValidationError(`rate limit burst must be an integer >= 1, got ${burst}`);
  }
  const scheduler = options.scheduler ?? asyncScheduler;
  const intervalMs = 1000 / perSecond;
  const toleranceMs = (burst - 1) * intervalMs;
  // theoretical arrival time: when the bucket would be full again if nothing else arrived
  let theoretical = -Infinity;
  return {
    reserve() {
      const now = scheduler.now();
      const tat = Math.max(theoretical, now);
      theoretical = tat + intervalMs;
      return Math.max(0, tat - toleranceMs - now);
    },
  };
}

/**
 * Delays items so they pass at the bucket's rate. The bucket belongs to the returned operator, so the same
 * operator applied in several pipelines (e.g. one inner pipeline per item) shares one budget.
 */
export function rateLimit<T>(options: TokenBucketOptions): MonoTypeOperatorFunction<T> {
  const bucket = createTokenBucket(options);
  const scheduler = options.scheduler ?? asyncScheduler;
  // concatMap: an item reserves its token only after the one before it passed, so order is kept exactly
  return concatMap((item: T) =>
    defer(() => {
      const waitMs = bucket.reserve();
      return waitMs === 0 ? of(item) : timer(waitMs, scheduler).pipe(map(() => item));
    }),
  );
}
