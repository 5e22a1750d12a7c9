// Cron through the whole worker: schedules declared by a pack, expressions from CRON_*, ticks on the wheel, moved
// by the worker's mover, run once per tick by the job; a bad expression fails the start naming its variable; a job
// timeout the overlap lock does not outlive is refused; the scheduler runs on Redis time, whatever the local clock.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { offsetClock, systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import type { CronMissedEvent, CronScheduledEvent } from '../../src/scheduler/cron-scheduler.js';
import { resolveCronSchedules } from '../../src/scheduler/cron-schedules.js';
import { createTimerWheel } from '../../src/scheduler/timer-wheel.js';
import { outcome } from '../../src/streams/outcome.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { startCronScheduler, withCronPolicies } from '../../src/worker-cron.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';
import { createCronFixturePack } from '../support/worker-fixture-jobs.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop(1_000)));
});

function config(keyPrefix: string, extra: Record<string, string>) {
  return loadConfig(
    {
      REDIS_URL: db.server.url,
      QUEUE_PREFIX: keyPrefix,
      LOG_LEVEL: 'silent',
      PARTITIONS_DEFAULT: '2',
      ...extra,
    },
    { envFile: false },
  );
}

describe('cron in the worker', () => {
  it('two replicas run every 1 s tick of a schedule exactly once, in tick order', async () => {
    const keyPrefix = `${prefix}-two`;
    const fixtures = [createCronFixturePack(), createCronFixturePack()];
    for (const fixture of fixtures) {
      workers.push(
        await startWorker({
          config: config(keyPrefix, { CRON_FIXTURE_SWEEP: '1s', SCHEDULER_POLL_MS: '100' }),
          packs: [fixture.pack],
        }),
      );
    }
    const all = (): string[] => fixtures.flatMap((f) => f.ticks);
    await waitFor(() => all().length >= 3, 'three ticks run', 10_000);
    await Promise.all(workers.splice(0).map((w) => w.stop(1_000)));
    const ticks = all().sort();
    expect(new Set(ticks).size).toBe(ticks.length);
    // consecutive ticks, one second apart: none missing between the first and the last
    const ms = ticks.map((t) => Date.parse(t));
    for (let i = 1; i < ms.length; i += 1) expect((ms[i] ?? 0) - (ms[i - 1] ?? 0)).toBe(1000);
  });

  it('refuses to start with a bad expression, naming the variable, before touching Redis', async () => {
    const bad = config(`${prefix}-bad`, {
      CRON_FIXTURE_SWEEP: '61 * * * *',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    const start = startWorker({ config: bad, packs: [createCronFixturePack().pack] });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(/CRON_FIXTURE_SWEEP/);
  });

  it('refuses a schedule that is not set and has no default', async () => {
    const unset = config(`${prefix}-unset`, {});
    await expect(startWorker({ config: unset, packs: [createCronFixturePack().pack] })).rejects.toThrow(
      /CRON_FIXTURE_SWEEP: is not set/,
    );
  });
});

describe('cron job policies and time', () => {
  const logger = pino({ level: 'silent' });

  it('refuses a skip-overlap cron job whose timeout the overlap lock does not outlive, naming SCHEDULER_LOCK_TTL_MS', () => {
    const cfg = config(`${prefix}-ttl`, {
      CRON_TTL_SWEEP: '* * * * *',
      SCHEDULER_LOCK_TTL_MS: '60000',
      HANDLER_TIMEOUT_MS: '30000',
    });
    const keys = createKeyBuilder({ prefix: `${prefix}-ttl` });
    const schedules = resolveCronSchedules(
      [{ name: 'ttl.sweep', overlap: 'skip', targetGroup: 'ttl.sweep' }],
      cfg.jobs.cronSchedules,
    );
    const job = (timeoutMs: number) => ({
      name: 'ttl.sweep',
      domain: 'cron',
      types: ['cron.tick'],
      timeoutMs,
      handler: () => Promise.resolve(outcome.ack()),
    });
    const deps = { redis: db.redis, keys, config: cfg, logger };
    expect(() => withCronPolicies(job(60_000), schedules, deps)).toThrow(ConfigError);
    expect(() => withCronPolicies(job(90_000), schedules, deps)).toThrow(/SCHEDULER_LOCK_TTL_MS=60000/);
    expect(withCronPolicies(job(59_999), schedules, deps).timeoutMs).toBe(59_999);
  });

  it('a replica whose local clock runs 60 s ahead schedules by Redis time: nothing missed, nothing early', async () => {
    const keyPrefix = `${prefix}-skew`;
    const cfg = config(keyPrefix, { SCHEDULER_POLL_MS: '100' });
    const keys = createKeyBuilder({ prefix: keyPrefix });
    const schedules = resolveCronSchedules([{ name: 'skew.sweep', missed: 'skip' }], {
      CRON_SKEW_SWEEP: '* * * * * *',
    });
    const deps = {
      config: cfg,
      logger,
      redis: db.redis,
      keys,
      wheel: createTimerWheel({ redis: db.redis, keys }),
    };
    const inTime = startCronScheduler({ ...deps, schedules });
    const skewed = startCronScheduler({ ...deps, schedules, localClock: offsetClock(systemClock, 60_000) });
    const missed: CronMissedEvent[] = [];
    const scheduled: CronScheduledEvent[] = [];
    skewed.on('missed', (event) => missed.push(event));
    skewed.on('scheduled', (event) => scheduled.push(event));
    try {
      // which replica puts a tick on the wheel first is a race ('scheduled' vs 'unchanged'); either way the
      // skewed one must take part by Redis time: put ticks on the wheel and report none missed
      await waitFor(
        () => scheduled.some((e) => e.ticks.length > 0),
        'the skewed replica to put ticks on the wheel',
        10_000,
      );
    } finally {
      await Promise.all([inTime.stop(), skewed.stop()]);
    }
    const stoppedAt = Date.now();
    expect(missed).toEqual([]);
    const ticks = scheduled.flatMap((e) => e.ticks);
    expect(ticks.every((t) => t <= stoppedAt + cfg.scheduler.lookaheadMs)).toBe(true);
  });
});
