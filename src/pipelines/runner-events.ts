// What a job runner reports (outcomes, alarms, loop errors, circuit and control changes) and the guarded emitter it
// reports through: a listener that throws is reported as a loop error, never inside the pipeline or a source loop.
import { EventEmitter } from 'node:events';
import type { JobState } from '../ops/control/job-control.js';
import type { Delivery } from '../streams/delivery.js';
import type { Outcome } from '../streams/outcome.js';
import type { CircuitStateChange } from './circuit-breaker.js';

export interface OutcomeEvent {
  readonly job: string;
  readonly entryId: string;
  readonly stream: string;
  readonly eventId: string | undefined;
  readonly kind: Outcome['kind'] | 'skip' | 'duplicate';
  readonly source: Delivery['source'];
  readonly reason?: string;
  readonly failures: number;
  /** For retries and defers: ms until the retry hint is due. */
  readonly delayMs?: number;
}

/** A job control change (pause, resume, drain) this runner applied: nothing it closes is pulled from now on. */
export interface ControlEvent {
  readonly job: string;
  readonly state: JobState;
  /** The job's control version (raised on every change). */
  readonly version: number;
}

export interface RunnerEvents {
  outcome: [OutcomeEvent];
  dataLoss: [{ job: string; stream: string; ids: string[] }];
  ownershipLost: [{ job: string; stream: string; ids: string[] }];
  loopError: [{ job: string; where: string; error: unknown }];
  stopped: [{ job: string; released: number }];
  /** The job's circuit breaker changed state (open: the job pulls nothing until half-open). */
  circuit: [{ job: string } & CircuitStateChange];
  /** The job's control state was applied (also at start when one was ever set). */
  control: [ControlEvent];
}

export type RunnerEventName = keyof RunnerEvents;

export interface RunnerEmitter {
  readonly emitter: EventEmitter<RunnerEvents>;
  /** Emits to the listeners; one that throws is reported as a `loopError` at `<name>-listener`. */
  readonly emit: <K extends RunnerEventName>(name: K, ...args: RunnerEvents[K]) => void;
  /** A reporter of errors at one place of the runner, as `loopError` events. */
  readonly report: (where: string) => (error: unknown) => void;
}

export function createRunnerEmitter(job: string): RunnerEmitter {
  const emitter = new EventEmitter<RunnerEvents>();
  const untyped = emitter as EventEmitter;

  function emit<K extends RunnerEventName>(name: K, ...args: RunnerEvents[K]): void {
    try {
      untyped.emit(name, ...args);
    } catch (error) {
      // a loopError listener that throws has nowhere left to report to
      if (name !== 'loopError') report(`${name}-listener`)(error);
    }
  }

  function report(where: string): (error: unknown) => void {
    return (error) => emit('loopError', { job, where, error });
  }

  return { emitter, emit, report };
}
