// Keyed concurrency: inside one consumer, at most one handler per key runs at a time; different keys run
// in parallel (overall concurrency is bounded upstream by the consumer's credits).
import { from, mergeMap, type ObservableInput, type OperatorFunction } from 'rxjs';

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

export function keyedConcurrency<T, R>(
  keyOf: (item: T) => string,
  project: (item: T) => Promise<R>,
): OperatorFunction<T, R> {
  const mutex = new KeyedMutex();
  return mergeMap((item: T): ObservableInput<R> => from(mutex.run(keyOf(item), () => project(item))));
}
