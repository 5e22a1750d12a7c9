// The shape of a domain's event contracts: per event type its data schema, producer, partition key and seed source.
import type { z } from 'zod';
import type { EventRegistry } from '../events/registry.js';

/** One event type of a domain, as plain data. */
export interface EventContract {
  /** zod `strictObject` of the envelope's `data`. */
  readonly schema: z.ZodType;
  /** Service id that publishes it (the envelope's `source`); `admin` for operator requests. */
  readonly producer: string;
  /** The `data` field whose value is the envelope's `key` (the partition key). */
  readonly key: string;
  /** Where the seeds say so, e.g. `001 §7 cfb.settle`; `not in the seeds: chosen here` otherwise. */
  readonly seed: string;
}

/** Event type -> contract, for one domain. */
export type EventContracts = Readonly<Record<string, EventContract>>;

/** The typed map of a domain: event type -> the parsed type of its `data`. */
export type EventDataMap<C extends EventContracts> = { [T in keyof C]: z.output<C[T]['schema']> };

/** Registers every type of `contracts` with the domain stream `domain`. */
export function registerEventContracts(
  registry: EventRegistry,
  domain: string,
  contracts: EventContracts,
): void {
  for (const [type, contract] of Object.entries(contracts)) {
    registry.register({ type, domain, schema: contract.schema });
  }
}
