// Overlap protection on a private redis-server: the owner-tokened lock (held, refreshed past its TTL, lost and then
// not released for the new owner, released as soon as the attempt is aborted) and the cron.tick handler wrapper
// (skip acks a tick another tick's run holds off and reports it; a tick its own stale attempt holds off is retried;
// allow runs alongside), end to end with the scheduler, the mover and two consumers of one job, and across a
// shutdown past its grace period.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import type { JobContext, JobHandler } from '../../src/pipelines/job-definition.js';
import { createCronOverlapGuard, exclusiveTicks } from '../../src/scheduler/cron-overlap.js';
import type { SkippedTick } from '../../src/scheduler/cron-overlap.js';
import { createCronScheduler } from '../../src/scheduler/cron-scheduler.js';
import { resolveCronSchedules } from '../../src/scheduler/cron-schedules.js';
import { CRON_TICK_TYPE, cronTickEvent, registerCronTick } from '../../src/scheduler/cron-tick-event.js';
import type { CronTickData } from '../../src/scheduler/cron-tick-event.js';
import { createTimerMover } from '../../src/scheduler/timer-mover.js';
import { createTimerWheel } from '../../src/scheduler/timer-wheel.js';
import { outcome } from '../../src/streams/outcome.js';
import { createStreamsFixture, waitFor } from '../support/streams-fixture.js';
import type { StreamsFixture } from '../support/streams-fixture.js';

let fx: StreamsFixture;
beforeAll(async () => {
  fx = await createStreamsFixture(import.meta.url);
  registerCronTick(fx.registry, 'cron');
});
afterAll(async () => {
  await fx.close();
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function tick(schedule: string, iso: string): EventEnvelope<CronTickData> {
  return cronTickEvent({
    schedule,
    tickMs: Date.parse(iso),
    scheduledAtMs: Date.parse(iso),
    cause: 'schedule',
    source: 'workers',
  });
}

function context(): JobContext {
  return {
    signal: new AbortController().signal,
    job: 'cron.job',
    entryId: '1-0',
    attempt: 1,
    failures: 0,
    partition: 0,
  };
}

describe('runExclusive', () => {
  it('runs one run of a schedule at a time and names the holder to the run it turns away', async () => {
    const guard = createCronOverlapGuard({ redis: fx.redis, keys: fx.keys, lockTtlMs: 5000 });
    const release = deferred();
    const first = guard.runExclusive('lock.basic', 'tick-1', async () => {
      await release.promise;
      return 'first done';
    });
    await waitFor(async () => (await fx.redis.exists(fx.keys.cronLock('lock.basic'))) === 1, 'the lock');
    const refused = await guard.runExclusive('lock.basic', 'tick-2', () => Promise.resolve('never'));
    expect(refused).toMatchObject({ ran: false, heldBy: 'tick-1' });
    expect(refused.ran ? 0 : refused.remainingMs).toBeGreaterThan(0);
    expect(refused.ran ? 0 : refused.remainingMs).toBeLessThanOrEqual(5000);
    expect(await guard.runExclusive('lock.other', 'tick-2', () => Promise.resolve('other'))).toEqual({
      ran: true,
      value: 'other',
    });
    release.resolve();
    expect(await first).toEqual({ ran: true, value: 'first done' });
    expect(await fx.redis.exists(fx.keys.cronLock('lock.basic'))).toBe(0);
    expect(await guard.runExclusive('lock.basic', 'tick-3', () => Promise.resolve(3))).toEqual({
      ran: true,
      value: 3,
    });
  });

  it('keeps the lock past its TTL while the run lasts', async () => {
    const guard = createCronOverlapGuard({ redis: fx.redis, keys: fx.keys, lockTtlMs: 150 });
    const key = fx.keys.cronLock('lock.refresh');
    const result = await guard.runExclusive('lock.refresh', 'long', async () => {
      const started = Date.now();
      await waitFor(() => Date.now() - started > 600, 'four TTLs to pass');
      return fx.redis.get(key);
    });
    expect(result).toMatchObject({ ran: true, value: expect.stringMatching(/^long\|/) as unknown });
    expect(await fx.redis.exists(key)).toBe(0);
  });

  it('aborts a run whose lock was lost and leaves the new owner’s lock alone', async () => {
    const guard = createCronOverlapGuard({ redis: fx.redis, keys: fx.keys, lockTtlMs: 150 });
    const key = fx.keys.cronLock('lock.lost');
    const lost: string[] = [];
    guard.on('lockLost', ({ label }) => lost.push(label));
    const result = await guard.runExclusive('lock.lost', 'slow', async (signal) => {
      await fx.redis.set(key, 'other|token', 'PX', 10_000); // expired and taken over meanwhile
      await waitFor(() => signal.aborted, 'the run to be told');
      return 'aborted';
    });
    expect(result).toEqual({ ran: true, value: 'aborted' });
    expect(lost).toEqual(['slow']);
    expect(await fx.redis.get(key)).toBe('other|token');
  });

  it('releases the lock and stops refreshing it once the attempt is aborted, though the run goes on', async () => {
    const guard = createCronOverlapGuard({ redis: fx.redis, keys: fx.keys, lockTtlMs: 150 });
    const key = fx.keys.cronLock('lock.aborted');
    const attempt = new AbortController();
    const finish = deferred();
    let runSignal: AbortSignal | undefined;
    const run = guard.runExclusive(
      'lock.aborted',
      'ignores-abort',
      async (signal) => {
        runSignal = signal;
        await finish.promise; // a handler that ignores its signal (timed out, or shut down past the grace)
        return 'late';
      },
      { signal: attempt.signal },
    );
    await waitFor(async () => (await fx.redis.exists(key)) === 1, 'the lock');
    attempt.abort(new Error('handler timed out'));
    expect(runSignal?.aborted).toBe(true);
    await waitFor(async () => (await fx.redis.exists(key)) === 0, 'the lock to be released');
    // the next run takes the lock while the abandoned one still runs; no refresh of the old one touches it
    const next = guard.runExclusive('lock.aborted', 'next', async () => {
      const started = Date.now();
      await waitFor(() => Date.now() - started > 300, 'two TTLs to pass');
      return fx.redis.get(key);
    });
    expect(await next).toMatchObject({ ran: true, value: expect.stringMatching(/^next\|/) as unknown });
    finish.resolve();
    expect(await run).toEqual({ ran: true, value: 'late' });
    expect(await fx.redis.exists(key)).toBe(0);
  });
});

describe('exclusiveTicks', () => {
  it('skip acks a tick while the previous run holds the lock and reports it; allow runs alongside', async () => {
    const guard = createCronOverlapGuard({ redis: fx.redis, keys: fx.keys });
    const release = deferred();
    let running = 0;
    let most = 0;
    const ran: string[] = [];
    const handler: JobHandler<CronTickData> = async (event) => {
      running++;
      most = Math.max(most, running);
      ran.push(event.data.tick);
      if (event.data.tick.endsWith('00:00.000Z')) await release.promise;
      running--;
      return outcome.ack();
    };
    const skipped: SkippedTick[] = [];
    const wrapped = exclusiveTicks(handler, {
      guard,
      overlap: { 'ticker.allow': 'allow' },
      onSkipped: (s) => skipped.push(s),
    });
    const first = wrapped(tick('ticker.skip', '2031-01-01T00:00:00Z'), context());
    await waitFor(() => running === 1, 'the first run to start');
    expect(await wrapped(tick('ticker.skip', '2031-01-01T00:00:05Z'), context())).toEqual(outcome.ack());
    expect(skipped).toEqual([
      { schedule: 'ticker.skip', tick: '2031-01-01T00:00:05.000Z', heldBy: '2031-01-01T00:00:00.000Z' },
    ]);
    // another schedule, and an `allow` schedule, are not held back
    const allowFirst = wrapped(tick('ticker.allow', '2031-01-01T00:00:00Z'), context());
    await waitFor(() => running === 2, 'the allow run to start');
    expect(most).toBe(2);
    release.resolve();
    await Promise.all([first, allowFirst]);
    expect(await wrapped(tick('ticker.skip', '2031-01-01T00:00:10Z'), context())).toEqual(outcome.ack());
    expect(ran).toEqual(['2031-01-01T00:00:00.000Z', '2031-01-01T00:00:00.000Z', '2031-01-01T00:00:10.000Z']);
  });

  it('a tick whose own earlier attempt still holds the lock is retried when that lock expires, not acked', async () => {
    const guard = createCronOverlapGuard({ redis: fx.redis, keys: fx.keys, lockTtlMs: 5000 });
    const ran: string[] = [];
    const skipped: SkippedTick[] = [];
    const wrapped = exclusiveTicks(
      async (event) => {
        ran.push(event.data.tick);
        return outcome.ack();
      },
      { guard, onSkipped: (s) => skipped.push(s) },
    );
    const stale = tick('ticker.stale', '2031-01-01T00:01:00Z');
    // a consumer killed mid-run left its lock (a refresh gave it the full TTL); the entry is redelivered
    await fx.redis.set(fx.keys.cronLock('ticker.stale'), `${stale.data.tick}|deadbeef`, 'PX', 4000);
    const retried = await wrapped(stale, context());
    expect(retried).toMatchObject({
      kind: 'retry',
      reason: 'previous attempt of this tick still holds the lock',
    });
    const afterMs = retried.kind === 'retry' ? (retried.afterMs ?? -1) : -1;
    expect(afterMs).toBeGreaterThan(0);
    expect(afterMs).toBeLessThanOrEqual(4000);
    expect(ran).toEqual([]);
    expect(skipped).toEqual([]);
    // once the stale lock is gone, the retry runs the tick
    await fx.redis.del(fx.keys.cronLock('ticker.stale'));
    expect(await wrapped(stale, context())).toEqual(outcome.ack());
    expect(ran).toEqual([stale.data.tick]);
  });

  it('a shutdown past its grace period frees the lock, so the tick released to another consumer runs there', async () => {
    const guard = createCronOverlapGuard({ redis: fx.redis, keys: fx.keys, lockTtlMs: 3000 });
    const hang = deferred();
    const ran: { consumer: string; tick: string }[] = [];
    const skipped: SkippedTick[] = [];
    const job = (consumer: string) => ({
      name: 'shutdown.ticker',
      domain: 'cron',
      types: [CRON_TICK_TYPE],
      keyOf: (event: EventEnvelope<CronTickData>) => event.id,
      handler: exclusiveTicks(
        async (event) => {
          ran.push({ consumer, tick: event.data.tick });
          if (consumer === 'c1') await hang.promise; // ignores its signal
          return outcome.ack();
        },
        { guard, onSkipped: (s) => skipped.push(s) },
      ),
    });
    const c1 = fx.runner(job('c1'), { consumer: 'c1' });
    await c1.start();
    const event = tick('shutdown.ticker', '2031-01-01T00:02:00Z');
    await fx.publisher.publish(event);
    await waitFor(() => ran.length === 1, 'c1 to start the tick');
    const c2 = fx.runner(job('c2'), { consumer: 'c2', settings: { retryPollMs: 50 } });
    await c2.start();
    await c1.stop(50); // the handler ignores the abort: the entry is released with a retry hint due now
    await waitFor(() => ran.length === 2, 'c2 to run the released tick');
    hang.resolve();
    expect(ran).toEqual([
      { consumer: 'c1', tick: event.data.tick },
      { consumer: 'c2', tick: event.data.tick },
    ]);
    expect(skipped).toEqual([]);
  });

  it('end to end: two consumers of one job never run a schedule twice at once; ticks found running are skipped', async () => {
    const [everySecond] = resolveCronSchedules([{ name: 'e2e.ticker', overlap: 'skip' }], {
      CRON_E2E_TICKER: '* * * * * *',
    });
    if (!everySecond) throw new Error('no schedule');
    const partitions = Array.from({ length: fx.partitions }, (_, i) => fx.keys.partition('cron', i));
    const mover = createTimerMover({ redis: fx.connect(), keys: fx.keys, partitions, maxPollMs: 50 });
    await mover.start();
    const schedulerRedis = fx.connect();
    const scheduler = createCronScheduler({
      redis: schedulerRedis,
      keys: fx.keys,
      wheel: createTimerWheel({ redis: schedulerRedis, keys: fx.keys }),
      schedules: [everySecond],
      partitions: fx.partitions,
      lookaheadMs: 1000,
      pollMs: 100,
    });
    const guard = createCronOverlapGuard({ redis: fx.connect(), keys: fx.keys, lockTtlMs: 5000 });
    const release = deferred();
    let running = 0;
    let most = 0;
    const ran: string[] = [];
    const skipped: SkippedTick[] = [];
    const handler = exclusiveTicks(
      async (event) => {
        running++;
        most = Math.max(most, running);
        ran.push(event.data.tick);
        if (ran.length === 1) await release.promise; // the first run outlasts the next ticks
        running--;
        return outcome.ack();
      },
      { guard, onSkipped: (s) => skipped.push(s) },
    );
    const job = {
      name: 'e2e.ticker',
      domain: 'cron',
      types: [CRON_TICK_TYPE],
      concurrency: 4,
      // one consumer must not queue ticks behind each other: the lock, not keyed concurrency, decides
      keyOf: (event: EventEnvelope<CronTickData>) => event.id,
      handler,
    };
    const consumers = [fx.runner(job, { consumer: 'c1' }), fx.runner(job, { consumer: 'c2' })];
    await Promise.all(consumers.map((c) => c.start()));
    scheduler.start();
    try {
      await waitFor(() => skipped.length >= 2, 'two ticks skipped while the first run lasts');
      release.resolve();
      await waitFor(() => ran.length >= 3, 'runs after the first one finished');
    } finally {
      await scheduler.stop();
      await mover.stop();
    }
    expect(most).toBe(1);
    // a skipped tick names the run holding the lock (the long first one, or one delivered in the same burst);
    // undefined when that run released the lock between the refused SET NX and the GET
    expect(skipped.filter((s) => s.heldBy === ran[0]).length).toBeGreaterThanOrEqual(2);
    expect(skipped.every((s) => s.heldBy === undefined || ran.includes(s.heldBy))).toBe(true);
    const handled = [...ran, ...skipped.map((s) => s.tick)];
    expect(new Set(handled).size).toBe(handled.length);
  });
});
