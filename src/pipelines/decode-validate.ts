// Operator: turns a batch of deliveries into prepared items: entries of other types or groups are skipped,
// crash loops and invalid data are dead-lettered, valid events of subscribed types go on to their handler.
import { map, type OperatorFunction } from 'rxjs';
import { errorMessage } from '../errors.js';
import type { EventRegistry } from '../events/registry.js';
import { decodeEntry, readEntryHeader } from '../events/wire.js';
import type { Delivery } from '../streams/delivery.js';
import { outcome } from '../streams/outcome.js';
import type { Prepared } from './prepared.js';

export interface DecodeValidateOptions {
  /** The job's group: entries targeted at another group are skipped. */
  readonly group: string;
  /** Subscribed event types; entries of other types are acked and skipped, never dead-lettered. */
  readonly types: Iterable<string>;
  /** Crash-loop guard: a delivery count above this goes to the DLQ without running the handler. */
  readonly maxDeliveries: number;
  readonly registry: Pick<EventRegistry, 'validate'>;
}

/** Prepares one delivery; never throws (a decode or validation failure is a `dead('invalid')` verdict). */
function prepare(delivery: Delivery, options: DecodeValidateOptions, types: ReadonlySet<string>): Prepared {
  const header = readEntryHeader(delivery.fields);
  if (
    header.type === undefined ||
    !types.has(header.type) ||
    (header.targetGroup !== undefined && header.targetGroup !== options.group)
  ) {
    return { delivery, verdict: outcome.ack(), settledAs: 'skip' };
  }
  if (delivery.deliveries > options.maxDeliveries) {
    return { delivery, verdict: outcome.dead('crash-loop', `delivered ${delivery.deliveries} times`) };
  }
  try {
    return { delivery, event: options.registry.validate(decodeEntry(delivery.fields)) };
  } catch (error) {
    return { delivery, verdict: outcome.dead('invalid', errorMessage(error)) };
  }
}

export function decodeValidate(
  options: DecodeValidateOptions,
): OperatorFunction<readonly Delivery[], Prepared[]> {
  const types = new Set(options.types);
  return map((batch) => batch.map((delivery) => prepare(delivery, options, types)));
}
