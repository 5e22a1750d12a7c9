// The timer wheel against a real redis-server: idempotent schedule, tombstones (fired, cancelled, cancel before
// schedule), newer versions, wake-ups, argument checks before any write, tombstone pruning and poison payloads.
import { Redis } from 'ioredis';
import { monotonicFactory } from 'ulid';
import { describe, expect, it } from 'vitest';
import { ScriptError, ValidationError } from '../../src/errors.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { decodeEntry, encodeEvent } from '../../src/events/wire.js';
import { moveDueTimers, type MoveOptions } from '../../src/scheduler/timer-mover.js';
import { MAX_TIMER_VERSION } from '../../src/scheduler/timer-request.js';
import { parseTimerWake } from '../../src/scheduler/timer-wake.js';
import { createTimerWheel, type TimerRequest } from '../../src/scheduler/timer-wheel.js';
import { createKeyBuilder, type PartitionKeys } from '../../src/streams/keys.js';
import { runScript } from '../../src/streams/scripts.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
const db = useRedisPerFile();
const nextId = monotonicFactory();
const MOVE: MoveOptions = { batch: 500, tombstoneRetentionMs: 3_600_000, pruneLimit: 100 };
let domainSeq = 0;

/** A fresh partition per test, so tests never share timers. */
function freshPartition(): PartitionKeys {
  return keys.partition(`wheel${++domainSeq}`, 0);
}

function wheel(options: { tombstoneRetentionMs?: number } = {}) {
  return createTimerWheel({ redis: db.redis, keys, ...options });
}

function betEvent(betId: string, tEnd = '0'): EventEnvelope {
  return {
    id: nextId(),
    type: 'bet.opened',
    key: betId,
    occurredAt: new Date().toISOString(),
    source: 'playhub',
    schemaVersion: 1,
    data: { betId, tEnd },
  };
}

async function redisNow(): Promise<number> {
  const [seconds, micros] = await db.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

async function streamFields(p: PartitionKeys): Promise<[string, string[]][]> {
  return db.redis.xrange(p.stream, '-', '+');
}

describe('schedule', () => {
  it('keeps one timer per id: same or lower version is unchanged, a higher version moves it', async () => {
    const p = freshPartition();
    const w = wheel();
    const first = betEvent('bet-1');
    expect(await w.schedule(p, { id: 'cfb.settle:bet-1', dueMs: 5_000_000, event: first })).toBe('scheduled');
    expect(await w.schedule(p, { id: 'cfb.settle:bet-1', dueMs: 9_000_000, event: betEvent('bet-1') })).toBe(
      'unchanged',
    );
    expect(await w.get(p, 'cfb.settle:bet-1')).toEqual({ dueMs: 5_000_000, version: 0, event: first });

    const newer = betEvent('bet-1', '2026-11-24T00:00:00.000Z');
    const request: TimerRequest = { id: 'cfb.settle:bet-1', dueMs: 7_000_000, version: 2, event: newer };
    expect(await w.schedule(p, request)).toBe('rescheduled');
    expect(await w.schedule(p, { ...request, version: 1, dueMs: 1 })).toBe('unchanged');
    expect(await w.get(p, 'cfb.settle:bet-1')).toEqual({ dueMs: 7_000_000, version: 2, event: newer });
    expect(await db.redis.zcard(p.timers)).toBe(1);
    expect(await db.redis.hlen(p.timerPayloads)).toBe(1);
  });

  it('scheduleMany answers in input order, duplicates inside the batch included, across script chunks', async () => {
    const p = freshPartition();
    const w = wheel();
    const timers: TimerRequest[] = Array.from({ length: 1_200 }, (_, i) => ({
      id: `t:${i}`,
      dueMs: 10_000_000 + i,
      event: betEvent(`bet-${i}`),
    }));
    timers.push({ ...timers[3]!, version: 1 }, { ...timers[4]! });
    const results = await w.scheduleMany(p, timers);
    expect(results.slice(0, 1_200).every((r) => r === 'scheduled')).toBe(true);
    expect(results.slice(1_200)).toEqual(['rescheduled', 'unchanged']);
    expect(await db.redis.zcard(p.timers)).toBe(1_200);
    const listed = await w.list(p, { fromMs: 10_000_002, toMs: 10_000_004, limit: 10 });
    expect(listed.map((t) => [t.id, t.dueMs, t.version])).toEqual([
      ['t:2', 10_000_002, 0],
      ['t:3', 10_000_003, 1],
      ['t:4', 10_000_004, 0],
    ]);
    expect(listed[0]?.event).toEqual(timers[2]?.event);
  });

  it('refuses bad requests before writing anything, the whole batch included', async () => {
    const p = freshPartition();
    const w = wheel();
    const good: TimerRequest = { id: 'ok', dueMs: 1_000, event: betEvent('bet-1') };
    const bad: TimerRequest[] = [
      { ...good, id: '' },
      { ...good, id: 'x'.repeat(201) },
      { ...good, id: 'tab\there' },
      { ...good, dueMs: -1 },
      { ...good, dueMs: 1.5 },
      { ...good, dueMs: Number.NaN },
      { ...good, version: -1 },
      { ...good, version: 0.5 },
      { ...good, event: { ...good.event, type: 'NotAType' } },
      { ...good, event: { ...good.event, data: { big: 'x'.repeat(70_000) } } },
    ];
    for (const timer of bad) {
      await expect(w.schedule(p, timer)).rejects.toBeInstanceOf(ValidationError);
      await expect(w.scheduleMany(p, [good, timer])).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await db.redis.exists(p.timers, p.timerPayloads, p.timerTombstones)).toBe(0);
  });

  it('the script itself refuses malformed arguments before any write', async () => {
    const p = freshPartition();
    const fields = JSON.stringify(encodeEvent(betEvent('bet-1')));
    const call = (timers: string[]) =>
      runScript(
        db.redis,
        'timerSchedule',
        [p.timers, p.timerPayloads, p.timerTombstones],
        [keys.timerWakeChannel, p.tag, timers.length / 4, ...timers],
      );
    const ok = ['a', '1000', '0', fields];
    for (const broken of [
      ['b', '1000', '0', '{"not":"an array"}'],
      ['b', '1000', '0', '["odd"]'],
      ['b', '1000', '0', 'not json'],
      ['b', '1000', '-1', fields],
      ['b', '1e3', '0', fields],
      ['b', '10.5', '0', fields],
      ['b', '1000', String(MAX_TIMER_VERSION + 2), fields],
      ['', '1000', '0', fields],
    ]) {
      await expect(call([...ok, ...broken])).rejects.toBeInstanceOf(ScriptError);
    }
    expect(await db.redis.exists(p.timers, p.timerPayloads)).toBe(0);
  });
});

describe('tombstones', () => {
  it('a schedule redelivered after its timer fired does not fire it again; a newer version does', async () => {
    const p = freshPartition();
    const w = wheel();
    const now = await redisNow();
    const timer: TimerRequest = { id: 'escrow.expire:e1', dueMs: now - 10, event: betEvent('e1') };
    expect(await w.schedule(p, timer)).toBe('scheduled');
    expect((await moveDueTimers(db.redis, p, MOVE)).moved).toBe(1);
    expect(await db.redis.hget(p.timerTombstones, timer.id)).toBe('0');

    // the event that scheduled it is redelivered (or arrives late): no timer comes back
    expect(await w.schedule(p, timer)).toBe('tombstoned');
    expect(await w.schedule(p, { ...timer, dueMs: now + 60_000 })).toBe('tombstoned');
    expect(await db.redis.zcard(p.timers)).toBe(0);
    expect((await moveDueTimers(db.redis, p, MOVE)).moved).toBe(0);
    expect(await db.redis.xlen(p.stream)).toBe(1);

    // an explicit reschedule with a newer version (a new expiresAt) wins
    const v2 = { ...timer, version: 2, event: betEvent('e1', 'later') };
    expect(await w.schedule(p, v2)).toBe('scheduled');
    expect((await moveDueTimers(db.redis, p, MOVE)).moved).toBe(1);
    expect(await db.redis.hget(p.timerTombstones, timer.id)).toBe('2');
    expect(await w.schedule(p, { ...v2, version: 1 })).toBe('tombstoned');
    const fired = await streamFields(p);
    expect(fired.map(([, f]) => decodeEntry(f))).toEqual([timer.event, v2.event]);
  });

  it('a cancel processed before its schedule leaves no timer', async () => {
    const p = freshPartition();
    const w = wheel();
    const timer: TimerRequest = { id: 'vesting.release:v1', dueMs: 5_000_000, event: betEvent('v1') };
    expect(await w.cancel(p, timer.id)).toBe('absent');
    expect(await w.schedule(p, timer)).toBe('tombstoned');
    expect(await w.schedule(p, { ...timer, version: 1_000_000 })).toBe('tombstoned');
    expect(await db.redis.zcard(p.timers)).toBe(0);
    expect(await w.get(p, timer.id)).toBeUndefined();
  });

  it('a versioned cancel beats that version and older, not newer ones', async () => {
    const p = freshPartition();
    const w = wheel();
    const timer: TimerRequest = { id: 't', dueMs: 5_000_000, version: 3, event: betEvent('b') };
    expect(await w.cancel(p, 't', 3)).toBe('absent');
    expect(await w.schedule(p, timer)).toBe('tombstoned');
    expect(await w.schedule(p, { ...timer, version: 4 })).toBe('scheduled');
    // a stale cancel (of version 3) does not remove the pending version 4
    expect(await w.cancel(p, 't', 3)).toBe('absent');
    expect((await w.get(p, 't'))?.version).toBe(4);
    expect(await w.cancel(p, 't', 4)).toBe('cancelled');
    expect(await w.get(p, 't')).toBeUndefined();
    expect(await db.redis.hget(p.timerTombstones, 't')).toBe('4');
    // a lower-version cancel never lowers the tombstone
    expect(await w.cancel(p, 't', 1)).toBe('absent');
    expect(await db.redis.hget(p.timerTombstones, 't')).toBe('4');
  });

  it('cancel removes a pending timer and its payload; it never fires', async () => {
    const p = freshPartition();
    const w = wheel();
    const now = await redisNow();
    await w.schedule(p, { id: 'c', dueMs: now - 1, event: betEvent('c') });
    expect(await w.cancel(p, 'c')).toBe('cancelled');
    expect(await moveDueTimers(db.redis, p, MOVE)).toMatchObject({ moved: 0, nextDelayMs: -1 });
    expect(await db.redis.exists(p.timers, p.timerPayloads, p.stream)).toBe(0);
    expect(await db.redis.hget(p.timerTombstones, 'c')).toBe(String(MAX_TIMER_VERSION));
  });

  it('tombstones expire after their retention and are pruned a bounded number per move call', async () => {
    const p = freshPartition();
    const w = wheel({ tombstoneRetentionMs: 1 });
    for (let i = 0; i < 250; i++) await w.cancel(p, `gone:${i}`);
    expect(await db.redis.hlen(p.timerTombstones)).toBe(250);
    const pruned: number[] = [];
    await waitFor(async () => {
      const result = await moveDueTimers(db.redis, p, { ...MOVE, pruneLimit: 100 });
      if (result.pruned > 0) pruned.push(result.pruned);
      return (await db.redis.hlen(p.timerTombstones)) === 0;
    }, 'tombstones pruned');
    expect(Math.max(...pruned)).toBeLessThanOrEqual(100);
    expect(pruned.reduce((a, b) => a + b, 0)).toBe(250);
    expect(await db.redis.exists(p.timerTombstoneExpiry)).toBe(0);
    // once pruned, the id can be scheduled again (the retention is the horizon)
    expect(await w.schedule(p, { id: 'gone:0', dueMs: 5_000_000, event: betEvent('g') })).toBe('scheduled');
  });
});

describe('wake-ups and poison payloads', () => {
  it('publishes a wake-up when a timer lands before the partition first one, and only then', async () => {
    const p = freshPartition();
    const w = wheel();
    const listener = new Redis(db.server.url);
    const messages: string[] = [];
    listener.on('message', (_channel: string, message: string) => messages.push(message));
    await listener.subscribe(keys.timerWakeChannel);
    try {
      const now = await redisNow();
      await w.schedule(p, { id: 'later', dueMs: now + 60_000, event: betEvent('a') });
      await w.schedule(p, { id: 'even-later', dueMs: now + 90_000, event: betEvent('b') });
      await w.schedule(p, { id: 'sooner', dueMs: now + 30_000, event: betEvent('c') });
      // a marker published after the three schedules: every wake-up before it has arrived once it has
      // (call(): the publish script defined on this client shadows ioredis' publish method)
      await db.redis.call('PUBLISH', keys.timerWakeChannel, 'marker');
      await waitFor(() => messages.includes('marker'), 'marker');
      const wakes = messages.flatMap((message) => {
        const wake = parseTimerWake(message);
        return wake?.tag === p.tag ? [wake] : [];
      });
      expect(wakes.map((m) => [m.tag, m.dueMs])).toEqual([
        [p.tag, now + 60_000],
        [p.tag, now + 30_000],
      ]);
      expect(wakes[1]!.delayMs).toBeGreaterThan(25_000);
      expect(wakes[1]!.delayMs).toBeLessThanOrEqual(30_000);
    } finally {
      listener.disconnect();
    }
  });

  it('never moves a timer early and reports the delay to the next one from Redis time', async () => {
    const p = freshPartition();
    const w = wheel();
    const now = await redisNow();
    await w.schedule(p, { id: 'soon', dueMs: now + 5_000, event: betEvent('s') });
    const result = await moveDueTimers(db.redis, p, MOVE);
    expect(result).toMatchObject({ moved: 0, examined: 1, deadLettered: 0 });
    expect(result.nextDelayMs).toBeGreaterThan(4_000);
    expect(result.nextDelayMs).toBeLessThanOrEqual(5_000);
  });

  it('moves a timer with a missing or unreadable payload to the DLQ instead of blocking the partition', async () => {
    const p = freshPartition();
    const w = wheel();
    const now = await redisNow();
    await w.schedule(p, { id: 'fine', dueMs: now - 3, event: betEvent('f') });
    await db.redis.zadd(p.timers, now - 2, 'no-payload', now - 1, 'bad-payload');
    await db.redis.hset(p.timerPayloads, 'bad-payload', '7\n{"broken"');
    const result = await moveDueTimers(db.redis, p, MOVE);
    expect(result).toMatchObject({ moved: 1, deadLettered: 2, nextDelayMs: -1, examined: 3 });
    const dead = await db.redis.xrange(p.dlq, '-', '+');
    expect(dead.map(([, f]) => [f[1], f[5]])).toEqual([
      ['invalid-timer', 'no-payload'],
      ['invalid-timer', 'bad-payload'],
    ]);
    expect(await db.redis.hget(p.timerTombstones, 'bad-payload')).toBe('7');
    expect(await db.redis.exists(p.timers, p.timerPayloads)).toBe(0);
  });
});
