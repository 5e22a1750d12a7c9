// The owner-checked heartbeat on a real redis-server: every entry a consumer holds in a partition is refreshed
// (not only the first), none is reported lost, and the delivery count does not grow.
import { describe, expect, it } from 'vitest';
import { heartbeatOnce } from '../../src/streams/heartbeat.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { defineScripts } from '../../src/streams/scripts.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const db = useRedisPerFile();
const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });

describe('heartbeat', () => {
  it('refreshes every held entry of a partition and reports none lost', async () => {
    defineScripts(db.redis);
    const partition = keys.partition('beat', 0);
    await db.redis.xgroup('CREATE', partition.stream, 'g', '$', 'MKSTREAM');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1)
      ids.push((await db.redis.xadd(partition.stream, '*', 'n', String(i))) ?? '');
    await db.redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 3, 'STREAMS', partition.stream, '>');
    // make every entry look idle for a long time, as if the handler had been running for minutes
    await db.redis.xclaim(partition.stream, 'g', 'c1', 0, ...ids, 'IDLE', 600_000, 'JUSTID');

    const beat = await heartbeatOnce(db.redis, 'g', 'c1', { snapshot: () => new Map([[partition, ids]]) });
    expect(beat.errors).toEqual([]);
    expect([...beat.lost.values()].flat()).toEqual([]);
    expect([...beat.gone.values()].flat()).toEqual([]);
    const pending = (await db.redis.xpending(partition.stream, 'g', '-', '+', 10)) as [
      string,
      string,
      number,
      number,
    ][];
    expect(pending.map(([id]) => id)).toEqual(ids);
    for (const [, owner, idleMs, deliveries] of pending) {
      expect(owner).toBe('c1');
      expect(idleMs).toBeLessThan(60_000);
      expect(deliveries).toBe(1);
    }
  });
});
