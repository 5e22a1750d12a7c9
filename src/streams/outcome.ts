// The outcome contract (DESIGN.md §5): what a handler returns, and how thrown errors map onto it.
import { PermanentError, TransientError, ValidationError, errorMessage } from '../errors.js';

export type Outcome =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry'; readonly reason: string; readonly afterMs?: number }
  /**
   * `until` absent: the job's repeat interval (`defer.everyMs`) decides. `timer` names the re-emission's timer
   * (a job's `runAt` schedule); without it the timer is the group's deferral of this event.
   */
  | {
      readonly kind: 'defer';
      readonly until?: number;
      readonly reason: string;
      readonly timer?: { readonly id: string; readonly version: number };
    }
  | { readonly kind: 'dead'; readonly reason: string; readonly error?: string };

export type OutcomeKind = Outcome['kind'];

const ACK: Outcome = Object.freeze({ kind: 'ack' });

export const outcome = {
  /** Done: XACK + dedupe mark. */
  ack: (): Outcome => ACK,
  /** Transient: stays pending; a retry hint is due after `afterMs` or the backoff. */
  retry: (reason: string, afterMs?: number): Outcome =>
    // a non-finite Retry-After (a parse gone wrong) falls back to the backoff
    afterMs === undefined || !Number.isFinite(afterMs)
      ? { kind: 'retry', reason }
      : { kind: 'retry', reason, afterMs: Math.max(0, afterMs) },
  /** Not yet: handled again at `until` (ms since epoch); does not count as a failure. */
  defer: (until: number, reason: string): Outcome => {
    if (!Number.isFinite(until)) throw new ValidationError(`defer needs a finite time in ms, got ${until}`);
    return { kind: 'defer', until, reason };
  },
  /** Not yet, run again after the job's repeat interval (`defer.everyMs`), e.g. a deposit not yet confirmed. */
  later: (reason: string): Outcome => ({ kind: 'defer', reason }),
  /** Permanent: to the DLQ at once. */
  dead: (reason: string, error?: string): Outcome =>
    error === undefined ? { kind: 'dead', reason } : { kind: 'dead', reason, error },
};

/** Maps anything a handler threw: permanent/validation errors are dead, everything else is transient. */
export function outcomeFromError(error: unknown): Outcome {
  if (error instanceof PermanentError || error instanceof ValidationError) {
    return outcome.dead(error.code.toLowerCase(), errorMessage(error));
  }
  if (error instanceof TransientError) return outcome.retry(errorMessage(error), error.retryAfterMs);
  return outcome.retry(errorMessage(error));
}

/** Checks a handler's return value so a buggy handler cannot smuggle an unknown outcome into Redis. */
export function isOutcome(value: unknown): value is Outcome {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'ack' || kind === 'retry' || kind === 'defer' || kind === 'dead';
}
