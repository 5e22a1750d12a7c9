// The payhub pack in a worker: payhub.orphan_holds.gc pages through orphan holds and releases each once (per-hold
// Idempotency-Key, retry of the run when one fails, alert when Payhub refuses one); payhub.ledger.recalc alerts on
// violations with an event and a metric.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEntry } from '../../src/events/wire.js';
import { createPayhubPack } from '../../src/jobs/payhub/pack.js';
import {
  NEVER,
  PARTITIONS,
  startPackWorker,
  startServiceMock,
  type PackWorker,
} from '../support/job-pack-worker.js';
import type { MockService, MockStep } from '../support/mock-service.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let payhub: MockService;
let running: PackWorker | undefined;
let run = 0;

const ORPHANS = 'GET /internal/v1/holds/orphans';
const RELEASE = 'POST /internal/v1/holds/release';
const RECALC = 'POST /internal/v1/ledger/recalc';
const T0 = Date.parse('2026-11-23T15:00:00.000Z');

beforeEach(async () => {
  payhub = await startServiceMock('payhub');
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await payhub.close();
});

async function start(env: Record<string, string>): Promise<PackWorker> {
  run += 1;
  const full = { SVC_PAYHUB_URL: payhub.url, ENABLE_RECON_ORPHAN_HOLDS: 'true', ...env };
  running = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: `${prefix}-${run}`,
    pack: createPayhubPack(full),
    env: full,
  });
  return running;
}

const hold = (holdId: string) => ({
  holdId,
  userId: 'usr_1',
  amount: '2500',
  asset: 'STAR',
  createdAt: '2026-11-23T12:00:00.000Z',
});
const page = (ids: string[], nextCursor: string | null = null): MockStep => ({
  body: { items: ids.map(hold), nextCursor },
});
const released = (holdId: string): MockStep => ({ body: { holdId, state: 'released' } });
const releasedIds = () => payhub.requestsTo(RELEASE).map((r) => (r.body as { holdId: string }).holdId);

describe('payhub.orphan_holds.gc', () => {
  it('runs on CRON_RECON_ORPHAN_HOLDS, pages through orphan holds and releases each with its own key', async () => {
    payhub.script(ORPHANS, [
      page(['h1', 'h2'], 'c2'),
      page(['h3']),
      ...Array.from({ length: 10 }, () => page([])),
    ]);
    payhub.script(RELEASE, [
      released('h1'),
      { status: 409, body: { error: { code: 'ALREADY_DONE', message: 'released before' } } },
      { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no such hold' } } },
    ]);
    const w = await start({ CRON_RECON_ORPHAN_HOLDS: '1s', PAYHUB_ORPHAN_HOLD_TTL_MS: '600000' });
    expect(w.worker.jobs).toEqual(['payhub.orphan_holds.gc']);
    const first = await w.waitOutcome((o) => o.job === 'payhub.orphan_holds.gc', 'the first run');
    expect(first.kind).toBe('ack');
    expect(releasedIds()).toEqual(['h1', 'h2', 'h3']);
    expect(payhub.requestsTo(RELEASE).map((r) => r.idempotencyKey)).toEqual([
      'payhub.orphan_holds.gc:h1',
      'payhub.orphan_holds.gc:h2',
      'payhub.orphan_holds.gc:h3',
    ]);
    expect(payhub.requestsTo(RELEASE)[0]?.body).toEqual({ holdId: 'h1', reason: 'orphan_gc' });
    expect(payhub.requests.every((r) => r.tokenError === undefined)).toBe(true);
  });

  it('asks for holds older than tick - TTL, page by page', async () => {
    payhub.script(ORPHANS, [page(['a'], 'next-1'), page([])]);
    payhub.script(RELEASE, [released('a')]);
    const w = await start({ CRON_RECON_ORPHAN_HOLDS: NEVER, PAYHUB_ORPHAN_HOLD_TTL_MS: '3600000' });
    const id = await w.tick('payhub.orphan_holds.gc', 'payhub.orphan_holds.gc', T0);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the run');
    expect(requestedQueries()).toEqual([
      { olderThan: '2026-11-23T14:00:00.000Z', limit: '100' },
      { olderThan: '2026-11-23T14:00:00.000Z', limit: '100', cursor: 'next-1' },
    ]);
  });

  it('retries the run when a release fails, releasing every hold exactly once', async () => {
    payhub.script(ORPHANS, [page(['r1', 'r2']), page(['r2'])]);
    payhub.script(RELEASE, [released('r1'), { status: 503 }, released('r2')]);
    const w = await start({ CRON_RECON_ORPHAN_HOLDS: NEVER });
    const id = await w.tick('payhub.orphan_holds.gc', 'payhub.orphan_holds.gc', T0);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the retried run');
    expect(w.outcomesOf('payhub.orphan_holds.gc').map((o) => o.kind)).toEqual(['retry', 'ack']);
    expect(releasedIds()).toEqual(['r1', 'r2', 'r2']);
    expect(payhub.applied('payhub.orphan_holds.gc:r1')).toBe(1);
    expect(payhub.applied('payhub.orphan_holds.gc:r2')).toBe(1);
    expect(payhub.appliedTwice()).toBe(0);
  });

  it('raises an alert for a release Payhub refuses for good and goes on with the others', async () => {
    payhub.script(ORPHANS, [page(['bad', 'ok'])]);
    payhub.script(RELEASE, [
      { status: 400, body: { error: { code: 'INVALID_REQUEST', message: 'hold is captured' } } },
      released('ok'),
    ]);
    const w = await start({ CRON_RECON_ORPHAN_HOLDS: NEVER });
    const id = await w.tick('payhub.orphan_holds.gc', 'payhub.orphan_holds.gc', T0);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the run');
    expect(releasedIds()).toEqual(['bad', 'ok']);
    expect(w.alerts).toEqual(['payhub.orphan_hold_release_refused']);
  });
});

describe('payhub.ledger.recalc', () => {
  it('when enabled, publishes an alert event and a metric per violation (after retrying a 503)', async () => {
    payhub.script(RECALC, [
      { status: 503 },
      {
        body: {
          checkedAccounts: 120,
          violations: [
            { account: 'acc:usr_1:STAR', asset: 'STAR', expected: '1000', actual: '900' },
            { account: 'acc:fees:USDT', asset: 'USDT', expected: '0', actual: '-5' },
          ],
        },
      },
    ]);
    const w = await start({
      ENABLE_RECON_LEDGER_RECALC: 'true',
      CRON_RECON_ORPHAN_HOLDS: NEVER,
      CRON_PAYHUB_LEDGER_RECALC: NEVER,
    });
    expect(w.worker.jobs).toEqual(['payhub.ledger.recalc', 'payhub.orphan_holds.gc']);
    const id = await w.tick('payhub.ledger.recalc', 'payhub.ledger.recalc', T0);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the recalc');
    expect(w.outcomesOf('payhub.ledger.recalc').map((o) => o.kind)).toEqual(['retry', 'ack']);
    const calls = payhub.requestsTo(RECALC);
    expect(calls.map((c) => c.idempotencyKey)).toEqual([
      `payhub.ledger.recalc:${T0}`,
      `payhub.ledger.recalc:${T0}`,
    ]);
    expect(calls[0]?.body).toEqual({ asOf: '2026-11-23T15:00:00.000Z' });
    expect(w.alerts).toEqual(['payhub.ledger_violation', 'payhub.ledger_violation']);
    const events = await alertEvents(w);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'ledger.violations_found',
      key: '2026-11-23T15:00:00.000Z',
      data: {
        asOf: '2026-11-23T15:00:00.000Z',
        checkedAccounts: 120,
        violations: 2,
        accounts: [
          { account: 'acc:usr_1:STAR', asset: 'STAR' },
          { account: 'acc:fees:USDT', asset: 'USDT' },
        ],
      },
    });
  });

  it('acks a clean recalc without an alert', async () => {
    payhub.script(RECALC, [{ body: { checkedAccounts: 5, violations: [] } }]);
    const w = await start({
      ENABLE_RECON_LEDGER_RECALC: 'true',
      ENABLE_RECON_ORPHAN_HOLDS: 'false',
      CRON_PAYHUB_LEDGER_RECALC: NEVER,
    });
    const id = await w.tick('payhub.ledger.recalc', 'payhub.ledger.recalc', T0);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the recalc');
    await waitFor(() => payhub.requestsTo(RECALC).length === 1, 'one call');
    expect(w.alerts).toEqual([]);
    expect(await alertEvents(w)).toEqual([]);
  });
});

function requestedQueries(): Record<string, string>[] {
  return payhub.requests
    .filter((r) => r.method === 'GET')
    .map((r) => Object.fromEntries(new URLSearchParams(r.query)));
}

async function alertEvents(w: PackWorker) {
  const events = [];
  for (let p = 0; p < PARTITIONS; p += 1) {
    for (const [, fields] of await db.redis.xrange(w.keys.partition('payhub', p).stream, '-', '+')) {
      events.push(decodeEntry(fields));
    }
  }
  return events;
}
