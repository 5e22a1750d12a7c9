// Operator: marks events already handled by the group within the dedupe window as repeats (acked without
// running the handler); one `checkSeen` call per batch, in batch order.
import { concatMap, from, map, of, type ObservableInput, type OperatorFunction } from 'rxjs';
import { outcome } from '../streams/outcome.js';
import { needsHandler, type Prepared, type ToHandle } from './prepared.js';

/** Answers, for each item in order, whether its event id is already marked done. */
export type SeenCheck = (items: readonly ToHandle[]) => ObservableInput<readonly boolean[]>;

/** A failed check errors the stream: the caller decides what happens to the batch (it stays pending). */
export function dedupe(checkSeen: SeenCheck): OperatorFunction<readonly Prepared[], Prepared[]> {
  return concatMap((batch) => {
    const toCheck = batch.filter(needsHandler);
    if (toCheck.length === 0) return of([...batch]);
    return from(checkSeen(toCheck)).pipe(
      map((seen) => {
        let checked = 0;
        return batch.map((item): Prepared => {
          if (!needsHandler(item)) return item;
          return seen[checked++] === true
            ? { delivery: item.delivery, verdict: outcome.ack(), settledAs: 'duplicate' }
            : item;
        });
      }),
    );
  });
}
