// One attempt of a job's handler as a plain async function: circuit breaker admission (waiting while open, still
// held), a token of the job's local rate limit, then the call under its deadline. Before the handler, a runAt job
// puts the event on the timer wheel, and an event past its deadline or run limit gets the timeout action instead.
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { Clock } from '../clock.js';
import type { EventEnvelope } from '../events/envelope.js';
import type { TimerWheel } from '../scheduler/timer-wheel.js';
import type { Delivery } from '../streams/delivery.js';
import { isOutcome, outcome as outcomes, type Outcome } from '../streams/outcome.js';
import { createAttemptDeadlines } from './attempt-deadlines.js';
import type { CircuitBreaker, CircuitPermit } from './circuit-breaker.js';
import { isTransientFailure, type AttemptResult } from './classify-outcome.js';
import { timeoutBeforeRun, type DeferCause } from './deferral.js';
import type { JobDefinition } from './job-definition.js';
import type { ToHandle } from './prepared.js';
import { createTokenBucket, type TokenBucket } from './rate-limit.js';

export interface JobAttemptDeps<TData> {
  readonly job: JobDefinition<TData>;
  readonly group: string;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly scheduler?: SchedulerLike;
  readonly breaker?: CircuitBreaker | undefined;
  readonly wheel: Pick<TimerWheel, 'cancel'>;
}

export interface JobAttempt {
  /** What the attempt produced, or undefined when no call was made because the runner was stopping. */
  run(item: ToHandle): Promise<AttemptResult | undefined>;
  /** Shutdown: aborts calls in flight, and callers waiting for admission stop waiting (no call). */
  abortAll(reason: unknown): void;
}

export function createJobAttempt<TData>(deps: JobAttemptDeps<TData>): JobAttempt {
  const { job, group, clock, breaker, timeoutMs } = deps;
  const scheduler = deps.scheduler ?? asyncScheduler;
  const deadlines = createAttemptDeadlines(timeoutMs, scheduler);
  const bucket: TokenBucket | undefined = job.rateLimit && createTokenBucket({ ...job.rateLimit, scheduler });
  const timedOut = (): AttemptResult => ({
    decided: outcomes.retry(`handler timed out after ${timeoutMs} ms`),
  });
  const waiting = new Set<() => void>();
  let stopping = false;

  /** A permit once the breaker admits the call; undefined when the wait ended without one (shutdown). */
  function admission(circuit: CircuitBreaker): Promise<CircuitPermit | undefined> {
    return new Promise((resolve) => {
      let permit: CircuitPermit | undefined;
      const cancel = (): void => {
        subscription.unsubscribe();
        resolve(undefined);
      };
      const subscription: Subscription = circuit.admit().subscribe({
        next: (p) => (permit = p),
        complete: () => {
          waiting.delete(cancel);
          resolve(permit);
        },
      });
      // admitted at once (closed circuit): nothing to cancel
      if (!subscription.closed) waiting.add(cancel);
    });
  }

  async function call(item: ToHandle, signal: AbortSignal): Promise<AttemptResult> {
    // a call not started before a forced shutdown is not made, and is not a failure
    if (signal.aborted) return { decided: outcomes.retry('shutting down'), countsAsFailure: false };
    const { delivery } = item;
    const event = item.event as EventEnvelope<TData>;
    try {
      const scheduled = job.runAt === undefined ? undefined : await runAtVerdict(event, delivery);
      if (scheduled !== undefined) return { returned: scheduled };
      const cause = job.defer && timeoutBeforeRun(job.defer, event, nowFor(delivery));
      if (cause) return { returned: await runTimeoutAction(event, cause, signal) };
      const ctx = {
        job: group,
        entryId: delivery.entryId,
        attempt: delivery.failures + 1,
        failures: delivery.failures,
        partition: delivery.partition.index,
        signal,
      };
      return { returned: await job.handler(event, ctx) };
    } catch (error) {
      return { threw: error };
    }
  }

  /**
   * runAt: a cancelling type cancels the entity's timer; an original event goes through the wheel even when its
   * time has passed, so a late or repeated fact meets the tombstone of a timer that already fired. Events aimed
   * at this group (its fired timers, deferrals, DLQ replays) are handled.
   */
  async function runAtVerdict(event: EventEnvelope<TData>, delivery: Delivery): Promise<Outcome | undefined> {
    const runAt = job.runAt;
    if (runAt === undefined || event.targetGroup === group) return undefined;
    const id = `${group}:${runAt.timerId(event)}`;
    if (runAt.cancelOn?.includes(event.type)) {
      await deps.wheel.cancel(delivery.partition, id);
      return outcomes.ack();
    }
    const at = runAt.at(event);
    if (at === undefined) return undefined;
    // checked (and dead-lettered when invalid) before anything is written: see defer-plan.ts. A time already past
    // is floored at the entry's Redis time, never the worker clock: a clock running ahead must not delay the timer
    const until = Math.max(at, Number(delivery.entryId.split('-')[0]));
    return { kind: 'defer', until, reason: 'scheduled', timer: { id, version: runAt.version?.(event) ?? 0 } };
  }

  /** The job's timeout action (deadline passed, run limit reached); it may not defer again. */
  async function runTimeoutAction(
    event: EventEnvelope<TData>,
    cause: DeferCause,
    signal: AbortSignal,
  ): Promise<unknown> {
    const why = cause === 'deadline' ? 'deadline passed' : 'repeat limit reached';
    if (!job.defer?.onTimeout) return outcomes.dead(why);
    const result = await job.defer.onTimeout(event, cause, signal);
    return isOutcome(result) && result.kind === 'defer'
      ? outcomes.dead(why, `the timeout action deferred: ${result.reason}`)
      : result;
  }

  /** The later of the worker clock and the entry's Redis time, so a re-emission due at a deadline is past it. */
  function nowFor(delivery: Delivery): number {
    return Math.max(clock.now(), Number(delivery.entryId.split('-')[0]));
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => scheduler.schedule(() => resolve(), ms));
  }

  return {
    async run(item) {
      if (stopping) return undefined;
      let permit: CircuitPermit | undefined;
      if (breaker) {
        permit = await admission(breaker);
        if (permit === undefined) return undefined;
        // admitted after the grace period (its entry was released): no call, and the permit goes back unrecorded
        if (stopping) {
          breaker.release(permit);
          return undefined;
        }
      }
      if (bucket) {
        const waitMs = bucket.reserve();
        if (waitMs > 0) await sleep(waitMs);
      }
      const result = await deadlines.run((signal) => call(item, signal), timedOut);
      if (breaker && permit) breaker.record(permit, isTransientFailure(result));
      return result;
    },
    abortAll(reason) {
      stopping = true;
      for (const cancel of waiting) cancel();
      waiting.clear();
      deadlines.abortAll(reason);
    },
  };
}
