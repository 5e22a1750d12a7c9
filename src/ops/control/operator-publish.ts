// Publishing by hand: the registry of the shipped packs (plus cron.tick) and an envelope built from a type and its
// data, published through the ordinary publisher (validation, partition, idempotency by event id).
import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { EventEnvelope } from '../../events/envelope.js';
import { createPublisher } from '../../events/publisher.js';
import type { PublishResult } from '../../events/publisher.js';
import { createEventRegistry } from '../../events/registry.js';
import type { EventRegistry } from '../../events/registry.js';
import type { JobPack } from '../../jobs/catalog.js';
import { DEFAULT_CRON_DOMAIN, registerCronTick } from '../../scheduler/cron-tick-event.js';
import type { KeyBuilder } from '../../streams/keys.js';
import { storedPartitionCount } from './stream-discovery.js';

/** Every event type the packs register, and `cron.tick`, as the worker registers them. */
export function packRegistry(packs: readonly JobPack[]): EventRegistry {
  const registry = createEventRegistry();
  registerCronTick(registry, DEFAULT_CRON_DOMAIN);
  for (const pack of packs) pack.register(registry);
  return registry;
}

export interface OperatorEventInput {
  readonly type: string;
  readonly data: unknown;
  /** Partition key; default the event id. */
  readonly key?: string;
  /** Default a new ULID; give one to make a retried publish idempotent. */
  readonly id?: string;
  readonly source: string;
  readonly schemaVersion?: number;
  readonly occurredAt?: string;
  readonly traceparent?: string;
  readonly targetGroup?: string;
}

export interface OperatorPublishDeps {
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly registry: EventRegistry;
  /** Partitions of a domain that has none stored in Redis yet (PARTITIONS_DEFAULT). */
  readonly partitionsDefault: number;
  readonly dedupeWindowMs?: number;
  readonly maxEventBytes?: number;
  readonly clock?: Clock;
}

/** The envelope an operator's input stands for. */
export function operatorEnvelope(input: OperatorEventInput, clock: Clock = systemClock): EventEnvelope {
  const id = input.id ?? ulid(clock.now());
  return {
    id,
    type: input.type,
    key: input.key ?? id,
    occurredAt: input.occurredAt ?? new Date(clock.now()).toISOString(),
    source: input.source,
    schemaVersion: input.schemaVersion ?? 1,
    data: input.data,
    ...(input.traceparent === undefined ? {} : { traceparent: input.traceparent }),
    ...(input.targetGroup === undefined ? {} : { targetGroup: input.targetGroup }),
  };
}

/** Validates and publishes one event into its domain's partition (the count Redis stores, else the default). */
export async function publishOperatorEvent(
  deps: OperatorPublishDeps,
  input: OperatorEventInput,
): Promise<PublishResult & { readonly event: EventEnvelope }> {
  const event = operatorEnvelope(input, deps.clock);
  const domain = deps.registry.domainOf(event.type);
  const partitions = await storedPartitionCount(deps.redis, deps.keys, domain, deps.partitionsDefault);
  const publisher = createPublisher({
    redis: deps.redis,
    keys: deps.keys,
    registry: deps.registry,
    partitions: () => partitions,
    // `publish --target-group` aims an event at one job, as a re-emission would
    allowReemission: true,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.dedupeWindowMs === undefined ? {} : { dedupeWindowMs: deps.dedupeWindowMs }),
    ...(deps.maxEventBytes === undefined ? {} : { maxEventBytes: deps.maxEventBytes }),
  });
  return { ...(await publisher.publish(event)), event };
}
