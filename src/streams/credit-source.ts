// A credit-based RxJS source: waits until it may pull, reserves free credits, fetches at most that many entries,
// gives back what it did not use, optionally paces what it got (e.g. by rate-limit tokens), waits while no credit
// is free and pauses between empty fetches; errors are reported and retried. It never fetches with 0 credits.
import { Observable } from 'rxjs';
import type { Credits } from './credits.js';
import type { Delivery } from './delivery.js';

export interface CreditSourceOptions {
  readonly credits: Credits;
  /** Fetches at most about `reserved` (>= 1) deliveries (a multi-stream read may return a few more). */
  fetch(reserved: number): Promise<{ deliveries: Delivery[]; pauseMs: number }>;
  /**
   * Resolves true when the source may pull (before credits are reserved, so a closed source holds none), false to
   * end the source. Default: always.
   */
  readonly ready?: () => Promise<boolean>;
  /**
   * Hands what a fetch got downstream through `emit`, in parts if it likes (e.g. as rate-limit tokens arrive); runs
   * after the unused credits are given back. The credits of what it has not emitted when it throws go back.
   */
  readonly pace?: (deliveries: Delivery[], emit: (part: Delivery[]) => void) => Promise<void>;
  /**
   * Called when the source may pull but no credit is free, before it waits for one: e.g. to end an idle blocking
   * read of another source that holds the credits (with a concurrency of 1 or 2 a read may hold them all).
   */
  readonly onStarved?: () => void;
  /** Most credits one fetch reserves, so one source cannot starve the others. */
  readonly maxPerFetch?: number;
  /** Aborted on shutdown: the source completes after the fetch in progress. */
  readonly signal: AbortSignal;
  readonly onError: (error: unknown) => void;
  /** Pause after a failed fetch (Redis unreachable). */
  readonly errorPauseMs?: number;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function creditSource(options: CreditSourceOptions): Observable<Delivery[]> {
  const { credits, signal, pace } = options;
  const maxPerFetch = options.maxPerFetch ?? Infinity;
  return new Observable<Delivery[]>((subscriber) => {
    const loop = async (): Promise<void> => {
      while (!signal.aborted && !subscriber.closed) {
        if (options.ready && !(await options.ready())) break;
        if (credits.available <= 0) options.onStarved?.();
        await credits.whenAvailable(signal);
        if (signal.aborted) break;
        // reserve before fetching: several sources share the credits and must not all spend the same ones
        const reserved = Math.min(credits.available, maxPerFetch);
        // another source woken by the same release may have taken them: wait for the next one
        if (reserved < 1) continue;
        credits.take(reserved);
        // credits this loop holds that nothing downstream has taken over yet
        let owed = reserved;
        let pauseMs: number;
        try {
          const result = await options.fetch(reserved);
          pauseMs = result.pauseMs;
          const got = result.deliveries.length;
          if (got > reserved) credits.take(got - reserved);
          else credits.release(reserved - got);
          owed = got;
          const emit = (part: Delivery[]): void => {
            if (part.length === 0) return;
            owed -= part.length;
            subscriber.next(part);
          };
          if (got > 0) {
            if (pace) await pace(result.deliveries, emit);
            else emit(result.deliveries);
          }
        } catch (error) {
          pauseMs = options.errorPauseMs ?? 500;
          if (!signal.aborted) options.onError(error);
        }
        if (owed > 0) credits.release(owed);
        if (signal.aborted) break;
        await abortableSleep(pauseMs, signal);
      }
      subscriber.complete();
    };
    void loop();
  });
}
