// Outcome classification: maps what an attempt produced (a return value, a thrown error, or an outcome decided
// without the handler) to the final outcome, the failure count and the retry delay. Pure; random is injected.
import { map, type OperatorFunction } from 'rxjs';
import { backoffDelay, type BackoffPolicy } from '../streams/backoff.js';
import { isOutcome, outcome, outcomeFromError, type Outcome } from '../streams/outcome.js';

export type AttemptResult =
  /** The handler returned this (checked: anything but an Outcome is a retry). */
  | { readonly returned: unknown }
  /** The handler threw or rejected with this. */
  | { readonly threw: unknown }
  /**
   * Decided without the handler's own result: a timeout (a failure), a verdict before any handler, or a
   * call that was never made (circuit open, shutdown) with `countsAsFailure: false`.
   */
  | { readonly decided: Outcome; readonly countsAsFailure?: boolean };

export interface RetryPolicy {
  /** Failures (counted retries) after which the entry is dead-lettered. */
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly random?: () => number;
}

export interface Classified {
  readonly outcome: Outcome;
  /** Failures including this attempt's, when it counted as one. */
  readonly failures: number;
  /** For a retry: ms until the retry hint is due (`afterMs` from the outcome, else the backoff). */
  readonly delayMs?: number;
}

/** The outcome an attempt produced, before attempts are counted. */
export function outcomeOfAttempt(result: AttemptResult): Outcome {
  if ('decided' in result) return result.decided;
  if ('threw' in result) return outcomeFromError(result.threw);
  return isOutcome(result.returned) ? result.returned : outcome.retry('handler returned no outcome');
}

/** A transient failure of a call that was made (5xx, timeout, reset): what a circuit breaker counts. */
export function isTransientFailure(result: AttemptResult): boolean {
  if ('decided' in result && result.countsAsFailure === false) return false;
  return outcomeOfAttempt(result).kind === 'retry';
}

export function classifyAttempt(
  result: AttemptResult,
  failuresBefore: number,
  policy: RetryPolicy,
): Classified {
  const produced = outcomeOfAttempt(result);
  if (produced.kind !== 'retry') return { outcome: produced, failures: failuresBefore };
  const counts = !('decided' in result) || result.countsAsFailure !== false;
  const failures = counts ? failuresBefore + 1 : failuresBefore;
  if (counts && failures >= policy.maxAttempts) {
    return { outcome: outcome.dead('failures exhausted', produced.reason), failures };
  }
  const delayMs = produced.afterMs ?? backoffDelay(policy.backoff, Math.max(1, failures), policy.random);
  return { outcome: produced, failures, delayMs };
}

export interface Attempted {
  readonly result: AttemptResult;
  /** Failures before this attempt (kept with the retry hint). */
  readonly failures: number;
}

/** Operator form: adds the classification to each attempted item. */
export function classifyOutcome<T extends Attempted>(
  policy: RetryPolicy,
): OperatorFunction<T, T & { readonly classified: Classified }> {
  return map((item) => ({ ...item, classified: classifyAttempt(item.result, item.failures, policy) }));
}
