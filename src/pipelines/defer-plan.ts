// The timer a `defer` outcome will write, built and checked before anything is written: a runAt schedule (its
// tombstone wins: a fired or cancelled timer stays so) or the group's deferral chain of the event (a new run after
// a finished chain is not dropped). A defer that cannot be written (no repeat interval, a due time, timer id or
// version out of range, a re-emission over the size cap) is dead with the reason, not retried until a crash loop.
import { ValidationError, errorMessage } from '../errors.js';
import type { EventEnvelope } from '../events/envelope.js';
import type { EncodedTimer, TimerRequest } from '../scheduler/timer-request.js';
import { outcome } from '../streams/outcome.js';
import { classifyAttempt, type Classified, type RetryPolicy } from './classify-outcome.js';
import { decideDefer, type DeferPolicy } from './deferral.js';

export interface PlannedDefer {
  readonly timer: EncodedTimer;
  /** A deferral chain (see defer-writer.ts); false for a runAt schedule. */
  readonly chain: boolean;
}

export interface DeferPlanDeps<TData> {
  readonly group: string;
  readonly policy: DeferPolicy<TData> | undefined;
  readonly retryPolicy: RetryPolicy & { readonly random: () => number };
  readonly now: () => number;
  /** Checks and encodes a re-emission (the defer writer's `prepare`); throws ValidationError. */
  prepare(group: string, timer: TimerRequest): EncodedTimer;
}

/** What a classified `defer` turns into: its checked timer, or the dead (or retry) outcome that replaces it. */
export type DeferDecision =
  | { readonly classified: Classified; readonly defer: PlannedDefer }
  | { readonly classified: Classified; readonly defer?: undefined };

export function createDeferPlanner<TData>(
  deps: DeferPlanDeps<TData>,
): (event: EventEnvelope, classified: Classified) => DeferDecision {
  const { group, policy, retryPolicy } = deps;

  function plan(
    event: EventEnvelope,
    final: Extract<Classified['outcome'], { kind: 'defer' }>,
  ): PlannedDefer {
    if (final.timer !== undefined && final.until !== undefined) {
      const timer = { ...final.timer, dueMs: final.until, event: { ...event, targetGroup: group } };
      return { timer: deps.prepare(group, timer), chain: false };
    }
    const reemission = decideDefer({
      policy,
      group,
      event: event as EventEnvelope<TData>,
      until: final.until,
      now: deps.now(),
      random: retryPolicy.random,
    });
    return { timer: deps.prepare(group, reemission), chain: true };
  }

  return (event, classified) => {
    if (classified.outcome.kind !== 'defer') return { classified };
    try {
      return { classified, defer: plan(event, classified.outcome) };
    } catch (error) {
      if (error instanceof ValidationError) {
        return {
          classified: {
            outcome: outcome.dead('invalid defer', errorMessage(error)),
            failures: classified.failures,
          },
        };
      }
      // the job's own code (its deadline) threw: an attempt that failed like any other
      return { classified: classifyAttempt({ threw: error }, classified.failures, retryPolicy) };
    }
  };
}
