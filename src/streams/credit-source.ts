// A credit-based RxJS source: repeatedly fetches batches sized by the free credits, waits while none are
// free, and pauses between empty fetches; errors are reported and retried, never end the stream.
import { Observable } from 'rxjs';
import type { Credits } from './credits.js';
import type { Delivery } from './delivery.js';

export interface CreditSourceOptions {
  readonly credits: Credits;
  /** Fetches at most about `free` deliveries. */
  fetch(free: number): Promise<{ deliveries: Delivery[]; pauseMs: number }>;
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
  return new Observable<Delivery[]>((subscriber) => {
    const loop = async (): Promise<void> => {
      while (!signal.aborted && !subscriber.closed) {
        await credits.whenAvailable(signal);
        if (signal.aborted) break;
        let pauseMs: number;
        try {
          const result = await options.fetch(credits.available);
          pauseMs = result.pauseMs;
          if (result.deliveries.length > 0) {
            credits.take(result.deliveries.length);
            subscriber.next(result.deliveries);
          }
        } catch (error) {
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
