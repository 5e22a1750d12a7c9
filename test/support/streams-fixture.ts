// Shared set-up for streams tests: a private redis-server, a per-file key prefix, a registry with test event
// types, a publisher and runner factories that are all closed together.
import { Redis } from 'ioredis';
import { monotonicFactory } from 'ulid';
import { z } from 'zod';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createPublisher, type Publisher } from '../../src/events/publisher.js';
import { createEventRegistry, type EventRegistry } from '../../src/events/registry.js';
import { createJobRunner, type JobRunner, type RunnerDeps } from '../../src/pipelines/job-runner.js';
import type { JobDefinition } from '../../src/pipelines/job-definition.js';
import { createKeyBuilder, type KeyBuilder } from '../../src/streams/keys.js';
import { startRedisServer, type RedisServerHandle, type RedisServerOptions } from './redis-server.js';
import { testPrefix } from './prefix.js';

export const DOMAIN = 'playhub';
export const betOpened = z.strictObject({ betId: z.string(), tEnd: z.string().optional() });

export interface StreamsFixture {
  readonly server: RedisServerHandle;
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly registry: EventRegistry;
  readonly publisher: Publisher;
  readonly partitions: number;
  /** A new connection closed with the fixture. */
  connect(): Redis;
  event(key: string, data?: Record<string, unknown>, type?: string): EventEnvelope;
  runner<T>(job: JobDefinition<T>, overrides?: Partial<RunnerDeps>): JobRunner;
  close(): Promise<void>;
}

const nextId = monotonicFactory();

export async function createStreamsFixture(
  name: string,
  options: { partitions?: number; redis?: RedisServerOptions } = {},
): Promise<StreamsFixture> {
  const server = await startRedisServer(options.redis);
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const client = new Redis(server.url, { maxRetriesPerRequest: 3 });
    connections.push(client);
    return client;
  };
  const redis = connect();
  const keys = createKeyBuilder({ prefix: testPrefix(name) });
  const registry = createEventRegistry();
  registry.register({ type: 'bet.opened', domain: DOMAIN, schema: betOpened });
  registry.register({ type: 'bet.cancelled', domain: DOMAIN, schema: betOpened });
  const partitions = options.partitions ?? 4;
  const publisher = createPublisher({ redis, keys, registry, partitions: () => partitions });
  const runners: JobRunner[] = [];

  return {
    server,
    redis,
    keys,
    registry,
    publisher,
    partitions,
    connect,
    event: (key, data = { betId: key }, type = 'bet.opened') => ({
      id: nextId(),
      type,
      key,
      occurredAt: new Date().toISOString(),
      source: 'playhub',
      schemaVersion: 1,
      data,
    }),
    runner(job, overrides = {}) {
      const runner = createJobRunner(job, { redis: connect(), keys, registry, partitions, ...overrides });
      runners.push(runner);
      return runner;
    },
    async close() {
      await Promise.all(runners.map((r) => r.stop(0)));
      for (const c of connections) c.disconnect();
      await server.shutdown();
    },
  };
}

/** Resolves when `predicate` holds, polling every 20 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
