// Tests of the startup guard: real redis-servers started without AOF and with an evicting policy, and safely.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsafeRedisError } from '../../src/errors.js';
import { checkRedisSafety } from '../../src/streams/redis-safety.js';
import { startRedisServer } from '../support/redis-server.js';
import type { RedisServerHandle } from '../support/redis-server.js';

const NO_AOF = 'appendonly is no: acknowledged work is lost when Redis restarts';
const EVICTING = 'maxmemory-policy is allkeys-lru: Redis may evict stream entries';

// Two servers on purpose: the configuration they were started with is what this file tests.
let unsafeServer: RedisServerHandle;
let safeServer: RedisServerHandle;
let unsafe: Redis;
let safe: Redis;

beforeAll(async () => {
  [unsafeServer, safeServer] = await Promise.all([
    startRedisServer({ appendonly: false, maxmemoryPolicy: 'allkeys-lru' }),
    startRedisServer({ appendonly: true, maxmemoryPolicy: 'noeviction' }),
  ]);
  unsafe = new Redis(unsafeServer.url, { maxRetriesPerRequest: 1 });
  safe = new Redis(safeServer.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  unsafe.disconnect();
  safe.disconnect();
  await Promise.all([unsafeServer.shutdown(), safeServer.shutdown()]);
});

function recordingLogger(): { warn(obj: object, msg: string): void; calls: { obj: object; msg: string }[] } {
  const calls: { obj: object; msg: string }[] = [];
  return { calls, warn: (obj, msg) => calls.push({ obj, msg }) };
}

describe('checkRedisSafety', () => {
  it('refuses a Redis without AOF and with an evicting policy, naming both problems and the override', async () => {
    const logger = recordingLogger();
    const refusal = checkRedisSafety(unsafe, { allowUnsafe: false, logger });

    await expect(refusal).rejects.toBeInstanceOf(UnsafeRedisError);
    await expect(refusal).rejects.toThrow(NO_AOF);
    await expect(refusal).rejects.toThrow(EVICTING);
    await expect(refusal).rejects.toThrow('ALLOW_UNSAFE_REDIS=true');
    expect(logger.calls).toEqual([]);
  });

  it('with allowUnsafe returns the problems and warns exactly once', async () => {
    const logger = recordingLogger();

    const report = await checkRedisSafety(unsafe, { allowUnsafe: true, logger });

    expect(report).toEqual({ safe: false, problems: [NO_AOF, EVICTING] });
    expect(logger.calls).toHaveLength(1);
    expect(logger.calls[0]?.obj).toMatchObject({ problems: [NO_AOF, EVICTING] });
    expect(logger.calls[0]?.msg).toContain('ALLOW_UNSAFE_REDIS=true');
  });

  it('accepts a Redis with AOF and noeviction without logging', async () => {
    const logger = recordingLogger();

    await expect(checkRedisSafety(safe, { allowUnsafe: false, logger })).resolves.toEqual({
      safe: true,
      problems: [],
    });
    expect(logger.calls).toEqual([]);
  });

  it('reports only the policy when AOF is on but the policy evicts', async () => {
    await safe.config('SET', 'maxmemory-policy', 'volatile-ttl');
    try {
      await expect(checkRedisSafety(safe, { allowUnsafe: false })).rejects.toBeInstanceOf(UnsafeRedisError);
      await expect(checkRedisSafety(safe, { allowUnsafe: true })).resolves.toEqual({
        safe: false,
        problems: ['maxmemory-policy is volatile-ttl: Redis may evict stream entries'],
      });
    } finally {
      await safe.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });
});
