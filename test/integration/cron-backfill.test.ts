// A forced backfill on a private redis-server with the wheel, the mover and a consumer: a tick that already ran (and
// left its dedupe mark) runs again when forced, since the forced run's event has an id of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createCronScheduler } from '../../src/scheduler/cron-scheduler.js';
import { resolveCronSchedules } from '../../src/scheduler/cron-schedules.js';
import { CRON_TICK_TYPE, cronTickEventId, registerCronTick } from '../../src/scheduler/cron-tick-event.js';
import type { CronTickData } from '../../src/scheduler/cron-tick-event.js';
import { createTimerMover } from '../../src/scheduler/timer-mover.js';
import { createTimerWheel } from '../../src/scheduler/timer-wheel.js';
import { outcome } from '../../src/streams/outcome.js';
import { createStreamsFixture, waitFor } from '../support/streams-fixture.js';
import type { StreamsFixture } from '../support/streams-fixture.js';

const MINUTE = 60_000;

let fx: StreamsFixture;
beforeAll(async () => {
  fx = await createStreamsFixture(import.meta.url);
  registerCronTick(fx.registry, 'cron');
});
afterAll(async () => {
  await fx.close();
});

describe('forced backfill', () => {
  it('runs a tick that already ran again (not acked as a duplicate of the first run)', async () => {
    const [hourly] = resolveCronSchedules([{ name: 'backfill.forced', overlap: 'allow' }], {
      CRON_BACKFILL_FORCED: '0 * * * *',
    });
    if (!hourly) throw new Error('no schedule');
    const partitions = Array.from({ length: fx.partitions }, (_, i) => fx.keys.partition('cron', i));
    const mover = createTimerMover({ redis: fx.connect(), keys: fx.keys, partitions, maxPollMs: 50 });
    const schedulerRedis = fx.connect();
    const scheduler = createCronScheduler({
      redis: schedulerRedis,
      keys: fx.keys,
      wheel: createTimerWheel({ redis: schedulerRedis, keys: fx.keys }),
      schedules: [hourly],
      partitions: fx.partitions,
    });
    const runs: CronTickData[] = [];
    const outcomes: OutcomeEvent[] = [];
    const runner = fx.runner({
      name: 'backfill.forced',
      domain: 'cron',
      types: [CRON_TICK_TYPE],
      handler: async (event: { data: CronTickData }) => {
        runs.push(event.data);
        return outcome.ack();
      },
    });
    runner.on('outcome', (event) => outcomes.push(event));
    await runner.start();
    await mover.start();
    try {
      const tickMs = Math.floor((Date.now() - 60 * MINUTE) / (60 * MINUTE)) * 60 * MINUTE;
      expect(await scheduler.backfill(hourly.name, tickMs, tickMs)).toMatchObject({ ticks: 1, scheduled: 1 });
      await waitFor(() => runs.length === 1, 'the tick to run');
      await waitFor(() => outcomes.some((o) => o.kind === 'ack'), 'its ack and dedupe mark');

      const forced = await scheduler.backfill(hourly.name, tickMs, tickMs, { force: true });
      expect(forced).toMatchObject({ ticks: 1, scheduled: 1 });
      await waitFor(() => outcomes.length === 2, 'the forced tick to be handled');
      expect(outcomes.map((o) => o.kind)).toEqual(['ack', 'ack']);
      expect(runs.map((r) => [r.tick, r.cause])).toEqual([
        [new Date(tickMs).toISOString(), 'backfill'],
        [new Date(tickMs).toISOString(), 'backfill'],
      ]);
      // the plain tick keeps its (schedule, tick) id; the forced run's differs
      const ids = outcomes.map((o) => o.eventId);
      expect(ids[0]).toBe(cronTickEventId(hourly.name, tickMs));
      expect(ids[1]).not.toBe(ids[0]);
    } finally {
      await mover.stop();
    }
  });
});
