// `workers backfill` and `workers run` against a real redis-server: ticks of a range on the timer wheel (with
// progress, idempotent, --force), and a cron job triggered now and run by a live worker; other jobs refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.js';
import { createTimerWheel } from '../../src/scheduler/timer-wheel.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { runCli } from '../support/cli-process.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';
import { createCronFixturePack, createFixturePack, FIXTURE_TYPE } from '../support/worker-fixture-jobs.js';

const FIXTURE_BIN = fileURLToPath(new URL('../support/cli-fixture-bin.ts', import.meta.url));
const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const keys = createKeyBuilder({ prefix });
// yearly: the schedule itself never fires during the test, only what the CLI puts on the wheel
const SCHEDULE = '0 0 1 1 *';
const cron = createCronFixturePack();
const fixture = createFixturePack();
let env: Record<string, string>;
let worker: Worker | undefined;

const workers = (args: readonly string[]) => runCli(args, { env });
/** The CLI with the fixture packs (jobs fixture.record and fixture.sweep) instead of the shipped ones. */
const fixtureWorkers = (args: readonly string[]) => runCli(args, { env, entry: FIXTURE_BIN });

beforeAll(async () => {
  env = {
    REDIS_URL: db.server.url,
    QUEUE_PREFIX: prefix,
    PARTITIONS_DEFAULT: '2',
    CRON_FIXTURE_SWEEP: SCHEDULE,
  };
  worker = await startWorker({
    config: loadConfig({ ...env, LOG_LEVEL: 'silent', SCHEDULER_POLL_MS: '100' }, { envFile: false }),
    packs: [cron.pack, fixture.pack],
  });
});

afterAll(async () => {
  await worker?.stop(1000);
});

describe('workers backfill', () => {
  it('puts each tick of a range on the wheel once and shows progress; unknown schedules and bad ranges exit 2', async () => {
    const range = ['--from', '2030-01-01T00:00:00Z', '--to', '2030-01-01T05:00:00Z'];
    const adhoc = ['backfill', 'ops.hourly', ...range, '--spec', '0 * * * *', '--job', 'ops.hourly'];
    const [first, unknown, empty, badSpec] = await Promise.all([
      workers(['--json', '--progress', ...adhoc]),
      workers(['backfill', 'no.such.schedule', ...range]),
      workers([
        'backfill',
        'ops.hourly',
        '--from',
        '2030-01-02',
        '--to',
        '2030-01-01',
        '--spec',
        '0 * * * *',
        '--job',
        'x',
      ]),
      workers(['backfill', 'ops.hourly', ...range, '--spec', '61 * * * *', '--job', 'ops.hourly']),
    ]);
    expect(first.code).toBe(0);
    expect(first.json()).toMatchObject({
      schedule: 'ops.hourly',
      targetGroup: 'ops.hourly',
      ticks: 6,
      scheduled: 6,
      firstTick: '2030-01-01T00:00:00.000Z',
      lastTick: '2030-01-01T05:00:00.000Z',
    });
    expect(first.stderr).toContain('100% 6/6');
    expect([unknown.code, empty.code, badSpec.code]).toEqual([2, 2, 2]);
    expect(unknown.stderr).toContain('no job declares cron schedule');

    const again = await workers(['--json', ...adhoc]);
    expect(again.json()).toMatchObject({ ticks: 6, scheduled: 0, alreadyPending: 6 });
    const listed = await workers(['--json', 'timers', 'list', '--job', 'ops.hourly']);
    expect(listed.json<{ id: string }[]>().map((t) => t.id)).toEqual(
      [0, 1, 2, 3, 4, 5].map((h) => `cron:ops.hourly:2030-01-01T0${h}:00:00.000Z`),
    );
  });
});

describe('workers run', () => {
  it('triggers a cron job now (a live worker runs it, again on a second run); refuses other jobs', async () => {
    const before = Date.now();
    const first = await fixtureWorkers(['--json', 'run', 'fixture.sweep']);
    expect(first.code).toBe(0);
    const { runs } = first.json<{ runs: { schedule: string; tick: string; result: string }[] }>();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ schedule: 'fixture.sweep', result: 'scheduled' });
    const tick = runs[0]?.tick ?? '';
    expect(Date.parse(tick)).toBeGreaterThanOrEqual(before);
    await waitFor(() => cron.ticks.includes(tick), 'the worker running the triggered tick');

    const [second, notCron, unknown, declared, published] = await Promise.all([
      fixtureWorkers(['run', 'fixture.sweep']),
      fixtureWorkers(['run', 'fixture.record']),
      fixtureWorkers(['run', 'no.such.job']),
      fixtureWorkers(['--json', 'backfill', 'fixture.sweep', '--from', '2031-01-01', '--to', '2032-12-31']),
      fixtureWorkers(['--json', 'publish', FIXTURE_TYPE, '{"n":7}', '--key', 'item-7']),
    ]);
    expect(second.code).toBe(0);
    await waitFor(() => cron.ticks.length === 2, 'the second run');
    expect(notCron.code).toBe(2);
    expect(notCron.stderr).toContain('not a cron job');
    expect(unknown.code).toBe(2);
    expect(declared.json()).toMatchObject({
      schedule: 'fixture.sweep',
      targetGroup: 'fixture.sweep',
      ticks: 2,
    });
    expect(published.code).toBe(0);
    await waitFor(
      () => fixture.handled.some((h) => h.event.data.n === 7),
      'the fixture job handling the published event',
    );

    const wheel = createTimerWheel({ redis: db.redis, keys });
    const pending = await wheel.list(keys.partition('cron', 0), { limit: 100 });
    const pendingOther = await wheel.list(keys.partition('cron', 1), { limit: 100 });
    const ids = [...pending, ...pendingOther].map((t) => t.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'cron:fixture.sweep:2031-01-01T00:00:00.000Z',
        'cron:fixture.sweep:2032-01-01T00:00:00.000Z',
      ]),
    );
  });
});
