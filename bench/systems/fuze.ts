// This project as the workloads drive it: the real publisher and job runner from ../src, 4 partitions.
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createPublisher, type Publisher } from '../../src/events/publisher.js';
import { createEventRegistry, type EventRegistry } from '../../src/events/registry.js';
import type { JobHandler } from '../../src/pipelines/job-definition.js';
import { createJobRunner, type RunnerDeps } from '../../src/pipelines/job-runner.js';
import { createKeyBuilder, type KeyBuilder } from '../../src/streams/keys.js';
import { betPayload, DOMAIN, EVENT_TYPE, eventIds, type BetPayload } from '../payload.js';
import { Completion, inBatches } from '../util.js';
import type { RunContext } from '../workload.js';
import type { BenchConsumer } from './consumer.js';

/** PARTITIONS_DEFAULT: what a new domain gets. */
export const FUZE_PARTITIONS = 4;
export const FUZE_JOB = 'bench.settle';

export interface FuzeSetup {
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly registry: EventRegistry;
  readonly publisher: Publisher;
  /** An envelope for bet number i; sentAt goes into the payload for latency runs. */
  event(i: number, sentAt?: number): EventEnvelope<BetPayload>;
  /** A new connection, closed with the setup. */
  connect(): Redis;
  close(): Promise<void>;
}

/**
 * `schema` is the registry's data schema for bet.opened: z.unknown() for the no-op workloads (the envelope is
 * still parsed), the strict bet schema for the full pipeline.
 */
export function fuzeSetup(url: string, schema: z.ZodType = z.unknown()): FuzeSetup {
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const client = new Redis(url, { maxRetriesPerRequest: 3 });
    connections.push(client);
    return client;
  };
  const redis = connect();
  const keys = createKeyBuilder({ prefix: 'bench' });
  const registry = createEventRegistry();
  registry.register({ type: EVENT_TYPE, domain: DOMAIN, schema });
  const publisher = createPublisher({ redis, keys, registry, partitions: () => FUZE_PARTITIONS });
  const nextId = eventIds();
  const occurredAt = new Date().toISOString();
  return {
    redis,
    keys,
    registry,
    publisher,
    connect,
    event(i, sentAt = 0) {
      const data = betPayload(i, sentAt);
      return {
        id: nextId(),
        type: EVENT_TYPE,
        key: data.betId,
        occurredAt,
        source: 'playhub',
        schemaVersion: 1,
        data,
      };
    },
    async close() {
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

/** Publishes bets 0..n-1 in batches of 1000, 4 batches in flight (not measured). */
export async function fuzePrefill(setup: FuzeSetup, n: number): Promise<void> {
  await inBatches(n, 1000, 4, (start, count) =>
    setup.publisher.publishBatch(Array.from({ length: count }, (_, k) => setup.event(start + k))),
  );
}

/** One job runner (concurrency = ctx.concurrency, group created at 0) counting its acks. */
export function fuzeConsumer(
  setup: FuzeSetup,
  ctx: RunContext,
  handler: JobHandler<BetPayload>,
  expected: number,
  settings?: RunnerDeps['settings'],
): BenchConsumer {
  const redis = setup.connect();
  const runner = createJobRunner<BetPayload>(
    {
      name: FUZE_JOB,
      domain: DOMAIN,
      types: [EVENT_TYPE],
      concurrency: ctx.concurrency,
      startId: '0',
      handler,
    },
    {
      redis,
      keys: setup.keys,
      registry: setup.registry,
      partitions: FUZE_PARTITIONS,
      ...(settings ? { settings } : {}),
    },
  );
  const completion = new Completion(expected);
  const errors: unknown[] = [];
  runner.on('outcome', (o) => {
    if (o.kind === 'ack') completion.add();
    else errors.push(new Error(`unexpected outcome ${o.kind}: ${o.reason ?? ''}`));
  });
  runner.on('loopError', (e) => errors.push(e.error));
  let stopping: Promise<void> | undefined;
  return {
    completion,
    errors,
    ready: async () => {
      await redis.ping();
    },
    start: () => runner.start(),
    stop: () => (stopping ??= runner.stop(1000)),
  };
}
