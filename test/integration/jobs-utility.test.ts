// The utility pack in a worker: export.run pages through an export with checkpoints (a restarted worker resumes at
// its page), storage.cleanup deletes through signed URLs and confirms, pageviews.flush runs on its schedule, and
// dlq.replay requeues reviewed dead letters for the job that gave up only.
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { resolveProcessors } from '../../src/config/index.js';
import { createCampaignsPack } from '../../src/jobs/campaigns/pack.js';
import { createPayhubPack } from '../../src/jobs/payhub/pack.js';
import { createPricePack } from '../../src/jobs/price/pack.js';
import { createUtilityPack } from '../../src/jobs/utility/pack.js';
import { createWatchlistPack } from '../../src/jobs/watchlist/pack.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import {
  NEVER,
  PARTITIONS,
  startPackWorker,
  startServiceMock,
  type PackWorker,
} from '../support/job-pack-worker.js';
import { startMockFeeds, type MockFeeds } from '../support/mock-feeds.js';
import type { MockService, MockStep } from '../support/mock-service.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let feeds: MockFeeds;
let campaigns: MockService;
let events: MockService;
const workers: PackWorker[] = [];
let run = 0;

const EXPORTS = 'POST /internal/v1/exports';
const CANDIDATES = 'GET /internal/v1/storage/cleanup';
const CONFIRM = 'POST /internal/v1/storage/cleanup/confirm';
const FLUSH = 'POST /internal/v1/pageviews/flush';
const T0 = Date.parse('2026-11-23T15:00:00.000Z');

beforeAll(async () => {
  feeds = await startMockFeeds();
});
afterAll(async () => {
  await feeds.close();
});
beforeEach(async () => {
  [campaigns, events] = await Promise.all([startServiceMock('campaigns'), startServiceMock('events')]);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all([campaigns.close(), events.close()]);
});

function envFor(extra: Record<string, string>): Record<string, string> {
  return {
    SVC_CAMPAIGNS_URL: campaigns.url,
    SVC_EVENTS_URL: events.url,
    ENABLE_EXPORTS: 'true',
    ENABLE_DLQ_REPLAY: 'true',
    CRON_PAGEVIEWS_FLUSH: NEVER,
    ...extra,
  };
}

async function start(extra: Record<string, string> = {}, keyPrefix?: string): Promise<PackWorker> {
  run += 1;
  const env = envFor(extra);
  const worker = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: keyPrefix ?? `${prefix}-${run}`,
    pack: createUtilityPack(env),
    env,
  });
  workers.push(worker);
  return worker;
}

function exportRequested(exportId: string, occurredAt = new Date()): EventEnvelope {
  return {
    id: ulid(),
    type: 'export.requested',
    key: exportId,
    occurredAt: occurredAt.toISOString(),
    source: 'admin',
    schemaVersion: 1,
    data: { exportId, service: 'campaigns', dataset: 'claims', format: 'csv', requestedBy: 'adm_7' },
  };
}

const partial = (exportId: string, cursor: string, rows: number): MockStep => ({
  body: { exportId, state: 'partial', cursor, rows },
});
const completed = (exportId: string, rows: number): MockStep => ({
  body: {
    exportId,
    state: 'completed',
    url: `https://exports.example.com/${exportId}.csv?sig=x`,
    expiresAt: '2026-11-24T15:00:00.000Z',
    rows,
  },
});
const pagesAsked = (exportId: string) =>
  campaigns
    .requestsTo(EXPORTS)
    .filter((r) => (r.body as { exportId: string }).exportId === exportId)
    .map((r) => {
      const body = r.body as { page: number; cursor?: string };
      return { page: body.page, cursor: body.cursor, key: r.idempotencyKey };
    });

describe('export.run', () => {
  it('pages through an export, sending each page with its checkpoint cursor and its own key', async () => {
    campaigns.script(EXPORTS, [
      partial('exp_1', 'c1', 100),
      partial('exp_1', 'c2', 200),
      completed('exp_1', 250),
    ]);
    const w = await start({ ENABLE_DLQ_REPLAY: 'false' });
    expect(w.worker.jobs).toEqual(['export.run']);
    const requested = exportRequested('exp_1');
    await w.publish(requested);
    await w.waitOutcome((o) => o.eventId === requested.id && o.kind === 'ack', 'the export');
    expect(pagesAsked('exp_1')).toEqual([
      { page: 0, cursor: undefined, key: 'export.run:exp_1:0' },
      { page: 1, cursor: 'c1', key: 'export.run:exp_1:1' },
      { page: 2, cursor: 'c2', key: 'export.run:exp_1:2' },
    ]);
    expect(campaigns.requestsTo(EXPORTS)[0]?.body).toEqual({
      exportId: 'exp_1',
      dataset: 'claims',
      format: 'csv',
      page: 0,
    });
  });

  it('resumes at its checkpoint on another worker after the first one stopped mid-export', async () => {
    const keyPrefix = `${prefix}-resume`;
    campaigns.script(EXPORTS, [partial('exp_2', 'c1', 100), { hang: true }]);
    const first = await start({ ENABLE_DLQ_REPLAY: 'false' }, keyPrefix);
    const requested = exportRequested('exp_2');
    await first.publish(requested);
    await waitFor(() => pagesAsked('exp_2').length === 2, 'page 1 asked');
    await first.stop();
    workers.splice(workers.indexOf(first), 1);
    campaigns.script(EXPORTS, [partial('exp_2', 'c2', 200), completed('exp_2', 210)]);
    const second = await start({ ENABLE_DLQ_REPLAY: 'false' }, keyPrefix);
    await second.waitOutcome((o) => o.eventId === requested.id && o.kind === 'ack', 'the resumed export');
    expect(pagesAsked('exp_2').map((p) => p.key)).toEqual([
      'export.run:exp_2:0',
      'export.run:exp_2:1',
      'export.run:exp_2:1',
      'export.run:exp_2:2',
    ]);
    expect(pagesAsked('exp_2')[2]?.cursor).toBe('c1');
    expect(campaigns.appliedTwice()).toBe(0);
  });

  it('defers a busy export to its retryAt, and dead-letters one past its deadline', async () => {
    campaigns.script(EXPORTS, [
      {
        status: 202,
        body: { exportId: 'exp_3', state: 'running', retryAt: new Date(Date.now() + 200).toISOString() },
      },
      completed('exp_3', 1),
    ]);
    const w = await start({ ENABLE_DLQ_REPLAY: 'false', EXPORT_DEADLINE_MS: '60000' });
    const busy = exportRequested('exp_3');
    await w.publish(busy);
    await w.waitOutcome((o) => o.eventId === busy.id && o.kind === 'ack', 'the busy export');
    expect(w.outcomesOf('export.run').map((o) => o.kind)).toEqual(['defer', 'ack']);
    expect(pagesAsked('exp_3').map((p) => p.key)).toEqual(['export.run:exp_3:0', 'export.run:exp_3:0']);
    const late = exportRequested('exp_4', new Date(Date.now() - 61_000));
    await w.publish(late);
    expect(await w.waitOutcome((o) => o.eventId === late.id, 'the late export')).toMatchObject({
      kind: 'dead',
    });
    expect(pagesAsked('exp_4')).toEqual([]);
  });
});

describe('storage.cleanup', () => {
  it('deletes through signed URLs, confirms the deleted ones, alerts on refusals and retries the rest', async () => {
    feeds.serve('/obj/a', { status: 204 });
    feeds.serve('/obj/b', { status: 404 });
    feeds.script('/obj/c', [{ status: 500 }]);
    feeds.serve('/obj/c', { status: 204 });
    campaigns.script(CANDIDATES, [
      {
        body: {
          items: [
            { objectKey: 'a', deleteUrl: `${feeds.url}/obj/a?sig=1` },
            { objectKey: 'b', deleteUrl: `${feeds.url}/obj/b?sig=2` },
            { objectKey: 'c', deleteUrl: `${feeds.url}/obj/c?sig=3` },
            { objectKey: 'd', deleteUrl: `${feeds.ipUrl}/obj/d?sig=4` },
          ],
          nextCursor: null,
        },
      },
      { body: { items: [{ objectKey: 'c', deleteUrl: `${feeds.url}/obj/c?sig=3` }], nextCursor: null } },
    ]);
    campaigns.script(CONFIRM, [{ body: { confirmed: 2 } }, { body: { confirmed: 1 } }]);
    const w = await start({
      STORAGE_CLEANUP_SERVICES: 'campaigns',
      CRON_STORAGE_CLEANUP_CAMPAIGNS: NEVER,
      ENABLE_STORAGE_CLEANUP: 'true',
      ENABLE_DLQ_REPLAY: 'false',
      ENABLE_EXPORTS: 'false',
    });
    expect(w.worker.jobs).toEqual(['storage.cleanup']);
    const id = await w.tick('storage.cleanup.campaigns', 'storage.cleanup', T0);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the cleanup');
    expect(w.outcomesOf('storage.cleanup').map((o) => o.kind)).toEqual(['retry', 'ack']);
    expect(
      feeds.requests.filter((r) => r.path.startsWith('/obj/')).map((r) => `${r.method} ${r.path}`),
    ).toEqual(['DELETE /obj/a', 'DELETE /obj/b', 'DELETE /obj/c', 'DELETE /obj/c']);
    const confirms = campaigns.requestsTo(CONFIRM);
    expect(confirms.map((r) => r.body)).toEqual([{ objectKeys: ['a', 'b'] }, { objectKeys: ['c'] }]);
    expect(confirms[0]?.idempotencyKey).toMatch(/^storage\.cleanup:[0-9a-f]{64}$/);
    expect(w.alerts).toEqual(['storage.cleanup_delete_refused']);
    expect(campaigns.requestsTo(CANDIDATES)[0]?.query).toBe('limit=500');
  });
});

describe('the five packs', () => {
  it('run nothing in a bare environment: every job waits for its ENABLE_* flag or PROCESSORS', () => {
    const packs = [
      createPricePack({}),
      createPayhubPack({}),
      createCampaignsPack({}),
      createWatchlistPack({}),
      createUtilityPack({}),
    ];
    const catalog = packs.flatMap((pack) => pack.jobs.map((job) => job.catalog));
    expect(resolveProcessors(catalog, undefined, {})).toEqual([]);
    expect(catalog.map((entry) => entry.name).sort()).toEqual([
      'campaigns.budget.reconcile',
      'campaigns.claim',
      'campaigns.verify_async',
      'cfb.price.sample',
      'dlq.replay',
      'export.run',
      'pageviews.flush',
      'payhub.ledger.recalc',
      'payhub.orphan_holds.gc',
      'price.ingest',
      'storage.cleanup',
      'watchlist.ingest',
    ]);
    expect(resolveProcessors(catalog, ['price', 'recon'], {})).toEqual([
      'cfb.price.sample',
      'payhub.ledger.recalc',
      'payhub.orphan_holds.gc',
      'price.ingest',
    ]);
  });
});

describe('pageviews.flush', () => {
  it('is off by default; enabled, it flushes up to each tick of CRON_PAGEVIEWS_FLUSH (204 = nothing to flush)', async () => {
    const off = await start({});
    expect(off.worker.jobs).toEqual(['dlq.replay', 'export.run']);
    events.script(FLUSH, [{ status: 204 }, { status: 503 }, { body: { flushedBuckets: 3 } }]);
    const w = await start({
      ENABLE_PAGEVIEWS_FLUSH: 'true',
      ENABLE_EXPORTS: 'false',
      ENABLE_DLQ_REPLAY: 'false',
      CRON_PAGEVIEWS_FLUSH: '1s',
    });
    await waitFor(
      () => w.outcomesOf('pageviews.flush').filter((o) => o.kind === 'ack').length >= 2,
      'two flushes',
    );
    const calls = events.requestsTo(FLUSH);
    const first = calls[0]?.body as { until: string };
    expect(calls[0]?.idempotencyKey).toBe(idempotencyKey('pageviews.flush', new Date(first.until)));
    expect(
      w
        .outcomesOf('pageviews.flush')
        .map((o) => o.kind)
        .slice(0, 3),
    ).toEqual(['ack', 'retry', 'ack']);
    expect(calls[1]?.idempotencyKey).toBe(calls[2]?.idempotencyKey);
  });
});

describe('dlq.replay', () => {
  it('requeues reviewed dead letters for the job that gave up only, once, by job or by entry id', async () => {
    campaigns.script(EXPORTS, [
      { status: 400, body: { error: { code: 'INVALID_REQUEST', message: 'unknown dataset' } } },
      { status: 400, body: { error: { code: 'INVALID_REQUEST', message: 'unknown dataset' } } },
    ]);
    const w = await start({});
    const failed = [exportRequested('exp_5'), exportRequested('exp_6')];
    for (const event of failed) {
      await w.publish(event);
      await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'dead', 'the failed export');
    }
    const letters = await deadLetters(w);
    expect(letters.map((l) => l.group).sort()).toEqual(['export.run', 'export.run']);

    // the dataset is fixed: replay the first by its entry id, the rest by job
    campaigns.script(EXPORTS, [completed('exp_5', 1), completed('exp_6', 1)]);
    const first = letters.find((l) => l.eventId === failed[0]?.id);
    await w.publish(replay('rpl_1', { partition: first?.partition, entryIds: [first?.entryId] }));
    await w.waitOutcome((o) => o.eventId === failed[0]?.id && o.kind === 'ack', 'the first requeued export');
    await w.publish(replay('rpl_2', { job: 'export.run', reason: 'http 400' }));
    await w.waitOutcome((o) => o.eventId === failed[1]?.id && o.kind === 'ack', 'the second requeued export');
    expect(await deadLetters(w)).toEqual([]);
    // the re-emissions went to export.run only: the replayer skipped them
    const handled = w.outcomes.filter((o) => failed.some((e) => e.id === o.eventId) && o.kind === 'ack');
    expect(handled.map((o) => o.job)).toEqual(['export.run', 'export.run']);
    // asking again finds nothing left to requeue
    await w.publish(replay('rpl_3', { job: 'export.run' }));
    await waitFor(
      () => w.outcomesOf('dlq.replay').filter((o) => o.kind === 'ack').length === 3,
      'three replays',
    );
    expect(pagesAsked('exp_5')).toHaveLength(2);
    expect(pagesAsked('exp_6')).toHaveLength(2);
  });
});

function replay(replayId: string, selection: Record<string, unknown>): EventEnvelope {
  return {
    id: ulid(),
    type: 'dlq.replay_requested',
    key: replayId,
    occurredAt: new Date().toISOString(),
    source: 'admin',
    schemaVersion: 1,
    data: { replayId, domain: 'utility', requestedBy: 'adm_7', ...selection },
  };
}

async function deadLetters(w: PackWorker) {
  const letters = [];
  for (let p = 0; p < PARTITIONS; p += 1) {
    for (const [entryId, fields] of await db.redis.xrange(w.keys.partition('utility', p).dlq, '-', '+')) {
      const record: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] ?? ''] = fields[i + 1] ?? '';
      const envelope = JSON.parse(record['envelope'] ?? '{}') as { id?: string };
      letters.push({ partition: p, entryId, group: record['group'], eventId: envelope.id });
    }
  }
  return letters;
}
