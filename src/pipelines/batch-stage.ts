// The batch stage of a runner: each fetched batch is decoded and validated (skips, poison, crash loops decided) and
// checked against the group's dedupe marks in one call, one batch at a time. A batch whose check fails stays pending
// (reclaimed later): its holds and credits are given back and the failure reported.
import { catchError, concatMap, of, pipe, type OperatorFunction } from 'rxjs';
import type { EventRegistry } from '../events/registry.js';
import type { Credits } from '../streams/credits.js';
import type { Delivery } from '../streams/delivery.js';
import { decodeValidate } from './decode-validate.js';
import { dedupe, type SeenCheck } from './dedupe.js';
import type { HeldEntries } from './held-entries.js';
import type { Prepared } from './prepared.js';

export interface BatchStageOptions {
  readonly group: string;
  readonly types: Iterable<string>;
  readonly maxDeliveries: number;
  readonly registry: Pick<EventRegistry, 'validate'>;
  readonly seenCheck: SeenCheck;
  readonly held: HeldEntries;
  readonly credits: Credits;
  readonly report: (where: string) => (error: unknown) => void;
}

export function prepareBatches(options: BatchStageOptions): OperatorFunction<Delivery[], Prepared[]> {
  const { held, credits } = options;
  const prepare = pipe(
    decodeValidate({
      group: options.group,
      types: options.types,
      maxDeliveries: options.maxDeliveries,
      registry: options.registry,
    }),
    dedupe(options.seenCheck),
  );

  function failBatch(batch: readonly Delivery[], error: unknown): Prepared[] {
    options.report('prepare')(error);
    for (const delivery of batch) {
      held.forget(delivery);
      credits.release(1);
    }
    return [];
  }

  return concatMap((batch) =>
    of(batch).pipe(
      prepare,
      catchError((error: unknown) => of(failBatch(batch, error))),
    ),
  );
}
