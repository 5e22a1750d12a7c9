// Tests of the retention trimmer against a real redis-server: it removes acked entries only, never pending or
// undelivered ones; slow, idle, forgotten and not-yet-created groups pin; hard-cap alarm and drop policy; DLQ retention.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ValidationError } from '../../src/errors.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { createTrimmer, trimmedUnackedField } from '../../src/streams/trimmer.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
let domainSeq = 0;

const db = useRedisPerFile();

/** A fresh domain per test, so tests never share a stream. */
function freshPartition(): { domain: string; partition: number; stream: string; dlq: string } {
  const domain = `d${++domainSeq}`;
  const { stream, dlq } = keys.partition(domain, 0);
  return { domain, partition: 0, stream, dlq };
}

async function addEntries(stream: string, ids: readonly string[]): Promise<void> {
  for (const id of ids) await db.redis.xadd(stream, id, 'n', id);
}

/** Ids `1000-0`, `2000-0`, ... */
function ids(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${(i + 1) * 1000}-0`);
}

async function readAs(stream: string, group: string, count: number): Promise<void> {
  await db.redis.xreadgroup('GROUP', group, 'consumer-1', 'COUNT', count, 'STREAMS', stream, '>');
}

async function streamIds(stream: string): Promise<string[]> {
  return (await db.redis.xrange(stream, '-', '+')).map(([id]) => id);
}

async function pendingIds(stream: string, group: string): Promise<string[]> {
  const rows = (await db.redis.xpending(stream, group, '-', '+', 100)) as [string, ...unknown[]][];
  return rows.map(([id]) => id);
}

function warnings(): {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  warned: object[];
} {
  const warned: object[] = [];
  return { warned, warn: (obj) => warned.push(obj), error: (obj) => warned.push(obj) };
}

describe('trimPartition', () => {
  it('removes acked entries before the oldest pending one and keeps pending and undelivered entries', async () => {
    const { domain, partition, stream } = freshPartition();
    await addEntries(stream, ids(6));
    await db.redis.xgroup('CREATE', stream, 'settle', '0');
    await readAs(stream, 'settle', 4);
    await db.redis.xack(stream, 'settle', '1000-0', '2000-0', '4000-0');

    const result = await createTrimmer({ redis: db.redis, keys }).trimPartition({
      domain,
      partition,
      groups: ['settle'],
    });

    expect(result).toEqual({
      trimmed: 2,
      safeId: '3000-0',
      length: 4,
      overCap: false,
      pinningGroups: [],
      droppedUnacked: 0,
    });
    expect(await streamIds(stream)).toEqual(['3000-0', '4000-0', '5000-0', '6000-0']);
    expect(await pendingIds(stream, 'settle')).toEqual(['3000-0']);
  });

  it('with nothing pending trims everything delivered and keeps the undelivered entries', async () => {
    const { domain, partition, stream } = freshPartition();
    await addEntries(stream, ids(5));
    await db.redis.xgroup('CREATE', stream, 'settle', '0');
    await readAs(stream, 'settle', 3);
    await db.redis.xack(stream, 'settle', '1000-0', '2000-0', '3000-0');

    const result = await createTrimmer({ redis: db.redis, keys }).trimPartition({
      domain,
      partition,
      groups: ['settle'],
    });

    expect(result).toMatchObject({ trimmed: 3, safeId: '3000-1', length: 2 });
    expect(await streamIds(stream)).toEqual(['4000-0', '5000-0']);
  });

  it('lets the slower of two groups pin, and the hard-cap alarm names it', async () => {
    const { domain, partition, stream } = freshPartition();
    await addEntries(stream, ids(6));
    await db.redis.xgroup('CREATE', stream, 'fast', '0');
    await db.redis.xgroup('CREATE', stream, 'slow', '0');
    await readAs(stream, 'fast', 6);
    await db.redis.xack(stream, 'fast', ...ids(6));
    await readAs(stream, 'slow', 2);
    await db.redis.xack(stream, 'slow', '1000-0');
    const logger = warnings();

    const result = await createTrimmer({ redis: db.redis, keys, logger }).trimPartition({
      domain,
      partition,
      groups: ['fast', 'slow'],
      hardCap: 3,
    });

    expect(result).toEqual({
      trimmed: 1,
      safeId: '2000-0',
      length: 5,
      overCap: true,
      pinningGroups: ['slow'],
      droppedUnacked: 0,
    });
    expect(await pendingIds(stream, 'slow')).toEqual(['2000-0']);
    expect(logger.warned).toEqual([
      expect.objectContaining({ stream, pinningGroups: ['slow'], inactivePinningGroups: [] }),
    ]);
  });

  it('keeps everything for a group that has read nothing yet, and counts groups the caller does not know', async () => {
    const { domain, partition, stream } = freshPartition();
    await addEntries(stream, ids(4));
    await db.redis.xgroup('CREATE', stream, 'settle', '0');
    await readAs(stream, 'settle', 4);
    await db.redis.xack(stream, 'settle', ...ids(4));
    await db.redis.xgroup('CREATE', stream, 'forgotten', '0');
    const logger = warnings();

    const result = await createTrimmer({ redis: db.redis, keys, logger }).trimPartition({
      domain,
      partition,
      groups: ['settle'],
      hardCap: 2,
    });

    expect(result).toEqual({
      trimmed: 0,
      safeId: '0-1',
      length: 4,
      overCap: true,
      pinningGroups: ['forgotten'],
      droppedUnacked: 0,
    });
    expect(await streamIds(stream)).toEqual(ids(4));
    expect(logger.warned).toEqual([expect.objectContaining({ inactivePinningGroups: ['forgotten'] })]);
  });

  it('lets a known group that is not on the stream yet pin everything', async () => {
    const { domain, partition, stream } = freshPartition();
    await addEntries(stream, ids(3));
    await db.redis.xgroup('CREATE', stream, 'settle', '$');

    const result = await createTrimmer({ redis: db.redis, keys }).trimPartition({
      domain,
      partition,
      groups: ['settle', 'expire'],
      hardCap: 1,
    });

    expect(result).toMatchObject({
      trimmed: 0,
      safeId: '0-0',
      length: 3,
      overCap: true,
      pinningGroups: ['expire'],
    });
  });

  it('trims nothing on a stream without any group', async () => {
    const { domain, partition, stream } = freshPartition();
    await addEntries(stream, ids(3));

    const result = await createTrimmer({ redis: db.redis, keys }).trimPartition({
      domain,
      partition,
      groups: [],
    });

    expect(result).toEqual({
      trimmed: 0,
      safeId: null,
      length: 3,
      overCap: false,
      pinningGroups: [],
      droppedUnacked: 0,
    });
  });

  it('drops unacked entries over the cap only under the explicit policy and counts them', async () => {
    const { domain, partition, stream } = freshPartition();
    await addEntries(stream, ids(10));
    await db.redis.xgroup('CREATE', stream, 'stuck', '0');
    await readAs(stream, 'stuck', 2);
    const trimmer = createTrimmer({ redis: db.redis, keys });

    const alarmOnly = await trimmer.trimPartition({ domain, partition, groups: ['stuck'], hardCap: 4 });
    expect(alarmOnly).toMatchObject({ trimmed: 0, length: 10, overCap: true, droppedUnacked: 0 });

    const dropped = await trimmer.trimPartition({
      domain,
      partition,
      groups: ['stuck'],
      hardCap: 4,
      dropUnackedOverCap: true,
    });
    expect(dropped).toEqual({
      trimmed: 0,
      safeId: '1000-0',
      length: 4,
      overCap: true,
      pinningGroups: ['stuck'],
      droppedUnacked: 6,
    });
    expect(await streamIds(stream)).toEqual(ids(10).slice(6));

    await addEntries(stream, ['11000-0', '12000-0']);
    await trimmer.trimPartition({
      domain,
      partition,
      groups: ['stuck'],
      hardCap: 4,
      dropUnackedOverCap: true,
    });
    expect(await db.redis.hget(keys.counters, trimmedUnackedField(stream))).toBe('8');
  });

  it('keeps acked entries younger than minRetentionMs (Redis time)', async () => {
    const { domain, partition, stream } = freshPartition();
    const [seconds, micros] = await db.redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const old = [`${now - 60_000}-0`, `${now - 30_000}-0`];
    const young = `${now - 1_000}-0`;
    await addEntries(stream, [...old, young]);
    await db.redis.xgroup('CREATE', stream, 'settle', '0');
    await readAs(stream, 'settle', 3);
    await db.redis.xack(stream, 'settle', ...old, young);
    const trimmer = createTrimmer({ redis: db.redis, keys });

    const kept = await trimmer.trimPartition({
      domain,
      partition,
      groups: ['settle'],
      minRetentionMs: 10_000,
    });
    expect(kept).toMatchObject({ trimmed: 2, length: 1 });
    expect(await streamIds(stream)).toEqual([young]);

    const all = await trimmer.trimPartition({ domain, partition, groups: ['settle'] });
    expect(all).toMatchObject({ trimmed: 1, safeId: `${now - 1_000}-1`, length: 0 });
  });

  it('refuses malformed options before touching Redis', async () => {
    const { domain, partition } = freshPartition();
    const trimmer = createTrimmer({ redis: db.redis, keys });

    await expect(trimmer.trimPartition({ domain, partition, groups: [], hardCap: 0 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      trimmer.trimPartition({ domain, partition, groups: [], minRetentionMs: -1 }),
    ).rejects.toThrow('minRetentionMs must be a non-negative integer, got -1');
    await expect(trimmer.trimPartition({ domain, partition, groups: ['bad group'] })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe('trimDlq', () => {
  it('keeps the newest maxLen dead letters', async () => {
    const { domain, partition, dlq } = freshPartition();
    await addEntries(dlq, ids(5));

    const result = await createTrimmer({ redis: db.redis, keys }).trimDlq({ domain, partition, maxLen: 2 });

    expect(result).toEqual({ trimmed: 3, length: 2 });
    expect(await streamIds(dlq)).toEqual(['4000-0', '5000-0']);
  });

  it('drops dead letters older than maxAgeMs, then applies maxLen', async () => {
    const { domain, partition, dlq } = freshPartition();
    await addEntries(dlq, ids(5));
    const trimmer = createTrimmer({ redis: db.redis, keys, clock: new ManualClock(10_000) });

    expect(await trimmer.trimDlq({ domain, partition, maxAgeMs: 7_000 })).toEqual({ trimmed: 2, length: 3 });
    expect(await streamIds(dlq)).toEqual(['3000-0', '4000-0', '5000-0']);

    expect(await trimmer.trimDlq({ domain, partition, maxAgeMs: 6_500, maxLen: 1 })).toEqual({
      trimmed: 2,
      length: 1,
    });
    expect(await streamIds(dlq)).toEqual(['5000-0']);
  });
});
