// The facts mock services publish when a helper changes their state (bet.opened, escrow.created, ...): envelopes
// built as a real producer builds them, validated by the event contract and handed to the platform's publisher.
import { monotonicFactory } from 'ulid';
import type { z } from 'zod';
import type { Clock } from '../../src/clock.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import type { Random } from './seeded-random.js';

/** Where produced events go: src/events/publisher.ts createPublisher() fits. */
export interface EventSink {
  publish(event: EventEnvelope): Promise<unknown>;
}

export interface EmitOptions {
  /** false: change the state without publishing the fact (data created before go-live, a lost XADD). */
  readonly publish?: boolean;
}

export interface EventProducer {
  /** Builds the envelope (ULID id, occurredAt now), records it and publishes it when a publisher is set. */
  emit<S extends z.ZodType>(
    source: string,
    type: string,
    schema: S,
    key: string,
    data: z.input<S>,
    options?: EmitOptions,
  ): Promise<EventEnvelope | undefined>;
  /** Events built so far (the latest 10 000), published or not: tests without a publisher publish them. */
  readonly emitted: readonly EventEnvelope[];
}

const MAX_KEPT = 10_000;

export function createEventProducer(deps: {
  readonly clock: Clock;
  readonly random: Random;
  readonly publisher?: EventSink | undefined;
}): EventProducer {
  const nextId = monotonicFactory(deps.random);
  const emitted: EventEnvelope[] = [];
  return {
    emitted,
    async emit(source, type, schema, key, data, options = {}) {
      if (options.publish === false) return undefined;
      const now = deps.clock.now();
      const event: EventEnvelope = {
        id: nextId(now),
        type,
        key,
        occurredAt: new Date(now).toISOString(),
        source,
        schemaVersion: 1,
        data: schema.parse(data),
      };
      emitted.push(event);
      if (emitted.length > MAX_KEPT) emitted.shift();
      if (deps.publisher) await deps.publisher.publish(event);
      return event;
    },
  };
}
