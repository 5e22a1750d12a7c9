// What a delivery needs after decoding: its handler (a valid event of a subscribed type), or an outcome
// decided before any handler runs (a skip, a repeat, poison).
import type { EventEnvelope } from '../events/envelope.js';
import type { Delivery } from '../streams/delivery.js';
import type { Outcome } from '../streams/outcome.js';

/** A valid event of a subscribed type, waiting for its handler. */
export interface ToHandle {
  readonly delivery: Delivery;
  readonly event: EventEnvelope;
}

/** An outcome decided without the handler; `settledAs` reports an ack as the skip or repeat it was. */
export interface Decided {
  readonly delivery: Delivery;
  readonly verdict: Outcome;
  readonly settledAs?: 'skip' | 'duplicate';
}

export type Prepared = ToHandle | Decided;

export function needsHandler(item: Prepared): item is ToHandle {
  return 'event' in item;
}
