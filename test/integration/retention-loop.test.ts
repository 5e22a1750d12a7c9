// The worker's periodic retention pass on a real redis-server: acked entries are trimmed on the interval from
// config, a pending entry pins everything after it, DLQs are trimmed by count, and TRIM_INTERVAL_MS=0 turns it off.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { WorkerConfig } from '../../src/config/index.js';
import { createPublisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import type { RetentionEvents } from '../../src/streams/retention-loop.js';
import { startWorker } from '../../src/worker.js';
import type { Worker } from '../../src/worker.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';
import { FIXTURE_DOMAIN, createFixturePack, fixtureEvent } from '../support/worker-fixture-jobs.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let worker: Worker | undefined;

afterEach(async () => {
  await worker?.stop(1_000);
  worker = undefined;
});

function configFor(keyPrefix: string, extra: Record<string, string>): WorkerConfig {
  return loadConfig(
    {
      REDIS_URL: db.server.url,
      QUEUE_PREFIX: keyPrefix,
      LOG_LEVEL: 'silent',
      PARTITIONS_DEFAULT: '1',
      STREAM_MIN_RETENTION_MS: '0',
      ...extra,
    },
    { envFile: false },
  );
}

async function publishAndHandle(keyPrefix: string, running: Worker, count: number): Promise<void> {
  const fixture = createFixturePack();
  const registry = createEventRegistry();
  fixture.pack.register(registry);
  const keys = createKeyBuilder({ prefix: keyPrefix });
  const publisher = createPublisher({ redis: db.redis, keys, registry, partitions: () => 1 });
  const outcomes: OutcomeEvent[] = [];
  running.runners[0]?.on('outcome', (event) => outcomes.push(event));
  await publisher.publishBatch(Array.from({ length: count }, (_, n) => fixtureEvent(n)));
  await waitFor(() => outcomes.length === count, 'every event handled');
}

describe('retention loop in the worker', () => {
  it('trims acked entries on the configured interval', async () => {
    const keyPrefix = `${prefix}-on`;
    const fixture = createFixturePack();
    worker = await startWorker({
      config: configFor(keyPrefix, { TRIM_INTERVAL_MS: '50' }),
      packs: [fixture.pack],
    });
    const stream = createKeyBuilder({ prefix: keyPrefix }).partition(FIXTURE_DOMAIN, 0).stream;
    const passes: RetentionEvents['trimmed'][0][] = [];
    worker.retention.on('trimmed', (event) => passes.push(event));

    await publishAndHandle(keyPrefix, worker, 20);
    await waitFor(async () => (await db.redis.xlen(stream)) === 0, 'stream trimmed to empty');
    expect(passes.some((p) => p.result.trimmed > 0 && p.domain === FIXTURE_DOMAIN)).toBe(true);
  });

  it('does not run with TRIM_INTERVAL_MS=0, and a manual pass trims the same entries', async () => {
    const keyPrefix = `${prefix}-off`;
    const fixture = createFixturePack();
    worker = await startWorker({
      config: configFor(keyPrefix, { TRIM_INTERVAL_MS: '0' }),
      packs: [fixture.pack],
    });
    const stream = createKeyBuilder({ prefix: keyPrefix }).partition(FIXTURE_DOMAIN, 0).stream;
    await publishAndHandle(keyPrefix, worker, 5);
    // nothing trims on its own: a pass now proves the entries were trimmable all along
    expect(await db.redis.xlen(stream)).toBe(5);
    await worker.retention.runOnce();
    expect(await db.redis.xlen(stream)).toBe(0);
  });

  it('keeps a pending entry and everything after it, and trims the DLQ to DLQ_MAX_LEN', async () => {
    const keyPrefix = `${prefix}-pin`;
    const keys = createKeyBuilder({ prefix: keyPrefix });
    const { stream, dlq } = keys.partition(FIXTURE_DOMAIN, 0);
    const fixture = createFixturePack();
    worker = await startWorker({
      config: configFor(keyPrefix, { TRIM_INTERVAL_MS: '0', DLQ_MAX_LEN: '2' }),
      packs: [fixture.pack],
    });
    await publishAndHandle(keyPrefix, worker, 3);
    // a second group that read one entry and never acked it pins the stream from that entry on
    await db.redis.xgroup('CREATE', stream, 'stuck', '0');
    await db.redis.xreadgroup('GROUP', 'stuck', 'c1', 'COUNT', 1, 'STREAMS', stream, '>');
    for (let i = 0; i < 5; i += 1) await db.redis.xadd(dlq, '*', 'n', String(i));

    await worker.retention.runOnce();
    expect(await db.redis.xlen(stream)).toBe(3);
    expect(await db.redis.xlen(dlq)).toBe(2);
  });
});
