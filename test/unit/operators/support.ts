// Shared pieces of the operator tests: a TestScheduler that compares with vitest, deliveries and events.
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import { z } from 'zod';
import type { EventEnvelope } from '../../../src/events/envelope.js';
import { createEventRegistry, type EventRegistry } from '../../../src/events/registry.js';
import { encodeEvent } from '../../../src/events/wire.js';
import type { Delivery } from '../../../src/streams/delivery.js';
import { createKeyBuilder } from '../../../src/streams/keys.js';

export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

export const partition = createKeyBuilder({ prefix: 'unit' }).partition('playhub', 0);

export function registry(): EventRegistry {
  const r = createEventRegistry();
  r.register({ type: 'bet.opened', domain: 'playhub', schema: z.strictObject({ betId: z.string() }) });
  r.register({ type: 'bet.cancelled', domain: 'playhub', schema: z.strictObject({ betId: z.string() }) });
  return r;
}

let sequence = 0;

/** A valid envelope with a fresh ULID-shaped id. */
export function event(key: string, overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  sequence += 1;
  return {
    id: `01J${String(sequence).padStart(23, '0')}`,
    type: 'bet.opened',
    key,
    occurredAt: '2025-01-01T00:00:00.000Z',
    source: 'playhub',
    schemaVersion: 1,
    data: { betId: key },
    ...overrides,
  };
}

export function delivery(fields: readonly string[], overrides: Partial<Delivery> = {}): Delivery {
  sequence += 1;
  return {
    partition,
    entryId: `1-${sequence}`,
    fields,
    failures: 0,
    deliveries: 1,
    source: 'new',
    ...overrides,
  };
}

export function deliveryOf(e: EventEnvelope, overrides: Partial<Delivery> = {}): Delivery {
  return delivery(encodeEvent(e), overrides);
}
