// A per-job circuit breaker: closed -> open after N failures within a window -> half-open after openMs ->
// one probe; the probe's success closes it, its failure opens it again. Callers are never refused: while the
// circuit is open they wait, so nothing is handed back to Redis to be redelivered. Time comes from a
// scheduler. Also the operator that runs a handler stage through the breaker.
import {
  Observable,
  Subject,
  asyncScheduler,
  concatMap,
  finalize,
  from,
  mergeMap,
  tap,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { ValidationError } from '../errors.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Failures within `windowMs` that open the circuit. */
  readonly failures: number;
  readonly windowMs: number;
  /** How long the circuit stays open before one probe is let through. */
  readonly openMs: number;
}

export interface CircuitStateChange {
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** Scheduler time of the change. */
  readonly at: number;
}

/** Leave to make one call; give it back with `record` (a result) or `release` (no result). */
export interface CircuitPermit {
  readonly probe: boolean;
}

export interface CircuitBreaker {
  readonly state: CircuitState;
  /** State changes, as they happen; completes on dispose. */
  readonly changes: Observable<CircuitStateChange>;
  /** Ms until an open circuit lets a probe through (0 when not open). */
  msUntilHalfOpen(): number;
  /**
   * Emits one permit when the caller may make its call, then completes; it never refuses. Closed -> at once;
   * open -> the caller waits until half-open; half-open -> the first caller becomes the probe, later callers
   * wait for its verdict (closed: all admitted; open again: they keep waiting). Unsubscribing stops waiting
   * without taking a permit; a caller still waiting when the breaker is disposed gets no permit (completes).
   */
  admit(): Observable<CircuitPermit>;
  /** The result of an admitted call: only calls admitted since the last state change count. */
  record(permit: CircuitPermit, failed: boolean): void;
  /** An admitted call ended without a result (cancelled): a probe slot is freed for the next caller. */
  release(permit: CircuitPermit): void;
  /** Resolves when the circuit is not open (at once if it is not), or when `signal` aborts. */
  whenClosedOrHalfOpen(signal?: AbortSignal): Promise<void>;
  /** Cancels the half-open timer, completes `changes` and ends the wait of callers not yet admitted. */
  dispose(): void;
}

interface Permit extends CircuitPermit {
  readonly generation: number;
}

export function createCircuitBreaker(
  options: CircuitBreakerOptions,
  scheduler: SchedulerLike = asyncScheduler,
): CircuitBreaker {
  for (const name of ['failures', 'windowMs', 'openMs'] as const) {
    const value = options[name];
    if (!Number.isInteger(value) || value < 1) {
      throw new ValidationError(`circuit breaker ${name} must be an integer >= 1, got ${value}`);
    }
  }
  let state: CircuitState = 'closed';
  // bumped on every change, so late results of calls admitted before it are ignored
  let generation = 0;
  let failureTimes: number[] = [];
  let openedAt = 0;
  let probe: Permit | undefined;
  let halfOpenTimer: Subscription | undefined;
  let disposed = false;
  const changes = new Subject<CircuitStateChange>();
  // wakes waiting callers (open or half-open): on every change and when a probe is released without a result
  const wake = new Subject<void>();

  function moveTo(to: CircuitState): void {
    if (disposed) return;
    const from = state;
    state = to;
    generation += 1;
    probe = undefined;
    failureTimes = [];
    halfOpenTimer?.unsubscribe();
    halfOpenTimer = undefined;
    if (to === 'open') {
      openedAt = scheduler.now();
      halfOpenTimer = scheduler.schedule(() => moveTo('half-open'), options.openMs);
    }
    changes.next({ from, to, at: scheduler.now() });
    wake.next();
  }

  function msUntilHalfOpen(): number {
    return state === 'open' ? Math.max(0, openedAt + options.openMs - scheduler.now()) : 0;
  }

  /** A permit now, or undefined when the caller must wait (open, or a probe's verdict is pending). */
  function decide(): Permit | undefined {
    if (state === 'closed') return { probe: false, generation };
    if (state === 'open' || probe !== undefined) return undefined;
    probe = { probe: true, generation };
    return probe;
  }

  return {
    get state() {
      return state;
    },
    changes: changes.asObservable(),
    msUntilHalfOpen,

    admit() {
      return new Observable<CircuitPermit>((subscriber) => {
        // set before emitting: the permit's call may record synchronously, and the wake that follows must not
        // hand this caller a second permit
        let admitted = false;
        const tryNow = (): boolean => {
          if (admitted) return true;
          const permit = decide();
          if (permit === undefined) return false;
          admitted = true;
          subscriber.next(permit);
          subscriber.complete();
          return true;
        };
        if (tryNow()) return undefined;
        if (disposed) {
          subscriber.complete();
          return undefined;
        }
        const waiting = wake.subscribe({
          next: () => {
            if (tryNow()) waiting.unsubscribe();
          },
          complete: () => subscriber.complete(),
        });
        return waiting;
      });
    },

    record(permit, failed) {
      if ((permit as Permit).generation !== generation) return;
      if (state === 'half-open') {
        if (permit === probe) moveTo(failed ? 'open' : 'closed');
        return;
      }
      if (state !== 'closed' || !failed) return;
      const now = scheduler.now();
      failureTimes = failureTimes.filter((at) => at > now - options.windowMs);
      failureTimes.push(now);
      if (failureTimes.length >= options.failures) moveTo('open');
    },

    release(permit) {
      if (state === 'half-open' && permit === probe) {
        probe = undefined;
        wake.next();
      }
    },

    whenClosedOrHalfOpen(signal) {
      if (state !== 'open' || signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = (): void => {
          subscription.unsubscribe();
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const subscription = changes.subscribe({
          next: (change) => {
            if (change.to !== 'open') done();
          },
          complete: done,
        });
        signal?.addEventListener('abort', done, { once: true });
      });
    },

    dispose() {
      disposed = true;
      halfOpenTimer?.unsubscribe();
      halfOpenTimer = undefined;
      changes.complete();
      wake.complete();
    },
  };
}

export interface CircuitBreakerStageOptions<R> {
  /** Whether a call's result counts as a failure (transient failures only: not dead, ack or defer). */
  readonly isFailure: (result: R) => boolean;
}

/**
 * Runs `stage` for each item through the breaker: an item waits for its admission (while the circuit is open,
 * or behind a half-open probe) and is then handed to the stage; results (and errors, as failures) are
 * recorded, a stage that ends without a result gives its permit back. Items run concurrently.
 */
export function throughCircuitBreaker<T, R>(
  breaker: CircuitBreaker,
  stage: (item: T) => ObservableInput<R>,
  options: CircuitBreakerStageOptions<R>,
): OperatorFunction<T, R> {
  return mergeMap((item: T) =>
    breaker.admit().pipe(
      concatMap((permit) => {
        let recorded = false;
        const record = (failed: boolean): void => {
          if (recorded) return;
          recorded = true;
          breaker.record(permit, failed);
        };
        return from(stage(item)).pipe(
          tap({ next: (result) => record(options.isFailure(result)), error: () => record(true) }),
          finalize(() => {
            if (!recorded) breaker.release(permit);
          }),
        );
      }),
    ),
  );
}
