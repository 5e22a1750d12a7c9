// Retry backoff: exponential in the failure count, full jitter above a floor, capped.
import { ValidationError } from '../errors.js';

export interface BackoffPolicy {
  /** Delay for the first failure's ceiling (BACKOFF_DEFAULT_MS). */
  readonly baseMs: number;
  /** No delay exceeds this (BACKOFF_MAX_MS). */
  readonly maxMs: number;
  /** Share of the ceiling that is always waited, so jitter never retries at once. */
  readonly floorRatio: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 2000, maxMs: 300_000, floorRatio: 0.5 };

/** The ceiling for a failure count: base * 2^(failures-1), capped. */
export function backoffCeiling(policy: BackoffPolicy, failures: number): number {
  if (!Number.isInteger(failures) || failures < 1) {
    throw new ValidationError(`failure count must be a positive integer, got ${failures}`);
  }
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures - 1, 52));
}

/** A delay in [floorRatio * ceiling, ceiling]; `random` is injectable so tests can check the formula. */
export function backoffDelay(
  policy: BackoffPolicy,
  failures: number,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeiling(policy, failures);
  const floor = ceiling * policy.floorRatio;
  return Math.round(floor + random() * (ceiling - floor));
}
