// The per-attempt timeout: an attempt gets its own AbortSignal (also aborted by a parent signal, e.g. a
// forced shutdown); when the deadline passes first, the signal aborts and the attempt ends with `onTimeout`.
// Work that ignores its signal keeps running in the background; its late result is discarded.
import {
  Observable,
  asyncScheduler,
  defer,
  from,
  map,
  mergeMap,
  race,
  timer,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';

export interface AttemptTimeoutOptions<R> {
  readonly timeoutMs: number;
  readonly onTimeout: () => R;
  /** Aborting it aborts the attempt's signal too (the attempt itself still decides what it returns). */
  readonly signal?: AbortSignal;
  readonly scheduler?: SchedulerLike;
}

/** Runs `work` once per subscription with a deadline; unsubscribing before a result aborts its signal. */
export function attemptWithTimeout<R>(
  work: (signal: AbortSignal) => ObservableInput<R>,
  options: AttemptTimeoutOptions<R>,
): Observable<R> {
  const { timeoutMs, signal: parent } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  return new Observable<R>((subscriber) => {
    const controller = new AbortController();
    const abortFromParent = (): void => controller.abort(parent?.reason);
    if (parent?.aborted) abortFromParent();
    else parent?.addEventListener('abort', abortFromParent, { once: true });
    let settled = false;
    const timedOut$ = timer(timeoutMs, scheduler).pipe(
      map(() => {
        controller.abort(new Error(`handler timed out after ${timeoutMs} ms`));
        return options.onTimeout();
      }),
    );
    const subscription = race(
      defer(() => from(work(controller.signal))),
      timedOut$,
    ).subscribe({
      next: (value) => {
        settled = true;
        subscriber.next(value);
      },
      error: (error: unknown) => {
        settled = true;
        subscriber.error(error);
      },
      complete: () => {
        settled = true;
        subscriber.complete();
      },
    });
    return () => {
      subscription.unsubscribe();
      parent?.removeEventListener('abort', abortFromParent);
      if (!settled) controller.abort(new Error('attempt cancelled'));
    };
  });
}

/** Operator form: each item's attempt runs with its own signal and deadline, concurrently. */
export function withTimeout<T, R>(
  run: (item: T, signal: AbortSignal) => ObservableInput<R>,
  options: Omit<AttemptTimeoutOptions<R>, 'onTimeout'> & { readonly onTimeout: (item: T) => R },
): OperatorFunction<T, R> {
  return mergeMap((item: T) =>
    attemptWithTimeout((signal) => run(item, signal), {
      ...options,
      onTimeout: () => options.onTimeout(item),
    }),
  );
}
