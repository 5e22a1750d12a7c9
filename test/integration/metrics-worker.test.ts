// /metrics of a real worker: a job handles N events with retries, a defer and a dead letter; the parsed Prometheus
// text shows outcome counters, stream length, lag, pending, time lag and DLQ size matching what Redis holds, label
// values are never event or entry ids, the series do not grow with traffic, and a Redis outage at scrape is reported.
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createPublisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import type { JobPack } from '../../src/jobs/catalog.js';
import { instrumentWorker } from '../../src/ops/metrics/instrument-worker.js';
import { createMetricsRegistry } from '../../src/ops/metrics/metrics-registry.js';
import { parseMetricsText, samplesOf, sumOf, type ParsedMetrics } from '../../src/ops/metrics/text-format.js';
import { createWorkerMetrics, type WorkerMetrics } from '../../src/ops/metrics/worker-metrics.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { outcome } from '../../src/streams/outcome.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';
import {
  FIXTURE_DOMAIN,
  FIXTURE_TYPE,
  fixtureEvent,
  fixtureRecorded,
} from '../support/worker-fixture-jobs.js';

const JOB = 'metrics.record';
/** A group nobody reads: everything stays undelivered (lag, time lag). */
const AUDIT = 'metrics.audit';
/** A group that reads three entries of partition 0 and never acks them (pending, oldest pending age). */
const STUCK = 'metrics.stuck';
const PARTITIONS = 2;
const N = 20;
const RETRIED = new Set([0, 5, 10, 15]);
const DEFERRED = 7;
const DEAD = 13;
/** Label names a fuze_ series may carry: bounded words, never ids. */
const ALLOWED_LABELS = new Set([
  ...['job', 'outcome', 'result', 'where', 'state', 'to', 'domain', 'partition', 'group', 'stream'],
  ...['target', 'method', 'status', 'limit', 'provider', 'alert', 'le'],
]);

const file = useRedisPerFile({ appendonly: true, maxmemoryPolicy: 'noeviction' });
const prefix = testPrefix(import.meta.url);
const keys = createKeyBuilder({ prefix });
/** A pino logger whose JSON lines are kept for the assertions. */
function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}
interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}
const captured = capturingLogger();

let worker: Worker | undefined;
let metrics: WorkerMetrics;
const outcomes: OutcomeEvent[] = [];
const published: EventEnvelope<{ n: number }>[] = [];

/** Retries events in RETRIED once, defers DEFERRED once (its re-emission is acked), dead-letters DEAD. */
const pack: JobPack = {
  name: 'metrics-fixture',
  register(registry) {
    registry.register({ type: FIXTURE_TYPE, domain: FIXTURE_DOMAIN, schema: fixtureRecorded });
  },
  jobs: [
    {
      catalog: { name: JOB, domain: FIXTURE_DOMAIN, enableFlag: 'ENABLE_METRICS_RECORD' },
      definition: () =>
        metrics.instrumentJob({
          name: JOB,
          domain: FIXTURE_DOMAIN,
          types: [FIXTURE_TYPE],
          distributedRateLimit: { name: 'metrics-fixture', perSecond: 1000, burst: 5 },
          handler: async (event: EventEnvelope<{ n: number }>, ctx) => {
            const n = event.data.n;
            if (n === DEAD) return outcome.dead('invalid amount');
            if (RETRIED.has(n) && ctx.failures === 0) return outcome.retry('busy', 30);
            if (n === DEFERRED && event.targetGroup !== JOB) return outcome.defer(Date.now() + 50, 'not yet');
            return outcome.ack();
          },
        }),
    },
  ],
};

async function scrape(): Promise<{ parsed: ParsedMetrics; before: number; after: number }> {
  const before = Date.now();
  const text = await metrics.metricsText();
  return { parsed: parseMetricsText(text), before, after: Date.now() };
}

function countOf(kind: OutcomeEvent['kind']): number {
  return outcomes.filter((o) => o.kind === kind).length;
}

beforeAll(async () => {
  const redis = file.redis;
  const config = loadConfig(
    {
      REDIS_URL: file.server.url,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      PARTITIONS_DEFAULT: String(PARTITIONS),
      TRIM_INTERVAL_MS: '0',
    },
    { envFile: false },
  );
  metrics = createWorkerMetrics({
    redis,
    keys,
    streams: [{ domain: FIXTURE_DOMAIN, partitions: PARTITIONS, groups: [JOB, AUDIT, STUCK] }],
    registry: createMetricsRegistry({ processMetrics: false }),
    logger: captured.logger,
  });
  worker = await startWorker({ config, packs: [pack] });
  instrumentWorker(worker, metrics, { logger: captured.logger });
  for (const runner of worker.runners) runner.on('outcome', (event) => outcomes.push(event));
  for (let p = 0; p < PARTITIONS; p += 1) {
    for (const group of [AUDIT, STUCK])
      await redis.xgroup('CREATE', keys.partition(FIXTURE_DOMAIN, p).stream, group, '0');
  }

  const registry = createEventRegistry();
  pack.register(registry);
  const publisher = createPublisher({ redis, keys, registry, partitions: () => PARTITIONS });
  for (let n = 0; n < N; n += 1) published.push(fixtureEvent(n));
  await publisher.publishBatch(published);
  await waitFor(() => countOf('ack') === N - 1 && countOf('dead') === 1, 'every event handled');
  // three entries of partition 0 read by STUCK and never acked
  await redis.xreadgroup(
    'GROUP',
    STUCK,
    'stuck-consumer',
    'COUNT',
    3,
    'STREAMS',
    keys.partition(FIXTURE_DOMAIN, 0).stream,
    '>',
  );
});

afterAll(async () => {
  await worker?.stop(0);
});

describe('/metrics of a worker', () => {
  it('counts outcomes, handler calls, retry backoff, defer delay, lateness and end-to-end latency as produced', async () => {
    const { parsed } = await scrape();
    const job = { job: JOB };
    expect(countOf('retry')).toBe(RETRIED.size);
    expect(sumOf(parsed, 'fuze_job_outcomes_total', { ...job, outcome: 'ack' })).toBe(N - 1);
    expect(sumOf(parsed, 'fuze_job_outcomes_total', { ...job, outcome: 'retry' })).toBe(RETRIED.size);
    expect(sumOf(parsed, 'fuze_job_outcomes_total', { ...job, outcome: 'defer' })).toBe(1);
    expect(sumOf(parsed, 'fuze_job_outcomes_total', { ...job, outcome: 'dead' })).toBe(1);
    // every call: N originals, the retries and the deferred event's re-emission
    expect(sumOf(parsed, 'fuze_job_handler_duration_seconds_count', job)).toBe(N + RETRIED.size + 1);
    expect(sumOf(parsed, 'fuze_job_handler_duration_seconds_count', { ...job, result: 'dead' })).toBe(1);
    expect(sumOf(parsed, 'fuze_job_retry_backoff_seconds_count', job)).toBe(RETRIED.size);
    expect(sumOf(parsed, 'fuze_job_retry_backoff_seconds_sum', job)).toBeCloseTo(RETRIED.size * 0.03);
    expect(sumOf(parsed, 'fuze_job_defer_delay_seconds_count', job)).toBe(1);
    expect(sumOf(parsed, 'fuze_timer_lateness_seconds_count', job)).toBe(1);
    expect(sumOf(parsed, 'fuze_timers_moved_total', { domain: FIXTURE_DOMAIN })).toBe(1);
    expect(sumOf(parsed, 'fuze_job_end_to_end_seconds_count', { ...job, outcome: 'ack' })).toBe(N - 1);
    expect(sumOf(parsed, 'fuze_job_end_to_end_seconds_count', { ...job, outcome: 'dead' })).toBe(1);
    expect(sumOf(parsed, 'fuze_job_in_flight', job)).toBe(0);
    expect(sumOf(parsed, 'fuze_data_loss_entries_total')).toBe(0);
    // the runner's shared rate limit is watched (its waits depend on timing, its series do not)
    expect(
      samplesOf(parsed, 'fuze_rate_limit_wait_seconds_count', { limit: 'metrics-fixture' }),
    ).toHaveLength(1);
    expect(samplesOf(parsed, 'fuze_circuit_state')).toEqual([]);
  });

  it('shows stream length, lag, pending, time lag, retry hints, consumers and DLQ size as Redis holds them', async () => {
    const redis = file.redis;
    const { parsed, before, after } = await scrape();
    expect(sumOf(parsed, 'fuze_stream_stats_up')).toBe(1);
    let dlqTotal = 0;
    for (let p = 0; p < PARTITIONS; p += 1) {
      const partition = keys.partition(FIXTURE_DOMAIN, p);
      const at = { domain: FIXTURE_DOMAIN, partition: String(p) };
      const length = await redis.xlen(partition.stream);
      const dlq = await redis.xlen(partition.dlq);
      dlqTotal += dlq;
      const [first] = (await redis.xrange(partition.stream, '-', '+', 'COUNT', 1)) as [string, string[]][];
      const firstMs = Number(first?.[0].split('-')[0]);

      expect(sumOf(parsed, 'fuze_stream_length', at)).toBe(length);
      expect(sumOf(parsed, 'fuze_dlq_entries', at)).toBe(dlq);
      // the job's group: everything delivered and settled
      expect(sumOf(parsed, 'fuze_stream_lag', { ...at, group: JOB })).toBe(0);
      expect(sumOf(parsed, 'fuze_stream_pending', { ...at, group: JOB })).toBe(0);
      expect(sumOf(parsed, 'fuze_stream_time_lag_seconds', { ...at, group: JOB })).toBe(0);
      expect(sumOf(parsed, 'fuze_stream_retry_hints', { ...at, group: JOB })).toBe(0);
      expect(sumOf(parsed, 'fuze_stream_consumers', { ...at, group: JOB })).toBe(1);
      // AUDIT reads nothing: every entry is lag, and the time lag is the age of the first one
      expect(sumOf(parsed, 'fuze_stream_lag', { ...at, group: AUDIT })).toBe(length);
      expect(sumOf(parsed, 'fuze_stream_pending', { ...at, group: AUDIT })).toBe(0);
      const timeLag = sumOf(parsed, 'fuze_stream_time_lag_seconds', { ...at, group: AUDIT });
      expect(timeLag).toBeGreaterThanOrEqual((before - firstMs) / 1000);
      expect(timeLag).toBeLessThanOrEqual((after - firstMs) / 1000);
      // STUCK holds three entries of partition 0
      const held = p === 0 ? 3 : 0;
      expect(sumOf(parsed, 'fuze_stream_pending', { ...at, group: STUCK })).toBe(held);
      expect(sumOf(parsed, 'fuze_stream_lag', { ...at, group: STUCK })).toBe(length - held);
      const oldest = sumOf(parsed, 'fuze_stream_oldest_pending_age_seconds', { ...at, group: STUCK });
      if (p === 0) {
        expect(oldest).toBeGreaterThanOrEqual((before - firstMs) / 1000);
        expect(oldest).toBeLessThanOrEqual((after - firstMs) / 1000);
      } else {
        expect(oldest).toBe(0);
      }
    }
    expect(dlqTotal).toBe(1);
    expect(sumOf(parsed, 'fuze_dlq_entries')).toBe(1);
  });

  it('keeps label sets bounded: no event or entry id in any label, and no new series as traffic grows', async () => {
    const ids = new Set<string>(published.map((event) => event.id));
    for (const o of outcomes) ids.add(o.entryId);
    const seriesOf = (parsed: ParsedMetrics) =>
      new Set(
        parsed.samples
          // loop errors are per `where` (a bounded set) and appear whenever a transient error happens
          .filter((s) => s.name.startsWith('fuze_') && s.name !== 'fuze_job_loop_errors_total')
          .map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`),
      );
    const first = (await scrape()).parsed;
    for (const sample of first.samples) {
      for (const [label, value] of Object.entries(sample.labels)) {
        expect(ALLOWED_LABELS, `${sample.name} label ${label}`).toContain(label);
        expect(ids.has(value), `${sample.name}{${label}="${value}"}`).toBe(false);
      }
    }

    // more of the same traffic: counters move, the set of series stays
    const registry = createEventRegistry();
    pack.register(registry);
    const publisher = createPublisher({ redis: file.redis, keys, registry, partitions: () => PARTITIONS });
    const acksBefore = countOf('ack');
    await publisher.publishBatch(Array.from({ length: 10 }, (_, i) => fixtureEvent(100 + i)));
    await waitFor(() => countOf('ack') === acksBefore + 10, 'the second batch handled');
    const second = (await scrape()).parsed;
    expect(sumOf(second, 'fuze_job_outcomes_total', { job: JOB, outcome: 'ack' })).toBe(N - 1 + 10);
    expect([...seriesOf(second)].sort()).toEqual([...seriesOf(first)].sort());
    expect(seriesOf(second).size).toBeLessThan(300);
  });

  it('logs one line per dead letter and nothing else in normal operation', () => {
    const dead = outcomes.find((o) => o.kind === 'dead');
    expect(captured.lines).toEqual([
      expect.objectContaining({
        level: 40,
        job: JOB,
        entryId: dead?.entryId,
        eventId: published.find((event) => event.data.n === DEAD)?.id,
        reason: 'invalid amount',
        msg: expect.stringContaining('dead-lettered') as string,
      }),
    ]);
  });

  it('leaves the stream series out and reports up=0 while Redis cannot be read, logging once per change', async () => {
    // no offline queue and no reconnect: while disconnected every command fails at once
    const redis = new Redis(file.server.url, { enableOfflineQueue: false, retryStrategy: () => null });
    await waitFor(() => redis.status === 'ready', 'the metrics connection');
    redis.disconnect();
    await waitFor(() => redis.status === 'end', 'the metrics connection closed');
    const { logger, lines } = capturingLogger();
    const local = createWorkerMetrics({
      redis,
      keys,
      streams: () => [{ domain: FIXTURE_DOMAIN, partitions: PARTITIONS, groups: [JOB] }],
      registry: createMetricsRegistry({ processMetrics: false }),
      logger,
    });
    try {
      let parsed = parseMetricsText(await local.metricsText());
      expect(sumOf(parsed, 'fuze_stream_stats_up')).toBe(0);
      expect(samplesOf(parsed, 'fuze_stream_lag')).toEqual([]);
      expect(sumOf(parsed, 'fuze_stream_stats_read_errors_total')).toBe(1);
      parsed = parseMetricsText(await local.metricsText());
      expect(sumOf(parsed, 'fuze_stream_stats_read_errors_total')).toBe(2);
      expect(lines.map((line) => [line.level, line.msg])).toEqual([
        [40, expect.stringMatching(/^metrics: stream figures cannot be read/) as string],
      ]);

      await redis.connect();
      parsed = parseMetricsText(await local.metricsText());
      expect(sumOf(parsed, 'fuze_stream_stats_up')).toBe(1);
      expect(samplesOf(parsed, 'fuze_stream_lag', { group: JOB })).toHaveLength(PARTITIONS);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatchObject({
        level: 30,
        msg: 'metrics: stream figures can be read from Redis again',
      });
      expect(local.streams.last()).toHaveLength(PARTITIONS);
    } finally {
      redis.disconnect();
    }
  });

  it('answers within the read timeout when Redis does not reply, with the stream series left out', async () => {
    // accepts connections and never answers: ioredis waits for its ready check and queues every command
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const redis = new Redis((silent.address() as AddressInfo).port, '127.0.0.1');
    const { logger, lines } = capturingLogger();
    const local = createWorkerMetrics({
      redis,
      keys,
      streams: [{ domain: FIXTURE_DOMAIN, partitions: PARTITIONS, groups: [JOB] }],
      registry: createMetricsRegistry({ processMetrics: false }),
      statsReadTimeoutMs: 200,
      logger,
    });
    try {
      const parsed = parseMetricsText(await local.metricsText());
      expect(sumOf(parsed, 'fuze_stream_stats_up')).toBe(0);
      expect(samplesOf(parsed, 'fuze_stream_pending')).toEqual([]);
      expect(lines[0]?.['err']).toMatchObject({ message: 'stream figures not read within 200 ms' });
    } finally {
      redis.disconnect();
      silent.close();
    }
  });
});
