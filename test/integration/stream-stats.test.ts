// Tests of the stats reader against a real redis-server: a known stream state, every figure asserted exactly.
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ValidationError } from '../../src/errors.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { readStreamStats } from '../../src/streams/stream-stats.js';
import type { StreamStats } from '../../src/streams/stream-stats.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
const clock = new ManualClock(10_000);

const db = useRedisPerFile();

async function addEntries(stream: string, ids: readonly string[]): Promise<void> {
  for (const id of ids) await db.redis.xadd(stream, id, 'n', id);
}

async function readAs(stream: string, group: string, consumer: string, count: number): Promise<void> {
  await db.redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>');
}

function absent(
  domain: string,
  partition: number,
  group: string,
  length: number,
  dlqLength: number,
): StreamStats {
  return {
    domain,
    partition,
    stream: keys.partition(domain, partition).stream,
    group,
    exists: false,
    length,
    lag: 0,
    pending: 0,
    oldestPendingAgeMs: 0,
    timeLagMs: 0,
    retryHintsDue: 0,
    retryHintsTotal: 0,
    dlqLength,
    consumers: 0,
    lastDeliveredId: null,
  };
}

describe('readStreamStats', () => {
  it('reports every figure of a known state, zeros for groups and streams that do not exist yet', async () => {
    // Partition 0: 6 entries; "settle" delivered 4 to two consumers and acked 1; "audit" joined at the end.
    const p0 = keys.partition('escrow', 0);
    await addEntries(p0.stream, ['1000-0', '2000-0', '3000-0', '4000-0', '5000-0', '6000-0']);
    await db.redis.xgroup('CREATE', p0.stream, 'settle', '0');
    await db.redis.xgroup('CREATE', p0.stream, 'audit', '$');
    await readAs(p0.stream, 'settle', 'consumer-a', 3);
    await readAs(p0.stream, 'settle', 'consumer-b', 1);
    await db.redis.xack(p0.stream, 'settle', '1000-0');
    await db.redis.zadd(p0.retry('settle'), 9_000, '2000-0', 20_000, '3000-0');
    await addEntries(p0.dlq, ['500-0', '700-0']);
    // Partition 1: an entry deleted after the group's position, so Redis reports no lag and it is counted.
    const p1 = keys.partition('escrow', 1);
    await addEntries(p1.stream, ['1000-0', '2000-0', '3000-0', '4000-0']);
    await db.redis.xgroup('CREATE', p1.stream, 'settle', '0');
    await readAs(p1.stream, 'settle', 'consumer-a', 1);
    await db.redis.xdel(p1.stream, '3000-0');

    const stats = await readStreamStats(
      db.redis,
      keys,
      [
        { domain: 'escrow', partitions: 2, groups: ['settle', 'audit', 'expire'] },
        { domain: 'vesting', partitions: 1, groups: ['release'] },
      ],
      clock,
    );

    expect(stats).toEqual([
      {
        domain: 'escrow',
        partition: 0,
        stream: p0.stream,
        group: 'settle',
        exists: true,
        length: 6,
        lag: 2,
        pending: 3,
        oldestPendingAgeMs: 8_000,
        timeLagMs: 5_000,
        retryHintsDue: 1,
        retryHintsTotal: 2,
        dlqLength: 2,
        consumers: 2,
        lastDeliveredId: '4000-0',
      },
      {
        domain: 'escrow',
        partition: 0,
        stream: p0.stream,
        group: 'audit',
        exists: true,
        length: 6,
        lag: 0,
        pending: 0,
        oldestPendingAgeMs: 0,
        timeLagMs: 0,
        retryHintsDue: 0,
        retryHintsTotal: 0,
        dlqLength: 2,
        consumers: 0,
        lastDeliveredId: '6000-0',
      },
      absent('escrow', 0, 'expire', 6, 2),
      {
        domain: 'escrow',
        partition: 1,
        stream: p1.stream,
        group: 'settle',
        exists: true,
        length: 3,
        lag: 2,
        pending: 1,
        oldestPendingAgeMs: 9_000,
        timeLagMs: 8_000,
        retryHintsDue: 0,
        retryHintsTotal: 0,
        dlqLength: 0,
        consumers: 1,
        lastDeliveredId: '1000-0',
      },
      absent('escrow', 1, 'audit', 3, 0),
      absent('escrow', 1, 'expire', 3, 0),
      absent('vesting', 0, 'release', 0, 0),
    ]);
  });

  it('reads all partitions in one pipeline, plus one more only when some group has undelivered entries', async () => {
    const target = { domain: 'price', partitions: 3, groups: ['tick'] };
    for (let i = 0; i < 3; i++) {
      await db.redis.xadd(keys.partition('price', i).stream, '1000-0', 'n', '1');
      await db.redis.xgroup('CREATE', keys.partition('price', i).stream, 'tick', '$');
    }
    const pipelines = vi.spyOn(db.redis, 'pipeline');
    try {
      await readStreamStats(db.redis, keys, [target], clock);
      expect(pipelines).toHaveBeenCalledTimes(1);

      await db.redis.xadd(keys.partition('price', 2).stream, '2000-0', 'n', '2');
      const stats = await readStreamStats(db.redis, keys, [target], clock);
      expect(pipelines).toHaveBeenCalledTimes(3);
      expect(stats.map((s) => [s.lag, s.timeLagMs])).toEqual([
        [0, 0],
        [0, 0],
        [1, 8_000],
      ]);
    } finally {
      pipelines.mockRestore();
    }
  });

  it('refuses a target with a non-positive partition count', async () => {
    await expect(
      readStreamStats(db.redis, keys, [{ domain: 'escrow', partitions: 0, groups: ['settle'] }], clock),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
