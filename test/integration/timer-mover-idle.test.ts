// With 1M future timers in one partition and none due, one move call moves nothing and its script reads a single
// timer member (asserted from the script's own return values): idle polling costs the same at any wheel size, and a
// busy call reads only what it moves plus the next head.
import { monotonicFactory } from 'ulid';
import { describe, expect, it } from 'vitest';
import { moveDueTimers } from '../../src/scheduler/timer-mover.js';
import { createTimerWheel } from '../../src/scheduler/timer-wheel.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
const db = useRedisPerFile();
const nextId = monotonicFactory();

async function redisNow(): Promise<number> {
  const [seconds, micros] = await db.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('idle move call on a large wheel', () => {
  it('with 1M future timers and none due, a move call moves nothing and reads one member', async () => {
    const p = keys.partition('vesting', 0);
    const now = await redisNow();
    const wheel = createTimerWheel({ redis: db.redis, keys });
    // a real scheduled timer first, then 1M more members filled server-side (scheduling them one by one
    // through zod and JSON would dominate the test); all due at least an hour from now
    await wheel.schedule(p, {
      id: 'head',
      dueMs: now + 3_600_000,
      event: {
        id: nextId(),
        type: 'vesting.release_due',
        key: 'vesting-0',
        occurredAt: new Date().toISOString(),
        source: 'funding',
        schemaVersion: 1,
        data: { vestingId: 'vesting-0' },
      },
    });
    const fill = `
      local base = tonumber(ARGV[1])
      for from = tonumber(ARGV[2]), tonumber(ARGV[3]), 1000 do
        local scores, payloads = {}, {}
        for i = from, from + 999 do
          scores[#scores + 1] = base + i
          scores[#scores + 1] = 'bulk:' .. i
          payloads[#payloads + 1] = 'bulk:' .. i
          payloads[#payloads + 1] = '0\\n["id","x"]'
        end
        redis.call('ZADD', KEYS[1], unpack(scores))
        redis.call('HSET', KEYS[2], unpack(payloads))
      end
      return redis.call('ZCARD', KEYS[1])`;
    for (let start = 1; start <= 1_000_000; start += 100_000) {
      await db.redis.eval(
        fill,
        2,
        p.timers,
        p.timerPayloads,
        String(now + 3_600_001),
        String(start),
        String(start + 99_999),
      );
    }
    expect(await db.redis.zcard(p.timers)).toBe(1_000_001);

    const result = await moveDueTimers(db.redis, p, {
      batch: 500,
      tombstoneRetentionMs: 3_600_000,
      pruneLimit: 100,
    });
    console.log(`1M future timers, one move call: ${JSON.stringify(result)}`);
    expect(result.moved).toBe(0);
    expect(result.examined).toBe(1);
    expect(result.nextDelayMs).toBeGreaterThan(3_500_000);
    expect(result.nextDelayMs).toBeLessThanOrEqual(3_600_000);
    expect(await db.redis.xlen(p.stream)).toBe(0);

    // with three due among the million, a call reads those three and the next head, nothing more
    const due = await redisNow();
    await wheel.scheduleMany(
      p,
      [1, 2, 3].map((n) => ({
        id: `due:${n}`,
        dueMs: due - n,
        event: {
          id: nextId(),
          type: 'vesting.release_due',
          key: `vesting-${n}`,
          occurredAt: new Date().toISOString(),
          source: 'funding',
          schemaVersion: 1,
          data: { vestingId: `vesting-${n}` },
        },
      })),
    );
    const busy = await moveDueTimers(db.redis, p, {
      batch: 500,
      tombstoneRetentionMs: 3_600_000,
      pruneLimit: 100,
    });
    console.log(`1M future + 3 due timers, one move call: ${JSON.stringify(busy)}`);
    expect(busy).toMatchObject({ moved: 3, examined: 4 });
    expect(await db.redis.xlen(p.stream)).toBe(3);
  });
});
