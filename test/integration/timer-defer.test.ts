// The defer script against a real redis-server: one call schedules the re-emission and acks the delivery (retry
// hint and failure count dropped); the mover re-emits exactly the stored fields, never early; a redelivered defer
// does not schedule twice; an entry owned by another consumer and malformed requests write nothing.
import { monotonicFactory } from 'ulid';
import { describe, expect, it } from 'vitest';
import { ScriptError, ValidationError } from '../../src/errors.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { decodeEntry, encodeEvent } from '../../src/events/wire.js';
import { decideDefer, type Reemission } from '../../src/pipelines/deferral.js';
import { createDeferWriter } from '../../src/scheduler/defer-writer.js';
import { moveDueTimers, type MoveOptions } from '../../src/scheduler/timer-mover.js';
import { createTimerWheel } from '../../src/scheduler/timer-wheel.js';
import { createKeyBuilder, type PartitionKeys } from '../../src/streams/keys.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
const db = useRedisPerFile();
const nextId = monotonicFactory();
const GROUP = 'funding.confirm';
const MOVE: MoveOptions = { batch: 500, tombstoneRetentionMs: 3_600_000, pruneLimit: 100 };
let domainSeq = 0;

function depositEvent(): EventEnvelope {
  return {
    id: nextId(),
    type: 'deposit.detected',
    key: 'deposit-7',
    occurredAt: new Date().toISOString(),
    source: 'funding',
    schemaVersion: 1,
    data: { depositId: 'deposit-7', confirmations: 1 },
  };
}

async function redisNow(): Promise<number> {
  const [seconds, micros] = await db.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** A fresh partition with the group created; XADDs the event and reads it as `consumer`. */
async function delivered(
  event: EventEnvelope,
  consumer = 'c1',
  p?: PartitionKeys,
): Promise<{ p: PartitionKeys; entryId: string }> {
  const partition = p ?? keys.partition(`defer${++domainSeq}`, 0);
  if (!p) await db.redis.xgroup('CREATE', partition.stream, GROUP, '$', 'MKSTREAM');
  const entryId = (await db.redis.xadd(partition.stream, '*', ...encodeEvent(event)))!;
  await db.redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 100, 'STREAMS', partition.stream, '>');
  return { p: partition, entryId };
}

async function pendingOf(p: PartitionKeys): Promise<[string, string][]> {
  const rows = (await db.redis.xpending(p.stream, GROUP, '-', '+', 100)) as [string, string][];
  return rows.map(([id, consumer]) => [id, consumer]);
}

function reemission(event: EventEnvelope, until: number, now: number): Reemission {
  return decideDefer({ policy: { jitterMs: 50 }, group: GROUP, event, until, now, random: () => 0.5 });
}

describe('defer', () => {
  it('schedules the re-emission and acks the delivery in one call; the mover re-emits the stored fields', async () => {
    const event = depositEvent();
    const { p, entryId } = await delivered(event);
    // the entry failed once before: its retry hint and failure count must go with the ack
    await db.redis.zadd(p.retry(GROUP), 1, entryId);
    await db.redis.hset(p.failures(GROUP), entryId, '1');
    const now = await redisNow();
    const timer = reemission(event, now + 300, now);
    const writer = createDeferWriter({ redis: db.redis, keys });

    expect(await writer.defer({ partition: p, group: GROUP, consumer: 'c1', entryId, timer })).toEqual({
      acked: true,
      timer: 'scheduled',
      woke: true,
    });
    expect(await pendingOf(p)).toEqual([]);
    expect(await db.redis.zscore(p.retry(GROUP), entryId)).toBeNull();
    expect(await db.redis.hget(p.failures(GROUP), entryId)).toBeNull();
    const wheel = createTimerWheel({ redis: db.redis, keys });
    expect(await wheel.get(p, timer.id)).toEqual({
      dueMs: timer.dueMs,
      version: 1,
      event: { ...event, targetGroup: GROUP, repetition: 1 },
    });

    await waitFor(
      async () => (await moveDueTimers(db.redis, p, MOVE)).moved === 1,
      'the re-emission fired',
      5_000,
    );
    const entries = await db.redis.xrange(p.stream, '-', '+');
    expect(entries).toHaveLength(2);
    const [reemittedId, fields] = entries[1]!;
    expect(fields).toEqual(encodeEvent(timer.event));
    expect(Number(reemittedId.split('-')[0])).toBeGreaterThanOrEqual(timer.dueMs);
    expect(decodeEntry(fields)).toMatchObject({ id: event.id, targetGroup: GROUP, repetition: 1 });
  });

  it('a redelivered defer of the same run schedules nothing more but still acks; the next run schedules', async () => {
    const event = depositEvent();
    const { p, entryId } = await delivered(event);
    const now = await redisNow();
    const timer = reemission(event, now - 100, now);
    const writer = createDeferWriter({ redis: db.redis, keys });
    const defer = (id: string, t = timer) =>
      writer.defer({ partition: p, group: GROUP, consumer: 'c1', entryId: id, timer: t });
    expect((await defer(entryId)).timer).toBe('scheduled');

    // the same fact delivered again (a producer retry) and deferred again before the timer fired
    const again = await delivered(event, 'c1', p);
    expect(await defer(again.entryId)).toEqual({ acked: true, timer: 'unchanged', woke: false });
    expect((await moveDueTimers(db.redis, p, MOVE)).moved).toBe(1);

    // and once more after it fired: the tombstone keeps the timer from coming back
    const late = await delivered(event, 'c1', p);
    expect(await defer(late.entryId)).toEqual({ acked: true, timer: 'tombstoned', woke: false });
    expect(await db.redis.zcard(p.timers)).toBe(0);
    expect(await pendingOf(p)).toHaveLength(1); // the re-emission itself, read by the last XREADGROUP

    // the re-emitted event (run 1) deferring again is run 2: a newer version, scheduled
    const [[reemittedId, fields]] = (await db.redis.xrange(p.stream, '-', '+')).slice(2) as [
      [string, string[]],
    ];
    const run2 = reemission(decodeEntry(fields), now + 60_000, now);
    expect(run2.version).toBe(2);
    expect((await defer(reemittedId, run2)).timer).toBe('scheduled');
    expect(await pendingOf(p)).toEqual([]);
  });

  it('a deferral chain is not dropped by the tombstone of an earlier, finished chain: it takes the next version', async () => {
    const event = depositEvent();
    const { p, entryId } = await delivered(event);
    const now = await redisNow();
    const writer = createDeferWriter({ redis: db.redis, keys });
    const first = reemission(event, now - 100, now);
    expect(
      (await writer.defer({ partition: p, group: GROUP, consumer: 'c1', entryId, timer: first, chain: true }))
        .timer,
    ).toBe('scheduled');
    expect((await moveDueTimers(db.redis, p, MOVE)).moved).toBe(1);
    expect(await db.redis.hget(p.timerTombstones, first.id)).toBe('1');

    // a new run of the original event (a backfill, a DLQ replay without repetition) defers as run 1 again
    const rerun = await delivered(event, 'c1', p);
    const again = reemission(event, now + 60_000, now);
    expect(again.version).toBe(1);
    const request = { partition: p, group: GROUP, consumer: 'c1', entryId: rerun.entryId, timer: again };
    expect(await writer.defer({ ...request, chain: true })).toEqual({
      acked: true,
      timer: 'scheduled',
      woke: true,
    });
    const wheel = createTimerWheel({ redis: db.redis, keys });
    expect(await wheel.get(p, again.id)).toMatchObject({ version: 2, dueMs: again.dueMs });

    // a cancel without a version still beats any chain
    await wheel.cancel(p, again.id);
    const cancelled = await delivered(event, 'c1', p);
    expect((await writer.defer({ ...request, entryId: cancelled.entryId, chain: true })).timer).toBe(
      'tombstoned',
    );
  });

  it('leaves an entry now owned by another consumer alone: no timer, no ack', async () => {
    const event = depositEvent();
    const { p, entryId } = await delivered(event);
    await db.redis.xclaim(p.stream, GROUP, 'c2', 0, entryId);
    const now = await redisNow();
    const writer = createDeferWriter({ redis: db.redis, keys });
    const result = await writer.defer({
      partition: p,
      group: GROUP,
      consumer: 'c1',
      entryId,
      timer: reemission(event, now + 1_000, now),
    });
    expect(result).toEqual({ acked: false, timer: 'not-owned', woke: false });
    expect(await pendingOf(p)).toEqual([[entryId, 'c2']]);
    expect(await db.redis.exists(p.timers, p.timerPayloads)).toBe(0);
  });

  it('refuses malformed requests before writing anything', async () => {
    const event = depositEvent();
    const { p, entryId } = await delivered(event);
    const now = await redisNow();
    const timer = reemission(event, now + 1_000, now);
    const writer = createDeferWriter({ redis: db.redis, keys });
    const request = { partition: p, group: GROUP, consumer: 'c1', entryId, timer };
    await expect(
      writer.defer({ ...request, timer: { ...timer, event: { ...timer.event, type: 'Bad Type' } } }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(writer.defer({ ...request, timer: { ...timer, dueMs: -5 } })).rejects.toBeInstanceOf(
      ValidationError,
    );
    const untargeted = { ...timer.event };
    delete untargeted.targetGroup;
    await expect(writer.defer({ ...request, timer: { ...timer, event: untargeted } })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(writer.defer({ ...request, entryId: 'not-an-id' })).rejects.toBeInstanceOf(ScriptError);
    await expect(writer.defer({ ...request, consumer: '' })).rejects.toBeInstanceOf(ScriptError);
    expect(await pendingOf(p)).toEqual([[entryId, 'c1']]);
    expect(await db.redis.exists(p.timers, p.timerPayloads)).toBe(0);
  });
});
