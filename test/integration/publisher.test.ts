// Integration tests of the publisher against a real redis-server: wire fields, idempotency, batches, caps, partitions.
import { ulid } from 'ulid';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ConfigError, PartitionMismatchError, ValidationError } from '../../src/errors.js';
import { minorUnits } from '../../src/events/envelope.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { partitionOf } from '../../src/events/partition.js';
import { ensurePartitionCount } from '../../src/events/partition-store.js';
import { createPublisher } from '../../src/events/publisher.js';
import type { PublisherDeps } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { encodeEvent, eventByteSize } from '../../src/events/wire.js';
import { createDedupeWindow } from '../../src/streams/dedupe-window.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import type { KeyBuilder } from '../../src/streams/keys.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const prefix = testPrefix(import.meta.url);
const PARTITIONS = 4;
const START_MS = 1_795_000_000_000;

let scenarios = 0;

const db = useRedisPerFile();

const registry = createEventRegistry();
registry.register({
  type: 'bet.opened',
  domain: 'playhub',
  schema: z.object({ betId: z.string(), stake: minorUnits }),
});
registry.register({ type: 'escrow.created', domain: 'escrow', schema: z.object({ escrowId: z.string() }) });

function betOpened(betId: string, overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    id: ulid(),
    type: 'bet.opened',
    key: betId,
    occurredAt: '2026-11-23T15:00:00.000Z',
    source: 'playhub',
    schemaVersion: 1,
    data: { betId, stake: '1250' },
    ...overrides,
  };
}

function escrowCreated(escrowId: string): EventEnvelope {
  return { ...betOpened(escrowId), type: 'escrow.created', source: 'escrow', data: { escrowId } };
}

/** A fresh key prefix per scenario, so stream lengths are this scenario's alone. */
function scenario(options: Partial<PublisherDeps> = {}) {
  const keys = createKeyBuilder({ prefix: `${prefix}.${++scenarios}` });
  const clock = new ManualClock(START_MS);
  const publisher = createPublisher({
    redis: db.redis,
    keys,
    registry,
    partitions: () => PARTITIONS,
    clock,
    ...options,
  });
  return { keys, clock, publisher };
}

async function streamLengths(keys: KeyBuilder, domain: string, partitions = PARTITIONS): Promise<number[]> {
  return Promise.all(
    Array.from({ length: partitions }, (_, p) => db.redis.xlen(keys.partition(domain, p).stream)),
  );
}

describe('publish', () => {
  it('XADDs the documented wire fields into the partition of the key', async () => {
    const { keys, publisher } = scenario();
    const event = betOpened('bet-42', {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });

    const result = await publisher.publish(event);

    const partition = partitionOf('bet-42', PARTITIONS);
    const stream = keys.partition('playhub', partition).stream;
    expect(result).toMatchObject({
      eventId: event.id,
      duplicate: false,
      domain: 'playhub',
      partition,
      stream,
    });
    const entries = await db.redis.xrange(stream, '-', '+');
    expect(entries).toEqual([[result.entryId, encodeEvent(event)]]);
    expect(entries[0]?.[1]).toEqual([
      'id',
      event.id,
      'type',
      'bet.opened',
      'key',
      'bet-42',
      'occurredAt',
      '2026-11-23T15:00:00.000Z',
      'source',
      'playhub',
      'v',
      '1',
      'data',
      '{"betId":"bet-42","stake":"1250"}',
      'traceparent',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    ]);
    await expect(db.redis.hget(keys.partitionCounts, 'playhub')).resolves.toBe(String(PARTITIONS));
  });

  it('marks the id in the newest dedupe bucket of the partition, with the bucket TTL', async () => {
    const { keys, publisher } = scenario();
    const result = await publisher.publish(betOpened('bet-7'));

    const window = createDedupeWindow(3_600_000);
    const [newest] = window.bucketsAt(START_MS);
    const bucket = keys.partition('playhub', result.partition).published(newest ?? -1);
    await expect(db.redis.hget(bucket, result.eventId)).resolves.toBe(result.entryId);
    const ttl = await db.redis.pttl(bucket);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(window.bucketTtlMs);
  });

  it('returns the first entry id with duplicate: true for a repeated id, writing nothing', async () => {
    const { keys, publisher } = scenario();
    const event = betOpened('bet-9');

    const first = await publisher.publish(event);
    const again = await publisher.publish(event);
    const [inBatchA, inBatchB] = await publisher.publishBatch([event, event]);

    expect(first.duplicate).toBe(false);
    for (const repeat of [again, inBatchA, inBatchB]) {
      expect(repeat).toEqual({ ...first, duplicate: true });
    }
    expect((await streamLengths(keys, 'playhub')).reduce((a, b) => a + b)).toBe(1);
  });

  it('recognises an id within one batch as a duplicate of its first occurrence', async () => {
    const { keys, publisher } = scenario();
    const event = betOpened('bet-10');
    const [first, second] = await publisher.publishBatch([event, event]);
    expect(first?.duplicate).toBe(false);
    expect(second).toEqual({ ...first, duplicate: true });
    await expect(db.redis.xlen(first?.stream ?? '')).resolves.toBe(1);
    expect((await streamLengths(keys, 'playhub')).reduce((a, b) => a + b)).toBe(1);
  });

  it('publishes the same id again once the dedupe window has passed', async () => {
    const { clock, publisher } = scenario({ dedupeWindowMs: 1000 });
    const window = createDedupeWindow(1000);
    const event = betOpened('bet-11');

    const first = await publisher.publish(event);
    clock.advance(window.windowMs - 1);
    await expect(publisher.publish(event)).resolves.toMatchObject({
      duplicate: true,
      entryId: first.entryId,
    });

    clock.advance(window.bucketTtlMs + 1);
    const later = await publisher.publish(event);
    expect(later.duplicate).toBe(false);
    expect(later.entryId).not.toBe(first.entryId);
    await expect(db.redis.xlen(first.stream)).resolves.toBe(2);
  });
});

describe('publishBatch', () => {
  it('lands each event in partitionOf(key) of its domain and returns results in input order', async () => {
    const { keys, publisher } = scenario();
    const events = [
      ...Array.from({ length: 12 }, (_, i) => betOpened(`bet-${i}`)),
      escrowCreated('escrow-1'),
      escrowCreated('escrow-2'),
    ];

    const results = await publisher.publishBatch(events);

    expect(results.map((result) => result.eventId)).toEqual(events.map((event) => event.id));
    expect(new Set(results.map((result) => result.stream)).size).toBeGreaterThan(2);
    for (const [i, result] of results.entries()) {
      const event = events[i] as EventEnvelope;
      const domain = event.type === 'bet.opened' ? 'playhub' : 'escrow';
      const partition = partitionOf(event.key, PARTITIONS);
      expect(result).toMatchObject({ domain, partition, duplicate: false });
      expect(result.stream).toBe(keys.partition(domain, partition).stream);
      const [entry] = await db.redis.xrange(result.stream, result.entryId, result.entryId);
      expect(entry?.[1]).toEqual(encodeEvent(event));
    }
    expect((await streamLengths(keys, 'playhub')).reduce((a, b) => a + b)).toBe(12);
    expect((await streamLengths(keys, 'escrow')).reduce((a, b) => a + b)).toBe(2);
  });

  it('writes nothing when one event of the batch is invalid', async () => {
    const { keys, publisher } = scenario();
    const good = Array.from({ length: 8 }, (_, i) => betOpened(`bet-${i}`));
    const badData = betOpened('bet-x', { data: { betId: 'bet-x', stake: '12.50' } });

    const error = await publisher
      .publishBatch([...good, badData, escrowCreated('e-1')])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(
      /^events\[8\] \(id [0-9A-Z]{26}\): .*nothing in the batch/,
    );
    expect((error as ValidationError).issues).toEqual([
      { path: '[8].data.stake', message: 'expected integer minor units as a decimal string' },
    ]);
    expect(await streamLengths(keys, 'playhub')).toEqual([0, 0, 0, 0]);
    expect(await streamLengths(keys, 'escrow')).toEqual([0, 0, 0, 0]);
  });

  it.each([
    ['an unknown type', { type: 'bet.exploded' }, /unknown event type "bet\.exploded"/],
    ['an invalid envelope', { occurredAt: '2026-11-23T15:00:00+01:00' }, /occurredAt/],
    ['an extra envelope field', { amount: 5 }, /amount/],
  ])('writes nothing for %s', async (_name, overrides, message) => {
    const { keys, publisher } = scenario();
    const bad = { ...betOpened('bet-y'), ...overrides } as EventEnvelope;
    await expect(publisher.publishBatch([betOpened('bet-1'), bad])).rejects.toThrow(message);
    await expect(publisher.publish(bad)).rejects.toThrow(ValidationError);
    expect(await streamLengths(keys, 'playhub')).toEqual([0, 0, 0, 0]);
  });
});

describe('size cap', () => {
  it('accepts an event of exactly the cap and rejects one byte more, writing nothing', async () => {
    const event = betOpened('bet-big', { data: { betId: 'bet-big', stake: '1', note: 'é'.repeat(300) } });
    const size = eventByteSize(encodeEvent(event));
    const tight = scenario({ maxEventBytes: size - 1 });
    const exact = scenario({ maxEventBytes: size });

    await expect(tight.publisher.publish(event)).rejects.toThrow(
      new RegExp(`is ${size} bytes encoded, over the ${size - 1}-byte cap`),
    );
    expect(await streamLengths(tight.keys, 'playhub')).toEqual([0, 0, 0, 0]);
    await expect(exact.publisher.publish(event)).resolves.toMatchObject({ duplicate: false });
  });

  it('rejects a batch with one over-size event, writing nothing', async () => {
    const { keys, publisher } = scenario();
    const huge = betOpened('bet-huge', { data: { betId: 'bet-huge', stake: '1', blob: 'x'.repeat(70_000) } });
    await expect(publisher.publishBatch([betOpened('bet-1'), huge])).rejects.toThrow(
      /over the 65536-byte cap/,
    );
    expect(await streamLengths(keys, 'playhub')).toEqual([0, 0, 0, 0]);
  });
});

describe('partition counts', () => {
  it('refuses to publish into a domain stored with another partition count', async () => {
    const { keys, publisher } = scenario();
    await publisher.publish(betOpened('bet-1'));
    const eight = createPublisher({ redis: db.redis, keys, registry, partitions: () => 8 });

    await expect(eight.publish(betOpened('bet-2'))).rejects.toThrow(PartitionMismatchError);
    await expect(eight.publish(betOpened('bet-2'))).rejects.toThrow(
      /has 4 partitions in Redis .* configured with 8/,
    );
    expect((await streamLengths(keys, 'playhub', 8)).reduce((a, b) => a + b)).toBe(1);
  });

  it('ensurePartitionCount records the first count and rejects a different one', async () => {
    const { keys } = scenario();
    await ensurePartitionCount(db.redis, keys, 'escrow', 16);
    await ensurePartitionCount(db.redis, keys, 'escrow', 16);
    await expect(ensurePartitionCount(db.redis, keys, 'escrow', 2)).rejects.toThrow(PartitionMismatchError);
    await expect(ensurePartitionCount(db.redis, keys, 'escrow', 0)).rejects.toThrow(ValidationError);
    await expect(db.redis.hget(keys.partitionCounts, 'escrow')).resolves.toBe('16');
  });

  it('refuses invalid options and partition counts as configuration errors', async () => {
    expect(() => scenario({ maxEventBytes: 0 })).toThrow(ConfigError);
    expect(() => scenario({ dedupeWindowMs: 10 })).toThrow(ConfigError);
    const { publisher } = scenario({ partitions: () => 0 });
    await expect(publisher.publish(betOpened('bet-1'))).rejects.toThrow(ConfigError);
  });
});

describe('streamMaxLen', () => {
  it('caps the stream approximately on XADD', async () => {
    const { publisher } = scenario({ streamMaxLen: 10, partitions: () => 1 });
    const results = await publisher.publishBatch(
      Array.from({ length: 300 }, (_, i) => betOpened(`bet-${i}`)),
    );
    const length = await db.redis.xlen(results[0]?.stream ?? '');
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(300);
  });
});

describe('re-emission fields', () => {
  it('refuses targetGroup and repetition from producers, writing nothing; allowReemission accepts them', async () => {
    const { keys, publisher } = scenario();
    const aimed = betOpened('bet-aimed', { targetGroup: 'cfb.settle' });
    const repeated = betOpened('bet-repeated', { repetition: 3 });
    await expect(publisher.publish(aimed)).rejects.toThrow(/sets targetGroup, which only re-emissions carry/);
    await expect(publisher.publish(repeated)).rejects.toThrow(ValidationError);
    await expect(publisher.publishBatch([betOpened('bet-plain'), repeated])).rejects.toThrow(
      /events\[1\].*sets repetition/,
    );
    expect(await streamLengths(keys, 'playhub')).toEqual([0, 0, 0, 0]);

    const { keys: operatorKeys, publisher: operator } = scenario({ allowReemission: true });
    await operator.publishBatch([aimed, repeated]);
    expect((await streamLengths(operatorKeys, 'playhub')).reduce((a, b) => a + b, 0)).toBe(2);
  });
});
