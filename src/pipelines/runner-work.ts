// The work side of a runner, assembled: the attempt (breaker, local rate limit, deadline, handler), the defer
// planner, the outcome settler with its writers, and the item runner that takes prepared items through them.
import type { Redis } from 'ioredis';
import type { SchedulerLike } from 'rxjs';
import type { Clock } from '../clock.js';
import { createDeferWriter } from '../scheduler/defer-writer.js';
import { createTimerWheel } from '../scheduler/timer-wheel.js';
import type { Credits } from '../streams/credits.js';
import type { DedupeWindow } from '../streams/dedupe-window.js';
import type { KeyBuilder } from '../streams/keys.js';
import { createOutcomeWriter } from '../streams/outcome-writer.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { createDeferPlanner } from './defer-plan.js';
import type { HeldEntries } from './held-entries.js';
import { createItemRunner, type ItemRunner } from './item-runner.js';
import { createJobAttempt } from './job-attempt.js';
import type { JobDefinition } from './job-definition.js';
import { createOutcomeSettler } from './outcome-settler.js';
import type { RunnerEmitter } from './runner-events.js';
import type { ResolvedLimits } from './runner-settings.js';

export interface RunnerWorkDeps<TData> {
  readonly job: JobDefinition<TData>;
  readonly group: string;
  readonly consumer: string;
  readonly limits: ResolvedLimits;
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly clock: Clock;
  readonly scheduler: SchedulerLike | undefined;
  readonly breaker: CircuitBreaker | undefined;
  readonly dedupeWindow: DedupeWindow;
  readonly held: HeldEntries;
  readonly credits: Credits;
  readonly emitter: Pick<RunnerEmitter, 'emit' | 'report'>;
}

export interface RunnerWork extends ItemRunner {
  /** Shutdown (grace period over): nothing more starts, calls in flight are aborted, only acks are still written. */
  abortAll(reason: unknown): void;
}

export function createRunnerWork<TData>(deps: RunnerWorkDeps<TData>): RunnerWork {
  const { job, group, consumer, redis, keys, clock, limits } = deps;
  const { emit, report } = deps.emitter;
  const stopped = new AbortController();
  const deferWriter = createDeferWriter({ redis, keys });
  const attempt = createJobAttempt({
    job,
    group,
    timeoutMs: limits.timeoutMs,
    clock,
    breaker: deps.breaker,
    wheel: createTimerWheel({ redis, keys }),
    ...(deps.scheduler === undefined ? {} : { scheduler: deps.scheduler }),
  });
  const items = createItemRunner({
    keyOf: job.keyOf,
    attempt,
    retryPolicy: limits.retryPolicy,
    planDefer: createDeferPlanner({
      group,
      policy: job.defer,
      retryPolicy: limits.retryPolicy,
      now: () => clock.now(),
      prepare: (target, timer) => deferWriter.prepare(target, timer),
    }),
    settle: createOutcomeSettler({
      group,
      consumer,
      clock,
      writer: createOutcomeWriter({ redis, group, consumer, dedupe: deps.dedupeWindow, clock }),
      deferWriter,
    }),
    held: deps.held,
    credits: deps.credits,
    stopped: stopped.signal,
    emitOutcome: (event) => emit('outcome', event),
    report,
  });
  return {
    dispatch: (prepared) => items.dispatch(prepared),
    abortAll(reason) {
      stopped.abort(reason);
      attempt.abortAll(reason);
    },
  };
}
