// The Funding pack through the whole worker against a mock Funding: an epoch released at nextReleaseAt (never early),
// a partial release whose next epoch is published once and released at its own time, 204 nothing to release,
// retries with the vestingId + epoch key, and the sweeper finding schedules whose vesting.scheduled never came.
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createPublisher, type Publisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { decodeEntry } from '../../src/events/wire.js';
import { registerFundingEvents } from '../../src/jobs/funding/events.js';
import { createFundingPack } from '../../src/jobs/funding/pack.js';
import { vestingScheduledEventId } from '../../src/jobs/funding/vesting-release.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createKeyBuilder, type KeyBuilder } from '../../src/streams/keys.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { startMockService, type MockService } from '../support/mock-service.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const RELEASE = 'POST /internal/v1/vesting/release';
const DUE = 'GET /internal/v1/vesting/due';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const jwk = generateServiceKeyPair();
let funding: MockService;

beforeAll(async () => {
  funding = await startMockService({ audience: 'funding', publicJwks: [jwk.publicJwk] });
});
afterAll(async () => {
  await funding.close();
});

interface Running {
  readonly worker: Worker;
  readonly keys: KeyBuilder;
  readonly publisher: Publisher;
  readonly outcomes: OutcomeEvent[];
}

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map(({ worker }) => worker.stop(1_000)));
});

async function start(name: string, extra: Record<string, string>): Promise<Running> {
  const keyPrefix = `${prefix}-${name}`;
  const config = loadConfig(
    {
      REDIS_URL: db.server.url,
      QUEUE_PREFIX: keyPrefix,
      LOG_LEVEL: 'silent',
      PARTITIONS_DEFAULT: '2',
      SERVICE_JWT_PRIVATE_JWK: JSON.stringify(jwk.privateJwk),
      SVC_FUNDING_URL: funding.url,
      SCHEDULER_POLL_MS: '100',
      BACKOFF_DEFAULT_MS: '50',
      BACKOFF_MAX_MS: '200',
      ...extra,
    },
    { envFile: false },
  );
  const worker = await startWorker({ config, packs: [createFundingPack()] });
  const outcomes: OutcomeEvent[] = [];
  for (const runner of worker.runners) runner.on('outcome', (o) => o.kind !== 'skip' && outcomes.push(o));
  const keys = createKeyBuilder({ prefix: keyPrefix });
  const registry = createEventRegistry();
  registerFundingEvents(registry);
  const publisher = createPublisher({ redis: db.redis, keys, registry, partitions: () => 2 });
  const run = { worker, keys, publisher, outcomes };
  running.push(run);
  return run;
}

const iso = (ms: number): string => new Date(ms).toISOString();

const vesting = (vestingId: string, epoch: number, nextReleaseAt: number, amount = '1000') => ({
  vestingId,
  epoch,
  nextReleaseAt: iso(nextReleaseAt),
  amount,
  asset: 'TON',
});

function scheduled(data: ReturnType<typeof vesting>): EventEnvelope {
  return {
    id: ulid(),
    type: 'vesting.scheduled',
    key: data.vestingId,
    occurredAt: iso(Date.now()),
    source: 'funding',
    schemaVersion: 1,
    data,
  };
}

function released(
  vestingId: string,
  epoch: number,
  releasedAmount: string,
  remainingAmount: string,
  next: { epoch: number; releaseAt: string; amount: string } | null,
) {
  return { status: 200, body: { vestingId, epoch, releasedAmount, remainingAmount, next } };
}

function callsFor(vestingId: string) {
  return funding
    .requestsTo(RELEASE)
    .filter((r) => (r.body as { vestingId?: string }).vestingId === vestingId);
}

const of = (run: Running, eventId: string): OutcomeEvent[] =>
  run.outcomes.filter((o) => o.eventId === eventId);
const finished = (run: Running, eventId: string): boolean =>
  of(run, eventId).some((o) => o.kind === 'ack' || o.kind === 'dead');
const entryMs = (o: OutcomeEvent): number => Number(o.entryId.split('-')[0]);

/** The facts in the funding streams (fired timers and deferrals left out). */
async function facts(run: Running): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  for (let i = 0; i < 2; i += 1) {
    const entries = await db.redis.xrange(run.keys.partition('funding', i).stream, '-', '+');
    events.push(
      ...entries.map(([, fields]) => decodeEntry(fields)).filter((e) => e.targetGroup === undefined),
    );
  }
  return events;
}

describe('vesting.release', () => {
  it('releases part of an epoch at nextReleaseAt, then the next epoch Funding names, at its own time', async () => {
    const run = await start('partial', { PROCESSORS: 'vesting.release' });
    const first = Date.now() + 400;
    const second = first + 800;
    funding.script(RELEASE, [
      released('v-1', 0, '600', '400', { epoch: 1, releaseAt: iso(second), amount: '1400' }),
      released('v-1', 1, '1400', '0', null),
    ]);
    const event = scheduled(vesting('v-1', 0, first));
    await run.publisher.publish(event);
    const next = vesting('v-1', 1, second, '1400');
    const nextId = vestingScheduledEventId(next);
    await waitFor(() => finished(run, nextId), 'epoch 1 released');

    const [epoch0, epoch1] = [of(run, event.id), of(run, nextId)];
    expect(epoch0.map((o) => o.kind)).toEqual(['defer', 'ack']);
    expect(epoch1.map((o) => o.kind)).toEqual(['defer', 'ack']);
    expect(entryMs(epoch0[1]!)).toBeGreaterThanOrEqual(first);
    expect(entryMs(epoch1[1]!)).toBeGreaterThanOrEqual(second);
    const calls = callsFor('v-1');
    expect(calls.map((r) => [r.idempotencyKey, r.body])).toEqual([
      ['vesting.release:v-1:0', { vestingId: 'v-1', epoch: 0, releaseAt: iso(first) }],
      ['vesting.release:v-1:1', { vestingId: 'v-1', epoch: 1, releaseAt: iso(second) }],
    ]);
    expect(calls[0]?.claims?.audience).toBe('funding');
    // the next epoch is one fact, published by the worker with the derived id
    const published = (await facts(run)).filter((e) => e.id === nextId);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      type: 'vesting.scheduled',
      key: 'v-1',
      source: 'workers',
      data: next,
    });
  });

  it('204 (nothing to release) acks and schedules nothing; 5xx is retried with the same key', async () => {
    const run = await start('nothing', { PROCESSORS: 'vesting.release' });
    funding.script(RELEASE, [{ status: 204 }]);
    const empty = scheduled(vesting('v-204', 0, Date.now() + 100));
    await run.publisher.publish(empty);
    await waitFor(() => finished(run, empty.id), 'v-204 handled');
    expect(of(run, empty.id).map((o) => o.kind)).toEqual(['defer', 'ack']);
    expect((await facts(run)).filter((e) => e.key === 'v-204').map((e) => e.id)).toEqual([empty.id]);

    funding.script(RELEASE, [{ status: 503 }, { status: 500 }, released('v-5xx', 3, '1000', '0', null)]);
    const flaky = scheduled(vesting('v-5xx', 3, Date.now() + 100));
    await run.publisher.publish(flaky);
    await waitFor(() => finished(run, flaky.id), 'v-5xx released');
    expect(of(run, flaky.id).map((o) => o.kind)).toEqual(['defer', 'retry', 'retry', 'ack']);
    const keys = callsFor('v-5xx').map((r) => r.idempotencyKey);
    expect(keys).toEqual(Array<string>(3).fill('vesting.release:v-5xx:3'));
    expect(funding.applied('vesting.release:v-5xx:3')).toBe(1);

    // an answer naming an earlier epoch as next would loop: dead-lettered, nothing published
    funding.script(RELEASE, [
      released('v-bad', 2, '1', '0', { epoch: 2, releaseAt: iso(Date.now()), amount: '1' }),
    ]);
    const bad = scheduled(vesting('v-bad', 2, Date.now() + 100));
    await run.publisher.publish(bad);
    await waitFor(() => finished(run, bad.id), 'v-bad handled');
    expect(of(run, bad.id).map((o) => [o.kind, o.reason])).toEqual([
      ['defer', 'scheduled'],
      ['dead', 'invalid response'],
    ]);
    expect((await facts(run)).filter((e) => e.key === 'v-bad')).toHaveLength(1);
  });
});

describe('funding.sweep', () => {
  it('schedules due with no vesting.scheduled event are found and released once', async () => {
    const due = vesting('v-swept', 2, Date.now() - 3_000, '500');
    const page = { status: 200, body: { items: [due], nextCursor: null } };
    const empty = { status: 200, body: { items: [], nextCursor: null } };
    funding.script(DUE, [page, page, ...Array.from({ length: 40 }, () => empty)]);
    funding.script(RELEASE, [released('v-swept', 2, '500', '0', null)]);
    const run = await start('sweep', {
      PROCESSORS: 'vesting.release,funding.sweep',
      CRON_FUNDING_SWEEP: '1s',
    });

    const sweeps = () => run.outcomes.filter((o) => o.job === 'funding.sweep' && o.kind === 'ack');
    await waitFor(() => sweeps().length >= 3, 'three sweeps', 10_000);
    const id = vestingScheduledEventId(due);
    await waitFor(() => finished(run, id), 'v-swept released');

    expect(callsFor('v-swept').map((r) => r.idempotencyKey)).toEqual(['vesting.release:v-swept:2']);
    const swept = (await facts(run)).filter((e) => e.key === 'v-swept');
    expect(swept.map((e) => e.id)).toEqual([id]);
    expect(swept[0]).toMatchObject({ source: 'workers', data: due });
  });
});
