// The admin JSON API against a real worker and redis-server: the overview (lag, time lag, history, status),
// /health/queues in seed 003's shape with warning/critical levels, a job's detail (consumers, pending entries,
// recent outcomes, latency), DLQ triage by fingerprint with requeue / export / drop, timers due soon, pause/resume.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createPublisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { encodeEvent } from '../../src/events/wire.js';
import { startAdminServer, type AdminServer } from '../../src/ops/admin/admin-server.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createTimerWheel } from '../../src/scheduler/timer-wheel.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';
import {
  createFixturePack,
  FIXTURE_DOMAIN,
  FIXTURE_JOB,
  fixtureEvent,
} from '../support/worker-fixture-jobs.js';

const file = useRedisPerFile({ appendonly: true, maxmemoryPolicy: 'noeviction' });
const prefix = testPrefix(import.meta.url);
const keys = createKeyBuilder({ prefix });
const silent = pino({ level: 'silent' });
const TOKEN = randomBytes(24).toString('hex');
const VIEWER_TOKEN = randomBytes(24).toString('hex');
const PARTITIONS = 2;
/** A group nobody reads: everything published is its lag. */
const UNREAD = 'fixture.unread';
/** A group that read two entries and never acks them. */
const STUCK = 'fixture.stuck';
const GOOD = 6;
const POISON = 2;

let worker: Worker | undefined;
let admin: AdminServer;
const outcomes: OutcomeEvent[] = [];

interface JobSummary {
  job: string;
  state: string;
  timeLagMs: number;
  history: { t: number[]; lag: number[] };
}
interface JobDetail {
  consumers: number;
  consumerList: unknown[];
  pendingEntries: unknown[];
  byPartition: unknown[];
  control: unknown;
  recentOutcomes: { kind: string; reason?: string }[];
  metrics: {
    outcomes: Record<string, number>;
    handler: { count: number; p50Ms: number; p95Ms: number };
    endToEnd: { count: number };
  };
}
interface Listed {
  jobs: JobSummary[];
  domains: unknown[];
  queues: Record<string, { reasons: string[] }>;
  groups: { fingerprint: string }[];
  entries: { id: string; action: string; stage: string; detail: Record<string, unknown> }[];
  timers: { id: string; inMs: number }[];
}

/** A GET as the read-only role; `body` is the parsed JSON (undefined for CSV and JSON Lines downloads). */
async function get(
  path: string,
  token = VIEWER_TOKEN,
): Promise<{ status: number; headers: Headers; text: string; body: Listed & JobDetail }> {
  const response = await fetch(`${admin.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    // exports are CSV or JSON Lines, everything else JSON
    body: (response.headers.get('content-type')?.startsWith('application/json')
      ? JSON.parse(text)
      : undefined) as Listed & JobDetail,
  };
}

async function post(path: string, body: unknown) {
  const response = await fetch(`${admin.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const deadCount = () => outcomes.filter((o) => o.kind === 'dead').length;

beforeAll(async () => {
  const config = loadConfig(
    {
      REDIS_URL: file.server.url,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      PARTITIONS_DEFAULT: String(PARTITIONS),
      TRIM_INTERVAL_MS: '0',
      ADMIN_TOKEN: TOKEN,
      ADMIN_READONLY_TOKEN: VIEWER_TOKEN,
      HEALTH_QUEUE_WARNING: '2',
      HEALTH_QUEUE_CRITICAL: '5',
      HEALTH_FAILED_WARNING: '10',
      HEALTH_FAILED_CRITICAL: '20',
    },
    { envFile: false },
  );
  admin = await startAdminServer({
    config,
    redis: file.redis,
    keys,
    metrics: () => worker?.metrics,
    readiness: () => ({ workerStarted: worker !== undefined, shuttingDown: false }),
    logger: silent,
    port: 0,
    host: '127.0.0.1',
    // every fresh reading becomes a sample, so the history grows with the test's reads
    sampleEveryMs: 1,
  });
  worker = await startWorker({ config, packs: [createFixturePack().pack], logger: silent });
  admin.watchRunners(worker.runners);
  for (const runner of worker.runners) runner.on('outcome', (event) => outcomes.push(event));
  for (let p = 0; p < PARTITIONS; p += 1) {
    const stream = keys.partition(FIXTURE_DOMAIN, p).stream;
    await file.redis.xgroup('CREATE', stream, UNREAD, '0', 'MKSTREAM');
    await file.redis.xgroup('CREATE', stream, STUCK, '0', 'MKSTREAM');
  }

  const registry = createEventRegistry();
  createFixturePack().pack.register(registry);
  const publisher = createPublisher({ redis: file.redis, keys, registry, partitions: () => PARTITIONS });
  for (let n = 0; n < GOOD; n += 1) await publisher.publish(fixtureEvent(n));
  // poison: data the job's schema refuses, XADDed as a foreign producer would (the publisher validates)
  for (let n = 0; n < POISON; n += 1) {
    const event = { ...fixtureEvent(100 + n), id: ulid(), data: { n: 'poison' } };
    await file.redis.xadd(keys.partition(FIXTURE_DOMAIN, 0).stream, '*', ...encodeEvent(event));
  }
  await waitFor(
    () => outcomes.filter((o) => o.kind === 'ack').length === GOOD && deadCount() === POISON,
    'the job acking the good events and dead-lettering the poison',
  );
  await file.redis.xreadgroup(
    'GROUP',
    STUCK,
    'stuck-1',
    'COUNT',
    2,
    'STREAMS',
    keys.partition(FIXTURE_DOMAIN, 0).stream,
    '>',
  );
});

afterAll(async () => {
  await admin?.close();
  await worker?.stop(0);
});

describe('admin API: jobs', () => {
  it('lists every group with lag, time lag, pending, consumers, history and a status', async () => {
    const total = GOOD + POISON;
    const { status, body } = await get('/api/overview');
    expect(status).toBe(200);
    const byJob = new Map(body.jobs.map((j) => [j.job, j]));
    expect([...byJob.keys()].sort()).toEqual([FIXTURE_JOB, STUCK, UNREAD]);
    expect(byJob.get(FIXTURE_JOB)).toMatchObject({
      domain: FIXTURE_DOMAIN,
      state: 'running',
      status: 'OK',
      lag: 0,
      pending: 0,
      consumers: 1,
      dlqLength: POISON,
      level: 'ok',
    });
    const unread = byJob.get(UNREAD)!;
    expect(unread).toMatchObject({ lag: total, pending: 0, consumers: 0, level: 'critical' });
    expect(unread.timeLagMs).toBeGreaterThanOrEqual(0);
    expect(unread.history.lag).toEqual([total]);
    expect(unread.history.t).toHaveLength(1);
    expect(byJob.get(STUCK)).toMatchObject({ pending: 2, lag: total - 2, consumers: 1 });
    expect(body.domains).toContainEqual(
      expect.objectContaining({ domain: FIXTURE_DOMAIN, partitions: PARTITIONS, dlqLength: POISON }),
    );
  });

  it('answers /health/queues in seed 003 shape with warning/critical levels, and one queue by name', async () => {
    const total = GOOD + POISON;
    const all = await get('/health/queues');
    // a critical queue makes the answer 503 for monitors that only read the status code
    expect(all.status).toBe(503);
    expect(all.body).toMatchObject({
      totalQueues: 3,
      healthyQueues: 1,
      totalWaiting: total + (total - 2),
      totalActive: 2,
      totalFailed: POISON,
      status: 'critical',
      thresholds: { waitingWarning: 2, waitingCritical: 5, failedWarning: 10, failedCritical: 20 },
    });
    expect(all.body.queues[FIXTURE_JOB]).toMatchObject({
      waiting: 0,
      active: 0,
      failed: POISON,
      healthy: true,
      level: 'ok',
      reasons: [],
    });
    expect(all.body.queues[UNREAD]).toMatchObject({
      waiting: total,
      active: 0,
      healthy: false,
      level: 'critical',
    });
    expect(all.body.queues[UNREAD]?.reasons).toEqual([
      `waiting ${total} > 5 (critical)`,
      `no consumers with ${total} waiting (warning)`,
    ]);
    const one = await get(`/health/queue/${FIXTURE_JOB}`);
    expect(one).toMatchObject({ status: 200, body: { name: FIXTURE_JOB, healthy: true, level: 'ok' } });
    expect((await get(`/health/queue/${UNREAD}`)).status).toBe(503);
    expect((await get('/health/queue/no.such.job')).status).toBe(404);
  });

  it("shows a job's partitions, consumers, pending entries, recent outcomes and latency", async () => {
    const stuck = await get(`/api/jobs/${STUCK}`);
    expect(stuck.status).toBe(200);
    expect(stuck.body.consumers).toBe(1);
    expect(stuck.body.consumerList).toEqual([
      expect.objectContaining({ name: 'stuck-1', pending: 2, idleMs: expect.any(Number) as unknown }),
    ]);
    expect(stuck.body.pendingEntries).toHaveLength(2);
    expect(stuck.body.pendingEntries[0]).toMatchObject({ partition: 0, consumer: 'stuck-1', deliveries: 1 });
    expect(stuck.body.byPartition).toHaveLength(PARTITIONS);

    const job = await get(`/api/jobs/${FIXTURE_JOB}`);
    expect(job.body.control).toMatchObject({ job: FIXTURE_JOB, state: 'running', version: 0 });
    const kinds = job.body.recentOutcomes.map((o) => o.kind);
    expect(kinds.filter((k: string) => k === 'ack')).toHaveLength(GOOD);
    expect(kinds.filter((k: string) => k === 'dead')).toHaveLength(POISON);
    expect(job.body.recentOutcomes.find((o) => o.kind === 'dead')?.reason).toBe('invalid');
    expect(job.body.metrics.outcomes).toMatchObject({ ack: GOOD, dead: POISON });
    expect(job.body.metrics.handler).toMatchObject({ count: GOOD });
    expect(job.body.metrics.handler.p95Ms).toBeGreaterThanOrEqual(job.body.metrics.handler.p50Ms);
    expect(job.body.metrics.endToEnd.count).toBe(GOOD + POISON);
    expect((await get('/api/jobs/no.such.job')).status).toBe(404);
  });

  it('pauses and resumes a job through its control key', async () => {
    const paused = await post(`/api/jobs/${FIXTURE_JOB}/pause`, { reason: 'deploy' });
    expect(paused).toMatchObject({ status: 200, body: { state: 'paused', version: 1, reason: 'deploy' } });
    expect(await file.redis.hget(keys.jobControl(FIXTURE_JOB), 'state')).toBe('paused');
    const overview = await get('/api/overview');
    expect(overview.body.jobs.find((j) => j.job === FIXTURE_JOB)?.state).toBe('paused');
    // the pause made the next read fresh: every job has the same samples in its history, oldest first
    const histories = overview.body.jobs.map((j) => j.history.t);
    expect(histories[0]!.length).toBeGreaterThan(1);
    for (const t of histories) expect(t).toEqual(histories[0]);
    expect([...histories[0]!].sort((a, b) => a - b)).toEqual(histories[0]);
    const resumed = await post(`/api/jobs/${FIXTURE_JOB}/resume`, {});
    expect(resumed).toMatchObject({ status: 200, body: { state: 'running', version: 2 } });
    expect(await file.redis.hget(keys.jobControl(FIXTURE_JOB), 'state')).toBe('running');
  });
});

describe('admin API: DLQ triage', () => {
  it('groups dead letters by fingerprint, lists, exports, requeues and drops a group', async () => {
    const triage = await get('/api/dlq');
    expect(triage.body).toMatchObject({ scanned: POISON, truncated: false });
    expect(triage.body.groups).toHaveLength(1);
    const group = triage.body.groups[0]!;
    expect(group).toMatchObject({
      count: POISON,
      jobs: [FIXTURE_JOB],
      domains: [FIXTURE_DOMAIN],
      types: ['fixture.recorded'],
      reason: 'invalid',
    });
    expect(group.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect((await get(`/api/dlq?job=${UNREAD}`)).body.groups).toEqual([]);

    const entries = await get(`/api/dlq/entries?fingerprint=${group.fingerprint}`);
    expect(entries.body.entries).toHaveLength(POISON);
    expect(entries.body.entries[0]).toMatchObject({ group: FIXTURE_JOB, data: { n: 'poison' } });
    const oldIds = entries.body.entries.map((e) => e.id);

    const csv = await get(`/api/dlq/export?fingerprint=${group.fingerprint}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="dlq-[0-9a-f]+-.*\.csv"$/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toMatch(/^id,failedAt,domain,/);
    expect(lines).toHaveLength(1 + POISON);
    const jsonl = await get(`/api/dlq/export?fingerprint=${group.fingerprint}`);
    expect(
      jsonl.text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(oldIds);
    expect((await get('/api/dlq/export?format=xml')).status).toBe(400);

    // requeue: the poison goes back to the job, which dead-letters it again under new DLQ ids
    const before = deadCount();
    const requeued = await post('/api/dlq/requeue', { fingerprint: group.fingerprint, job: FIXTURE_JOB });
    expect(requeued).toMatchObject({
      status: 200,
      body: { matched: POISON, requeued: POISON, missing: 0, unrequeueable: 0, limited: false },
    });
    await waitFor(() => deadCount() === before + POISON, 'the requeued poison dead-lettered again');
    const again = await get(`/api/dlq/entries?fingerprint=${group.fingerprint}`);
    expect(again.body.entries).toHaveLength(POISON);
    for (const entry of again.body.entries) expect(oldIds).not.toContain(entry.id);

    // requeue by ids: one known, one already gone
    const byIds = await post('/api/dlq/requeue', { ids: [again.body.entries[0]!.id, oldIds[0]] });
    expect(byIds.body).toMatchObject({ matched: 2, requeued: 1, missing: 1 });
    await waitFor(() => deadCount() === before + POISON + 1, 'the one requeued by id dead-lettered again');

    const dropped = await post('/api/dlq/drop', { fingerprint: group.fingerprint });
    expect(dropped).toMatchObject({ status: 200, body: { matched: POISON, dropped: POISON, missing: 0 } });
    expect(await file.redis.xlen(keys.partition(FIXTURE_DOMAIN, 0).dlq)).toBe(0);
    expect((await get('/api/dlq')).body.groups).toEqual([]);

    expect((await post('/api/dlq/drop', { fingerprint: 'XYZ' })).status).toBe(400);
    expect((await post('/api/dlq/drop', {})).status).toBe(400);

    const audit = await get('/api/audit?limit=200');
    const actions = audit.body.entries
      .filter((e) => e.stage === 'completed')
      .map((e) => e.action)
      .reverse();
    expect(actions).toEqual(expect.arrayContaining(['dlq.export', 'dlq.requeue', 'dlq.drop']));
    const requeueEntry = audit.body.entries.find(
      (e) => e.action === 'dlq.requeue' && e.stage === 'completed' && e.detail['requeued'] === POISON,
    );
    expect(requeueEntry).toMatchObject({
      actor: 'token:admin',
      target: `fingerprint ${group.fingerprint} of job ${FIXTURE_JOB}`,
    });
    const exportEntry = audit.body.entries.find((e) => e.action === 'dlq.export' && e.stage === 'completed');
    expect(exportEntry).toMatchObject({
      actor: 'token:readonly',
      role: 'readonly',
      detail: { exported: POISON },
    });
  });
});

describe('admin API: timers', () => {
  it('lists timers due within the asked window, soonest first', async () => {
    const wheel = createTimerWheel({ redis: file.redis, keys });
    const partition = keys.partition(FIXTURE_DOMAIN, 1);
    const now = Date.now();
    await wheel.schedule(partition, {
      id: `${FIXTURE_JOB}:soon`,
      dueMs: now + 10 * 60_000,
      event: fixtureEvent(900),
    });
    await wheel.schedule(partition, {
      id: `${FIXTURE_JOB}:later`,
      dueMs: now + 5 * 3_600_000,
      event: fixtureEvent(901),
    });
    const hour = await get('/api/timers?withinMs=3600000');
    expect(hour.body.timers.map((t) => t.id)).toEqual([`${FIXTURE_JOB}:soon`]);
    expect(hour.body.timers[0]).toMatchObject({
      domain: FIXTURE_DOMAIN,
      partition: 1,
      type: 'fixture.recorded',
    });
    expect(hour.body.timers[0]?.inMs).toBeGreaterThan(9 * 60_000);
    const day = await get('/api/timers?withinMs=86400000');
    expect(day.body.timers.map((t) => t.id)).toEqual([`${FIXTURE_JOB}:soon`, `${FIXTURE_JOB}:later`]);
    expect((await get('/api/timers?withinMs=-1')).status).toBe(400);
  });
});
