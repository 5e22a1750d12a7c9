// A credit-based RxJS source: reserves free credits, fetches at most that many entries, gives back what it
// did not use, waits while none are free and pauses between empty fetches; errors are reported and retried.
import { Observable } from 'rxjs';
import type { Credits } from './credits.js';
import type { Delivery } from './delivery.js';

export interface CreditSourceOptions {
  readonly credits: Credits;
  /** Fetches at most about `reserved` deliveries (a multi-stream read may return a few more). */
  fetch(reserved: number): Promise<{ deliveries: Delivery[]; pauseMs: number }>;
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
  const { credits, signal } = options;
  const maxPerFetch = options.maxPerFetch ?? Infinity;
  return new Observable<Delivery[]>((subscriber) => {
    const loop = async (): Promise<void> => {
      while (!signal.aborted && !subscriber.closed) {
        await credits.whenAvailable(signal);
        if (signal.aborted) break;
        // reserve before fetching: several sources share the credits and must not all spend the same ones
        const reserved = Math.min(credits.available, maxPerFetch);
        credits.take(reserved);
        let pauseMs: number;
        try {
          const result = await options.fetch(reserved);
          pauseMs = result.pauseMs;
          const got = result.deliveries.length;
          if (got > reserved) credits.take(got - reserved);
          else credits.release(reserved - got);
          if (got > 0) subscriber.next(result.deliveries);
        } catch (error) {
          credits.release(reserved);
          if (signal.aborted) break;
          options.onError(error);
          pauseMs = options.errorPauseMs ?? 500;
        }
        await abortableSleep(pauseMs, signal);
      }
      subscriber.complete();
    };
    void loop();
  });
}
