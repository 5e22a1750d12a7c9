// Cron through the whole worker: schedules declared by a pack, expressions from CRON_*, ticks on the wheel, moved
// by the worker's mover, run once per tick by the job; a bad expression fails the start naming its variable.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
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
