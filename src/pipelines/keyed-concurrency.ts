// Keyed concurrency: inside one consumer, at most one handler per key runs at a time; different keys run
// in parallel (overall concurrency is bounded upstream by the consumer's credits).
import { Observable, Subscription, from, type ObservableInput, type OperatorFunction } from 'rxjs';

/** Serialises async work per key; keys with nothing queued are forgotten, so memory stays bounded. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  get activeKeys(): number {
    return this.tails.size;
  }

  run<R>(key: string, work: () => Promise<R>): Promise<R> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/**
 * Projects each item, one at a time per key in arrival order, keys in parallel. A key's queue is dropped
 * when it runs empty, so memory stays bounded by the items in flight. Completes when the source has
 * completed and every queue has drained; an error in the source or a projection errors the output.
 */
export function keyedConcurrency<T, R>(
  keyOf: (item: T) => string,
  project: (item: T) => ObservableInput<R>,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      // a key is present while one of its items runs; the array holds the items waiting behind it
      const queues = new Map<string, T[]>();
      const running = new Subscription();
      let sourceDone = false;

      const completeIfDone = (): void => {
        if (sourceDone && queues.size === 0) subscriber.complete();
      };

      const start = (key: string, item: T): void => {
        const inner = new Subscription();
        running.add(inner);
        let finished = false;
        const next = (): void => {
          if (finished) return;
          finished = true;
          running.remove(inner);
          const waiting = queues.get(key);
          const following = waiting?.shift();
          if (following === undefined) {
            queues.delete(key);
            completeIfDone();
          } else start(key, following);
        };
        inner.add(
          from(project(item)).subscribe({
            next: (value) => subscriber.next(value),
            error: (error: unknown) => subscriber.error(error),
            complete: next,
          }),
        );
      };

      const fromSource = source.subscribe({
        next: (item) => {
          let key: string;
          try {
            key = keyOf(item);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          const waiting = queues.get(key);
          if (waiting === undefined) {
            queues.set(key, []);
            start(key, item);
          } else waiting.push(item);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          completeIfDone();
        },
      });
      return () => {
        fromSource.unsubscribe();
        running.unsubscribe();
      };
    });
}
