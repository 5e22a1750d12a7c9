// The Escrow pack through the whole worker against a mock Escrow: expiry at expiresAt (never early), release cancels
// it, a 202 re-asks at retryAt, decisions are adjudicated once (a 400 is dead-lettered), and the sweeper republishes
// escrows whose escrow.created never came and raises the backlog alert when expiries pile up.
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createPublisher, type Publisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { decodeEntry } from '../../src/events/wire.js';
import { definitionOf, type JobPack } from '../../src/jobs/catalog.js';
import { registerEscrowEvents } from '../../src/jobs/escrow/events.js';
import { createEscrowPack, type EscrowPackOptions } from '../../src/jobs/escrow/pack.js';
import type { JobSignals } from '../../src/jobs/pack-context.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { fieldsToObject } from '../../src/streams/dlq-entry.js';
import { createKeyBuilder, type KeyBuilder, type PartitionKeys } from '../../src/streams/keys.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { startMockService, type MockService } from '../support/mock-service.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const EXPIRE = 'POST /internal/v1/escrow/expire';
const ADJUDICATE = 'POST /internal/v1/escrow/adjudicate';
const DUE = 'GET /internal/v1/escrow/due';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const jwk = generateServiceKeyPair();
let escrow: MockService;

beforeAll(async () => {
  escrow = await startMockService({ audience: 'escrow', publicJwks: [jwk.publicJwk] });
});
afterAll(async () => {
  await escrow.close();
});

interface Running {
  readonly worker: Worker;
  readonly keys: KeyBuilder;
  readonly publisher: Publisher;
  readonly outcomes: OutcomeEvent[];
  readonly alerts: string[];
}

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map(({ worker }) => worker.stop(1_000)));
});

/** The pack with its jobs built on a context whose signals are recorded. */
function withSignals(pack: JobPack, signals: JobSignals): JobPack {
  return {
    ...pack,
    jobs: pack.jobs.map((job) => ({
      ...job,
      definition: (context) => definitionOf(job, { ...context, signals }),
    })),
  };
}

async function start(
  name: string,
  extra: Record<string, string>,
  options: Partial<EscrowPackOptions> = {},
): Promise<Running> {
  const keyPrefix = `${prefix}-${name}`;
  const config = loadConfig(
    {
      REDIS_URL: db.server.url,
      QUEUE_PREFIX: keyPrefix,
      LOG_LEVEL: 'silent',
      PARTITIONS_DEFAULT: '2',
      SERVICE_JWT_PRIVATE_JWK: JSON.stringify(jwk.privateJwk),
      SVC_ESCROW_URL: escrow.url,
      SCHEDULER_POLL_MS: '100',
      BACKOFF_DEFAULT_MS: '50',
      BACKOFF_MAX_MS: '200',
      ...extra,
    },
    { envFile: false },
  );
  const alerts: string[] = [];
  const pack = withSignals(createEscrowPack({ expire: { jitterMs: 100, notYetRetryMs: 500 }, ...options }), {
    providerPolled: () => undefined,
    alertRaised: (alert) => alerts.push(alert),
  });
  const worker = await startWorker({ config, packs: [pack] });
  const outcomes: OutcomeEvent[] = [];
  for (const runner of worker.runners) runner.on('outcome', (o) => o.kind !== 'skip' && outcomes.push(o));
  const keys = createKeyBuilder({ prefix: keyPrefix });
  const registry = createEventRegistry();
  registerEscrowEvents(registry);
  const publisher = createPublisher({ redis: db.redis, keys, registry, partitions: () => 2 });
  const run = { worker, keys, publisher, outcomes, alerts };
  running.push(run);
  return run;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function envelope(type: string, key: string, data: unknown): EventEnvelope {
  return { id: ulid(), type, key, occurredAt: iso(Date.now()), source: 'escrow', schemaVersion: 1, data };
}

const escrowData = (escrowId: string, expiresAt: number) => ({
  escrowId,
  amount: '150000',
  asset: 'USDT',
  expiresAt: iso(expiresAt),
});
const created = (escrowId: string, expiresAt: number): EventEnvelope =>
  envelope('escrow.created', escrowId, escrowData(escrowId, expiresAt));
const expired = (escrowId: string) => ({ status: 200, body: { escrowId, state: 'refunded' } });

function callsFor(route: string, escrowId: string) {
  return escrow.requestsTo(route).filter((r) => (r.body as { escrowId?: string }).escrowId === escrowId);
}

const of = (run: Running, eventId: string): OutcomeEvent[] =>
  run.outcomes.filter((o) => o.eventId === eventId);
const finished = (run: Running, eventId: string): boolean =>
  of(run, eventId).some((o) => o.kind === 'ack' || o.kind === 'dead');
const entryMs = (o: OutcomeEvent): number => Number(o.entryId.split('-')[0]);

function partitionOfOutcome(run: Running, o: OutcomeEvent): PartitionKeys {
  return run.keys.partition('escrow', Number(/:(\d+)\}/.exec(o.stream)?.[1]));
}

async function streamEvents(run: Running): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  for (let i = 0; i < 2; i += 1) {
    const entries = await db.redis.xrange(run.keys.partition('escrow', i).stream, '-', '+');
    events.push(...entries.map(([, fields]) => decodeEntry(fields)));
  }
  return events;
}

describe('escrow.expire', () => {
  it('expires the escrow at expiresAt, never before, keyed by escrowId + expiresAt', async () => {
    const run = await start('expire', { PROCESSORS: 'escrow.expire' });
    const expiresAt = Date.now() + 600;
    escrow.script(EXPIRE, [expired('esc-1')]);
    const event = created('esc-1', expiresAt);
    await run.publisher.publish(event);
    await waitFor(() => finished(run, event.id), 'esc-1 expired');

    const outcomes = of(run, event.id);
    expect(outcomes.map((o) => o.kind)).toEqual(['defer', 'ack']);
    expect(entryMs(outcomes[1]!)).toBeGreaterThanOrEqual(expiresAt);
    const calls = callsFor(EXPIRE, 'esc-1');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toEqual({ escrowId: 'esc-1', expiresAt: iso(expiresAt) });
    expect(calls[0]?.idempotencyKey).toBe(`escrow.expire:esc-1:${expiresAt}`);
    expect(calls[0]?.claims?.audience).toBe('escrow');
  });

  it('escrow.released before expiresAt cancels the expiry', async () => {
    const run = await start('released', { PROCESSORS: 'escrow.expire' });
    const expiresAt = Date.now() + 500;
    const open = created('esc-released', expiresAt);
    await run.publisher.publish(open);
    await waitFor(() => of(run, open.id).length === 1, 'expiry scheduled');
    const released = envelope('escrow.released', 'esc-released', { escrowId: 'esc-released' });
    await run.publisher.publish(released);
    await waitFor(() => finished(run, released.id), 'release handled');
    // an escrow expiring just after: once it expired, the released one's expiresAt has passed too
    escrow.script(EXPIRE, [expired('esc-later')]);
    const later = created('esc-later', expiresAt + 50);
    await run.publisher.publish(later);
    await waitFor(() => finished(run, later.id), 'the later escrow expired');

    expect(callsFor(EXPIRE, 'esc-released')).toHaveLength(0);
    const partition = partitionOfOutcome(run, of(run, open.id)[0]!);
    expect(await db.redis.zscore(partition.timers, 'escrow.expire:esc-released')).toBeNull();
    expect(await db.redis.hget(partition.timerTombstones, 'escrow.expire:esc-released')).not.toBeNull();
  });

  it('202 (not expirable yet) asks again at retryAt with the same key', async () => {
    const run = await start('not-yet', { PROCESSORS: 'escrow.expire' });
    const expiresAt = Date.now() + 200;
    const retryAt = expiresAt + 700;
    escrow.script(EXPIRE, [
      { status: 202, body: { escrowId: 'esc-202', retryAt: iso(retryAt) } },
      expired('esc-202'),
    ]);
    const event = created('esc-202', expiresAt);
    await run.publisher.publish(event);
    await waitFor(() => finished(run, event.id), 'esc-202 expired');

    const outcomes = of(run, event.id);
    expect(outcomes.map((o) => o.kind)).toEqual(['defer', 'defer', 'ack']);
    expect(entryMs(outcomes[2]!)).toBeGreaterThanOrEqual(retryAt);
    const keys = callsFor(EXPIRE, 'esc-202').map((r) => r.idempotencyKey);
    expect(keys).toEqual([`escrow.expire:esc-202:${expiresAt}`, `escrow.expire:esc-202:${expiresAt}`]);
    expect(escrow.applied(keys[0]!)).toBe(1);
  });
});

describe('escrow.adjudicate', () => {
  const decision = (escrowId: string, decisionId: string) => ({
    escrowId,
    decisionId,
    resolution: 'split',
    payeeAmount: '100000',
    payerAmount: '50000',
    moderatorId: 'usr_4821',
  });

  it('applies a decision once (a 503 is retried with the same key); a 400 goes to the DLQ', async () => {
    const run = await start('adjudicate', { PROCESSORS: 'escrow.adjudicate' });
    escrow.script(ADJUDICATE, [
      { status: 503 },
      { status: 200, body: { escrowId: 'esc-d', state: 'adjudicated' } },
    ]);
    const event = envelope('escrow.decision_made', 'esc-d', decision('esc-d', 'dec-1'));
    await run.publisher.publish(event);
    await waitFor(() => finished(run, event.id), 'decision applied');

    expect(of(run, event.id).map((o) => o.kind)).toEqual(['retry', 'ack']);
    const calls = callsFor(ADJUDICATE, 'esc-d');
    expect(calls.map((r) => r.body)).toEqual([decision('esc-d', 'dec-1'), decision('esc-d', 'dec-1')]);
    expect(calls.map((r) => r.idempotencyKey)).toEqual([
      'escrow.adjudicate:esc-d:dec-1',
      'escrow.adjudicate:esc-d:dec-1',
    ]);
    expect(escrow.applied('escrow.adjudicate:esc-d:dec-1')).toBe(1);

    escrow.script(ADJUDICATE, [
      { status: 400, body: { error: { code: 'INVALID_REQUEST', message: 'escrow is not disputed' } } },
    ]);
    const refused = envelope('escrow.decision_made', 'esc-x', decision('esc-x', 'dec-2'));
    await run.publisher.publish(refused);
    await waitFor(() => finished(run, refused.id), 'decision refused');
    const outcomes = of(run, refused.id);
    expect(outcomes.map((o) => [o.kind, o.reason])).toEqual([['dead', 'http 400']]);
    const partition = partitionOfOutcome(run, outcomes[0]!);
    const letters = (await db.redis.xrange(partition.dlq, '-', '+')).map(([, f]) => fieldsToObject(f));
    const dead = letters.map((l) => [l['group'], (JSON.parse(l['envelope'] ?? '{}') as { id?: string }).id]);
    expect(dead).toEqual([['escrow.adjudicate', refused.id]]);
  });
});

describe('escrow.sweep', () => {
  it('republishes escrows past expiresAt once, expires them, and raises one backlog alert per tick', async () => {
    const now = Date.now();
    const overdue = [escrowData('esc-s1', now - 20_000), escrowData('esc-s2', now - 10_000)];
    const fresh = escrowData('esc-s3', now - 100);
    const page = { status: 200, body: { items: [...overdue, fresh], nextCursor: null } };
    const empty = { status: 200, body: { items: [], nextCursor: null } };
    escrow.script(DUE, [page, page, ...Array.from({ length: 40 }, () => empty)]);
    escrow.script(EXPIRE, [expired('esc-s1'), expired('esc-s2'), expired('esc-s3')]);
    const run = await start(
      'sweep',
      { PROCESSORS: 'escrow.expire,escrow.sweep', CRON_ESCROW_SWEEP: '1s' },
      { backlog: { threshold: 2, graceMs: 5_000 } },
    );

    const sweeps = () => run.outcomes.filter((o) => o.job === 'escrow.sweep' && o.kind === 'ack');
    await waitFor(() => sweeps().length >= 3, 'three sweeps', 10_000);
    const expiries = () => run.outcomes.filter((o) => o.job === 'escrow.expire' && o.kind === 'ack');
    await waitFor(() => expiries().length === 3, 'the three escrows expired');
    await waitFor(() => run.alerts.length === 2, 'the two ticks that saw the backlog alerted');

    for (const e of [...overdue, fresh]) {
      const calls = callsFor(EXPIRE, e.escrowId);
      expect(calls, e.escrowId).toHaveLength(1);
      expect(calls[0]?.idempotencyKey).toBe(`escrow.expire:${e.escrowId}:${Date.parse(e.expiresAt)}`);
    }
    const events = (await streamEvents(run)).filter((e) => e.targetGroup === undefined);
    for (const e of [...overdue, fresh]) {
      expect(
        events.filter((x) => x.type === 'escrow.created' && x.key === e.escrowId),
        e.escrowId,
      ).toHaveLength(1);
    }
    // the first two ticks saw two escrows overdue by more than 5 s (the threshold): one alert each
    const alerts = events.filter((e) => e.type === 'escrow.expiry_backlog');
    expect(alerts).toHaveLength(2);
    expect(new Set(alerts.map((a) => a.id)).size).toBe(2);
    expect(alerts[0]?.data).toMatchObject({
      overdue: 2,
      threshold: 2,
      graceMs: 5_000,
      oldestExpiresAt: overdue[0]?.expiresAt,
      truncated: false,
    });
    expect(run.alerts).toEqual(['escrow.expiry_backlog', 'escrow.expiry_backlog']);
  });
});
