// The cron scheduler on a private redis-server with the real timer wheel and mover: two replicas (one clock +2 s)
// and a restarted one give one stream entry per tick; the high-water mark script only moves forward; each
// missed-tick policy after a simulated downtime; crash recovery of a catch-up decision; backfill; the Redis clock
// that keeps a replica whose clock runs a minute ahead from taking future ticks for missed ones.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, offsetClock, systemClock } from '../../src/clock.js';
import type { Clock } from '../../src/clock.js';
import { ScriptError, ValidationError } from '../../src/errors.js';
import { parseEnvelope } from '../../src/events/envelope.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { decodeEntry } from '../../src/events/wire.js';
import { createCronMarks } from '../../src/scheduler/cron-mark.js';
import { createCronScheduler } from '../../src/scheduler/cron-scheduler.js';
import type {
  CronMissedEvent,
  CronScheduledEvent,
  CronScheduler,
} from '../../src/scheduler/cron-scheduler.js';
import { resolveCronSchedules } from '../../src/scheduler/cron-schedules.js';
import type { CronSchedule, CronScheduleDeclaration } from '../../src/scheduler/cron-schedules.js';
import { registerCronTick } from '../../src/scheduler/cron-tick-event.js';
import type { CronTickData } from '../../src/scheduler/cron-tick-event.js';
import { cronTimerId, tickIso } from '../../src/scheduler/cron-ticks.js';
import { cronPartition } from '../../src/scheduler/cron-timers.js';
import { createTimerMover } from '../../src/scheduler/timer-mover.js';
import type { TimerMover } from '../../src/scheduler/timer-mover.js';
import { createTimerWheel } from '../../src/scheduler/timer-wheel.js';
import { createRedisClock } from '../../src/scheduler/redis-clock.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
const db = useRedisPerFile();
const PARTITIONS = 2;
const DOMAIN = 'cron';
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const stoppers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const stop of stoppers.splice(0).reverse()) await stop();
});

function connect(): Redis {
  const client = new Redis(db.server.url, { maxRetriesPerRequest: 3 });
  stoppers.push(() => client.disconnect());
  return client;
}

function schedule(declaration: CronScheduleDeclaration, value: string): CronSchedule {
  const variable = `CRON_${declaration.name.toUpperCase().replace(/[.-]/g, '_')}`;
  const [resolved] = resolveCronSchedules([declaration], { [variable]: value });
  if (!resolved) throw new Error('no schedule');
  return resolved;
}

interface Replica {
  readonly scheduler: CronScheduler;
  readonly scheduled: CronScheduledEvent[];
  readonly missed: CronMissedEvent[];
  readonly errors: unknown[];
}

function replica(
  schedules: CronSchedule[],
  clock: Clock,
  options: { lookaheadMs?: number; pollMs?: number } = {},
) {
  const redis = connect();
  const scheduler = createCronScheduler({
    redis,
    keys,
    wheel: createTimerWheel({ redis, keys }),
    schedules,
    partitions: PARTITIONS,
    domain: DOMAIN,
    source: 'workers',
    clock,
    lookaheadMs: options.lookaheadMs ?? 10 * SECOND,
    missedGraceMs: 10 * SECOND,
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
  });
  const r: Replica = { scheduler, scheduled: [], missed: [], errors: [] };
  scheduler.on('scheduled', (e) => r.scheduled.push(e));
  scheduler.on('missed', (e) => r.missed.push(e));
  scheduler.on('error', ({ error }) => r.errors.push(error));
  stoppers.push(() => scheduler.stop());
  return r;
}

async function startMover(): Promise<TimerMover> {
  const redis = connect();
  const partitions = Array.from({ length: PARTITIONS }, (_, i) => keys.partition(DOMAIN, i));
  const mover = createTimerMover({ redis, keys, partitions, maxPollMs: 50 });
  stoppers.push(() => mover.stop());
  await mover.start();
  return mover;
}

function partitionOf(s: CronSchedule) {
  const wheel = createTimerWheel({ redis: db.redis, keys });
  return cronPartition({ wheel, keys, partitions: PARTITIONS, domain: DOMAIN, source: 'x' }, s.name);
}

/** The timers of a schedule pending on the wheel: id -> cause. */
async function pendingTimers(s: CronSchedule): Promise<Map<string, string>> {
  const wheel = createTimerWheel({ redis: db.redis, keys });
  const timers = await wheel.list(partitionOf(s), { limit: 10_000 });
  return new Map(
    timers
      .filter((t) => t.id.startsWith(`cron:${s.name}:`))
      .map((t) => [t.id, (t.event.data as CronTickData).cause]),
  );
}

/** The tick events of a schedule in its partition stream, as tick ISO -> number of entries. */
async function firedTicks(s: CronSchedule): Promise<Map<string, number>> {
  const entries = await db.redis.xrange(partitionOf(s).stream, '-', '+');
  const counts = new Map<string, number>();
  for (const [, fields] of entries) {
    const event = decodeEntry(fields);
    const data = event.data as CronTickData;
    if (data.schedule !== s.name) continue;
    counts.set(data.tick, (counts.get(data.tick) ?? 0) + 1);
  }
  return counts;
}

describe('high-water mark script', () => {
  it('moves only forward, compare-and-sets on request, and keeps catch-up ticks pending until settled', async () => {
    const marks = createCronMarks(db.redis, keys);
    expect(await marks.read('mark.test')).toEqual({ mark: undefined, pending: undefined });
    expect(await marks.advance('mark.test', 1000, { expected: 'none' })).toEqual({
      moved: true,
      previous: undefined,
      current: 1000,
    });
    expect(await marks.advance('mark.test', 5000, { expected: 'none' })).toMatchObject({
      moved: false,
      current: 1000,
    });
    expect(await marks.advance('mark.test', 900)).toEqual({ moved: false, previous: 1000, current: 1000 });
    expect(await marks.advance('mark.test', 1000)).toMatchObject({ moved: false });
    expect(await marks.advance('mark.test', 2000)).toEqual({ moved: true, previous: 1000, current: 2000 });
    expect(await marks.advance('mark.test', 3000, { expected: 1000 })).toMatchObject({
      moved: false,
      current: 2000,
    });
    expect(await marks.advance('mark.test', 3000, { expected: 2000, pending: [2500, 2600] })).toMatchObject({
      moved: true,
    });
    await marks.advance('mark.test', 4000, { expected: 3000, pending: [3500] });
    expect(await marks.read('mark.test')).toEqual({ mark: 4000, pending: '2500,2600,3500' });
    expect(await marks.settle('mark.test', '2500,2600')).toBe(false);
    expect(await marks.settle('mark.test', '2500,2600,3500')).toBe(true);
    expect(await marks.read('mark.test')).toEqual({ mark: 4000, pending: undefined });
  });

  it('refuses malformed arguments before writing', async () => {
    const marks = createCronMarks(db.redis, keys);
    await expect(marks.advance('mark.bad', -5)).rejects.toBeInstanceOf(ScriptError);
    await expect(marks.advance('mark.bad', 1.5)).rejects.toBeInstanceOf(ScriptError);
    await expect(marks.advance('mark.bad', 10, { pending: [Number.NaN] })).rejects.toBeInstanceOf(
      ScriptError,
    );
    expect(await marks.read('mark.bad')).toEqual({ mark: undefined, pending: undefined });
  });
});

describe('one run per tick', () => {
  it('two replicas (one clock +2 s) and a restarted one fire every tick exactly once', async () => {
    const everySecond = schedule({ name: 'replicas.every_second', overlap: 'allow' }, '* * * * * *');
    await startMover();
    const options = { lookaheadMs: 1500, pollMs: 100 };
    const a = replica([everySecond], systemClock, options);
    const b = replica([everySecond], offsetClock(systemClock, 2000), options);
    const startedAt = Date.now();
    a.scheduler.start();
    b.scheduler.start();
    await waitFor(async () => (await firedTicks(everySecond)).size >= 3, 'three ticks fired');
    await a.scheduler.stop(); // a restart: a new instance with no memory, same Redis
    const restarted = replica([everySecond], systemClock, options);
    restarted.scheduler.start();
    await waitFor(async () => (await firedTicks(everySecond)).size >= 6, 'three more ticks fired');
    await Promise.all([b.scheduler.stop(), restarted.scheduler.stop()]);
    const stoppedAt = Date.now();
    // everything scheduled (up to 2 s + lookahead ahead, by the skewed replica) fires, then nothing is left
    await waitFor(async () => (await pendingTimers(everySecond)).size === 0, 'the wheel to drain', 10_000);

    for (const r of [a, b, restarted]) expect(r.errors).toEqual([]);
    const fired = await firedTicks(everySecond);
    expect([...fired.values()].every((count) => count === 1)).toBe(true);
    const ticks = [...fired.keys()].map(Date.parse).sort((x, y) => x - y);
    const first = ticks[0] ?? 0;
    const last = ticks[ticks.length - 1] ?? 0;
    // no gap: every second from the first to the last fired tick is there
    expect(ticks).toEqual(Array.from({ length: (last - first) / SECOND + 1 }, (_, i) => first + i * SECOND));
    // the first replica to start sets the mark (the skewed one: 2 s ahead); the last pass looked 1.5 s ahead
    expect(first).toBeLessThanOrEqual(startedAt + 4 * SECOND);
    expect(last).toBeGreaterThanOrEqual(stoppedAt - SECOND);
    // the skewed replica ran ahead, so it put most ticks on the wheel; repeats by others were no-ops
    const putBy = (r: Replica) =>
      r.scheduled.flatMap((e) => e.results).filter((x) => x === 'scheduled').length;
    expect(putBy(a) + putBy(b) + putBy(restarted)).toBe(ticks.length);
    expect(putBy(b)).toBeGreaterThan(0);
  });

  it('replicas racing on the same mark schedule the same ids; the wheel keeps one timer per tick', async () => {
    const quarter = schedule({ name: 'replicas.race' }, '*/15 * * * * *');
    const clock = new ManualClock(Date.parse('2031-05-01T10:00:01Z'));
    const a = replica([quarter], clock, { lookaheadMs: MINUTE });
    const b = replica([quarter], clock, { lookaheadMs: MINUTE });
    await Promise.all([a.scheduler.runPass(), b.scheduler.runPass()]);
    clock.advance(30 * SECOND);
    await Promise.all([a.scheduler.runPass(), b.scheduler.runPass()]);
    const results = [...a.scheduled, ...b.scheduled].flatMap((e) => e.results);
    expect(results.filter((r) => r === 'scheduled')).toHaveLength(6); // 10:00:15 .. 10:01:30
    expect(results.every((r) => r === 'scheduled' || r === 'unchanged')).toBe(true);
    const ids = [...(await pendingTimers(quarter)).keys()].sort();
    expect(ids).toEqual(
      ['10:00:15', '10:00:30', '10:00:45', '10:01:00', '10:01:15', '10:01:30'].map((t) =>
        cronTimerId(quarter.name, Date.parse(`2031-05-01T${t}Z`)),
      ),
    );
  });

  it('a restarted replica continues from the mark: no tick twice, none lost', async () => {
    const minutely = schedule({ name: 'restart.minutely' }, '* * * * *');
    const clock = new ManualClock(Date.parse('2031-05-01T10:00:30Z'));
    const first = replica([minutely], clock);
    for (let i = 0; i < 6; i++, clock.advance(20 * SECOND)) await first.scheduler.runPass();
    await first.scheduler.stop();
    const second = replica([minutely], clock);
    for (let i = 0; i < 6; i++, clock.advance(20 * SECOND)) await second.scheduler.runPass();
    const ids = [...(await pendingTimers(minutely)).keys()].sort();
    expect(ids).toEqual(
      ['10:01', '10:02', '10:03', '10:04'].map((t) =>
        cronTimerId(minutely.name, Date.parse(`2031-05-01T${t}:00Z`)),
      ),
    );
    expect(second.missed).toEqual([]);
  });
});

describe('missed ticks after a downtime', () => {
  // minutely; the pass before the downtime at 10:00:05, the one after at 11:00:05 (grace 10 s, lookahead 10 s)
  const before = Date.parse('2031-06-02T10:00:05Z');
  const after = before + 60 * MINUTE;
  const at = (hhmm: string) => Date.parse(`2031-06-02T${hhmm}:00Z`);

  async function downtime(s: CronSchedule): Promise<{ r: Replica; pending: Map<string, string> }> {
    const clock = new ManualClock(before);
    await replica([s], clock).scheduler.runPass();
    clock.set(after);
    const r = replica([s], clock);
    await r.scheduler.runPass();
    expect(r.errors).toEqual([]);
    return { r, pending: await pendingTimers(s) };
  }

  it('skip: nothing missed runs; the schedule resumes with the next tick', async () => {
    const s = schedule({ name: 'missed.skip', missed: 'skip' }, '* * * * *');
    const { r, pending } = await downtime(s);
    // 11:00:00 is 5 s late, within the grace: owed, not missed
    expect([...pending]).toEqual([[cronTimerId(s.name, at('11:00')), 'schedule']]);
    expect(r.missed).toEqual([
      {
        schedule: s.name,
        policy: 'skip',
        fromMs: before + 10 * SECOND,
        toMs: after - 10 * SECOND,
        fired: [],
        dropped: 0,
      },
    ]);
  });

  it('once: only the latest missed tick runs', async () => {
    const s = schedule({ name: 'missed.once', missed: 'once' }, '* * * * *');
    const { r, pending } = await downtime(s);
    expect([...pending].sort()).toEqual([
      [cronTimerId(s.name, at('10:59')), 'missed'],
      [cronTimerId(s.name, at('11:00')), 'schedule'],
    ]);
    expect(r.missed.map((m) => m.fired.map(tickIso))).toEqual([[tickIso(at('10:59'))]]);
  });

  it('all within a window: every missed tick not older than the window runs', async () => {
    const s = schedule({ name: 'missed.all', missed: { all: { withinMs: 15 * MINUTE } } }, '* * * * *');
    const { r, pending } = await downtime(s);
    const missed = [...pending].filter(([, cause]) => cause === 'missed').map(([id]) => id);
    // (10:45:05, 10:59:55]: 10:46 .. 10:59
    expect(missed.sort()).toEqual(
      Array.from({ length: 14 }, (_, i) => cronTimerId(s.name, at('10:46') + i * MINUTE)),
    );
    expect(pending.get(cronTimerId(s.name, at('11:00')))).toBe('schedule');
    expect(r.missed[0]?.fired).toHaveLength(14);
  });

  it('two replicas with skewed clocks catching up at once: at most one missed tick runs, every tick once', async () => {
    const s = schedule({ name: 'missed.race', missed: 'once' }, '* * * * *');
    const clock = new ManualClock(before);
    await replica([s], clock).scheduler.runPass();
    // boundaries 10:59:59 and 11:00:01: each alone would pick a different "latest missed tick"
    clock.set(at('11:00') + 9 * SECOND);
    const a = replica([s], clock);
    const b = replica([s], offsetClock(clock, 2000));
    await Promise.all([a.scheduler.runPass(), b.scheduler.runPass()]);
    expect([...a.errors, ...b.errors]).toEqual([]);
    // the first compare-and-set decides (10:00:15, its boundary]; the other replica only continues from there
    expect([...a.missed, ...b.missed].length).toBeGreaterThanOrEqual(1);
    const pending = await pendingTimers(s);
    const beforeEleven = [...pending.keys()].filter((id) => id < cronTimerId(s.name, at('11:00')));
    expect(beforeEleven.length).toBeLessThanOrEqual(1);
    expect(beforeEleven.every((id) => id === cronTimerId(s.name, at('10:59')))).toBe(true);
    expect(pending.has(cronTimerId(s.name, at('11:00')))).toBe(true);
  });

  it('a catch-up decision recorded by a replica that crashed before scheduling is completed by the next pass', async () => {
    const s = schedule({ name: 'missed.crash', missed: 'once' }, '* * * * *');
    const clock = new ManualClock(before);
    await replica([s], clock).scheduler.runPass();
    // the crashed replica got as far as the compare-and-set with its choice
    const marks = createCronMarks(db.redis, keys);
    const { mark } = await marks.read(s.name);
    await marks.advance(s.name, after - 10 * SECOND, { expected: mark, pending: [at('10:59')] });
    expect(await pendingTimers(s)).toEqual(new Map());
    clock.set(after);
    const r = replica([s], clock);
    await r.scheduler.runPass();
    expect((await pendingTimers(s)).get(cronTimerId(s.name, at('10:59')))).toBe('missed');
    expect(await marks.read(s.name)).toMatchObject({ pending: undefined });
    expect(r.missed).toEqual([]); // the decision was the crashed replica's, not re-made
  });
});

describe('backfill', () => {
  it('schedules the ticks of a range; fired ticks are not run again unless forced', async () => {
    const s = schedule({ name: 'backfill.minutely' }, '* * * * *');
    await startMover();
    const now = Date.now();
    const from = Math.floor(now / MINUTE) * MINUTE - 5 * MINUTE;
    const to = from + 7 * MINUTE; // 5 past ticks, the current minute, and one or two future ones
    const r = replica([s], systemClock);
    const result = await r.scheduler.backfill(s.name, from, to);
    expect(result).toMatchObject({ ticks: 8, scheduled: 8, alreadyPending: 0, alreadyFired: 0 });
    expect(result.firstTick).toBe(tickIso(from));
    expect(result.lastTick).toBe(tickIso(to));
    const past = Array.from({ length: 6 }, (_, i) => tickIso(from + i * MINUTE)).filter(
      (t) => Date.parse(t) <= now,
    );
    await waitFor(async () => {
      const fired = await firedTicks(s);
      return past.every((t) => fired.get(t) === 1);
    }, 'the past ticks to fire');

    const again = await r.scheduler.backfill(s.name, from, to);
    expect(again.alreadyFired).toBeGreaterThanOrEqual(past.length);
    expect(again.scheduled).toBe(0);
    expect(again.alreadyFired + again.alreadyPending).toBe(8);

    const forced = await r.scheduler.backfill(s.name, from, from + MINUTE, { force: true });
    expect(forced).toMatchObject({ ticks: 2, scheduled: 2 });
    await waitFor(
      async () => (await firedTicks(s)).get(tickIso(from)) === 2,
      'the forced tick to fire again',
    );
    const [entry] = await db.redis.xrevrange(partitionOf(s).stream, '+', '-', 'COUNT', 1);
    const registry = createEventRegistry();
    registerCronTick(registry, DOMAIN);
    const event = registry.validate(parseEnvelope(decodeEntry(entry?.[1] ?? [])));
    expect(event).toMatchObject({
      type: 'cron.tick',
      key: s.name,
      data: { schedule: s.name, cause: 'backfill' },
    });

    await expect(
      r.scheduler.backfill(s.name, from, from + 10 * MINUTE, { maxTicks: 5 }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(r.scheduler.backfill('no.such', from, to)).rejects.toThrow(/unknown cron schedule/);
  });
});

describe('Redis time', () => {
  it('calibrates the offset from Redis TIME, refreshes it once stale, and fails without any answer', async () => {
    const ahead = createRedisClock(connect(), { base: offsetClock(systemClock, MINUTE) });
    await ahead.ready;
    // loopback: the round trip is far below a second, and redis-server shares this machine's clock
    expect(Math.abs((ahead.offsetMs() ?? 0) + MINUTE)).toBeLessThan(SECOND);
    expect(Math.abs(ahead.now() - Date.now())).toBeLessThan(SECOND);

    const base = new ManualClock(0);
    const manual = createRedisClock(connect(), { base, refreshMs: 5 * SECOND });
    await manual.ready;
    const offset = manual.offsetMs() ?? 0;
    base.advance(4 * SECOND); // the base jumps ahead of real time; the calibration is still fresh
    await manual.sync();
    expect(manual.offsetMs()).toBe(offset);
    base.advance(2 * SECOND); // now stale: sync measures again
    await manual.sync();
    expect(Math.abs((manual.offsetMs() ?? 0) - (offset - 6 * SECOND))).toBeLessThan(SECOND);
    expect(Math.abs(manual.now() - Date.now())).toBeLessThan(SECOND);

    const offline = new Redis(db.server.url, { lazyConnect: true, enableOfflineQueue: false });
    stoppers.push(() => offline.disconnect());
    const unreachable = createRedisClock(offline);
    await expect(unreachable.ready).rejects.toThrow();
    await expect(unreachable.sync()).rejects.toThrow();
    expect(unreachable.offsetMs()).toBeUndefined();
  });

  it('a replica whose clock runs 60 s ahead but uses the Redis clock schedules the future ticks normally', async () => {
    const everySecond = schedule({ name: 'skew.every_second', missed: 'skip' }, '* * * * * *');
    const inTime = replica([everySecond], systemClock);
    await inTime.scheduler.runPass(); // the mark: now + 10 s
    const skewed = replica(
      [everySecond],
      createRedisClock(connect(), { base: offsetClock(systemClock, MINUTE) }),
    );
    await skewed.scheduler.runPass();
    // the next tick entering the lookahead is put on the wheel by the skewed replica, at its time
    await waitFor(
      async () => {
        await skewed.scheduler.runPass();
        return skewed.scheduled.some((e) => e.results.includes('scheduled'));
      },
      'the skewed replica to schedule the next tick',
      5000,
    );
    const checkedAt = Date.now();
    expect([...inTime.errors, ...skewed.errors]).toEqual([]);
    // by its own clock the ticks up to 50 s ahead were more than the grace late: nothing is taken for missed
    expect(skewed.missed).toEqual([]);
    const ticks = [...(await pendingTimers(everySecond))]
      .map(([id, cause]) => {
        expect(cause).toBe('schedule');
        return Date.parse(id.slice(`cron:${everySecond.name}:`.length));
      })
      .sort((x, y) => x - y);
    const first = ticks[0] ?? 0;
    const last = ticks[ticks.length - 1] ?? 0;
    // no gap, and nothing put on the wheel beyond the real lookahead (no pre-scheduling a minute ahead)
    expect(ticks).toEqual(Array.from({ length: (last - first) / SECOND + 1 }, (_, i) => first + i * SECOND));
    expect(last).toBeLessThanOrEqual(checkedAt + 10 * SECOND);
    expect(last).toBeGreaterThan(checkedAt + 8 * SECOND);
  });
});
