// The group reader on a real redis-server: a blocking read with fewer free slots than partitions still wakes for
// an entry in any partition, and a read never returns more than its budget when entries wait everywhere.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroupReader } from '../../src/streams/group-reader.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const db = useRedisPerFile();
const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
const partitions = Array.from({ length: 4 }, (_, i) => keys.partition('reader', i));
let blocking: Redis;

beforeAll(() => {
  blocking = db.redis.duplicate();
});
afterAll(() => {
  blocking.disconnect();
});

function reader(group: string) {
  return createGroupReader({
    redis: db.redis,
    blockingRedis: blocking,
    partitions,
    group,
    consumer: 'c1',
    blockMs: 10_000,
  });
}

describe('group reader', () => {
  it('with one free slot and four partitions, an entry in the last partition wakes the blocked read', async () => {
    const r = reader('wake');
    await r.ensureGroup();
    const pending = r.read(1);
    // the read is blocked (nothing was there); an entry lands in a partition the first read did not look at
    await new Promise((resolve) => setImmediate(resolve));
    const id = await db.redis.xadd(partitions[3]!.stream, '*', 'n', '1');
    const got = await pending;
    expect(got.map((d) => [d.partition.index, d.entryId])).toEqual([[3, id]]);
  });

  it('never returns more than the budget when every partition has entries', async () => {
    const r = reader('budget');
    await r.ensureGroup();
    for (const p of partitions)
      for (let i = 0; i < 3; i += 1) await db.redis.xadd(p.stream, '*', 'n', String(i));
    const sizes: number[] = [];
    for (const budget of [1, 2, 3, 5]) sizes.push((await r.read(budget)).length);
    expect(sizes.every((n, i) => n >= 1 && n <= [1, 2, 3, 5][i]!)).toBe(true);
    // a budget of at least the partition count reads an even share from every partition
    const all = await r.read(4);
    expect(new Set(all.map((d) => d.partition.index)).size).toBe(all.length);
  });
});
