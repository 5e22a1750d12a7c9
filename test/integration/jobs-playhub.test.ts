// The PlayHub pack through the whole worker against mock PlayHub and Payhub: cfb.settle at T_end (never early), 202
// deferrals, the push past the window, cancels, the DLQ after 10 failures; games.settlement; and the sweeper finding
// bets whose bet.opened never came.
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createPublisher, type Publisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { dueEventId } from '../../src/jobs/due-sweeper.js';
import { registerPlayhubEvents } from '../../src/jobs/playhub/events.js';
import { createPlayhubPack } from '../../src/jobs/playhub/pack.js';
import { deferTimerId } from '../../src/pipelines/deferral.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { decodeEntry } from '../../src/events/wire.js';
import { fieldsToObject } from '../../src/streams/dlq-entry.js';
import { createKeyBuilder, type KeyBuilder, type PartitionKeys } from '../../src/streams/keys.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { startMockService, type MockService } from '../support/mock-service.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const SETTLE = 'POST /internal/v1/cfb/settle';
const PUSH = 'POST /internal/v1/cfb/push';
const DUE = 'GET /internal/v1/cfb/bets/due';
const MATCH = 'GET /internal/v1/games/match-state';
const SETTLEMENTS = 'POST /internal/v1/settlements';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const jwk = generateServiceKeyPair();
let playhub: MockService;
let payhub: MockService;

beforeAll(async () => {
  playhub = await startMockService({ audience: 'playhub', publicJwks: [jwk.publicJwk] });
  payhub = await startMockService({ audience: 'payhub', publicJwks: [jwk.publicJwk] });
});
afterAll(async () => {
  await Promise.all([playhub.close(), payhub.close()]);
});

interface Running {
  readonly worker: Worker;
  readonly keys: KeyBuilder;
  readonly publisher: Publisher;
  /** Every outcome but skips, in order. */
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
      SVC_PLAYHUB_URL: playhub.url,
      SVC_PAYHUB_URL: payhub.url,
      SCHEDULER_POLL_MS: '100',
      BACKOFF_DEFAULT_MS: '50',
      BACKOFF_MAX_MS: '200',
      ...extra,
    },
    { envFile: false },
  );
  const pack = createPlayhubPack({
    cfbSettle: { jitterMs: 100, oracleRetryMs: 500 },
    gamesSettlement: { pollMs: 300, pollLimit: 3 },
    sweep: { pageSize: 2, maxPages: 5 },
  });
  const worker = await startWorker({ config, packs: [pack] });
  const outcomes: OutcomeEvent[] = [];
  for (const runner of worker.runners) runner.on('outcome', (o) => o.kind !== 'skip' && outcomes.push(o));
  const keys = createKeyBuilder({ prefix: keyPrefix });
  const registry = createEventRegistry();
  registerPlayhubEvents(registry);
  const publisher = createPublisher({ redis: db.redis, keys, registry, partitions: () => 2 });
  const run = { worker, keys, publisher, outcomes };
  running.push(run);
  return run;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function envelope(type: string, key: string, data: unknown): EventEnvelope {
  return { id: ulid(), type, key, occurredAt: iso(Date.now()), source: 'playhub', schemaVersion: 1, data };
}

function bet(betId: string, tEnd: number, windowEndsAt = tEnd + 60_000) {
  return { betId, stake: '2500', asset: 'STAR', tEnd: iso(tEnd), windowEndsAt: iso(windowEndsAt) };
}

const betOpened = (betId: string, tEnd: number, windowEndsAt?: number): EventEnvelope =>
  envelope('bet.opened', betId, bet(betId, tEnd, windowEndsAt));

const settled = (betId: string) => ({ status: 200, body: { betId, state: 'settled' } });

function callsFor(service: MockService, route: string, field: string, id: string) {
  return service.requestsTo(route).filter((r) => (r.body as Record<string, unknown>)[field] === id);
}

function of(run: Running, eventId: string): OutcomeEvent[] {
  return run.outcomes.filter((o) => o.eventId === eventId);
}

const finished = (run: Running, eventId: string): boolean =>
  of(run, eventId).some((o) => o.kind === 'ack' || o.kind === 'dead');

/** Redis time the entry entered its stream. */
const entryMs = (o: OutcomeEvent): number => Number(o.entryId.split('-')[0]);

function partitionOfOutcome(run: Running, o: OutcomeEvent): PartitionKeys {
  const index = Number(/:(\d+)\}/.exec(o.stream)?.[1]);
  return run.keys.partition('playhub', index);
}

describe('cfb.settle', () => {
  // each test starts its own worker (own key prefix) and scripts only the answers its bets consume
  let run: Running;

  it('settles at T_end, never before, with the betId + T_end key and a PlayHub service token', async () => {
    run = await start('settle', { PROCESSORS: 'cfb.settle' });
    const tEnd = Date.now() + 700;
    playhub.script(SETTLE, [settled('bet-at')]);
    const event = betOpened('bet-at', tEnd);
    await run.publisher.publish(event);
    await waitFor(() => finished(run, event.id), 'bet-at settled');

    expect(of(run, event.id).map((o) => o.kind)).toEqual(['defer', 'ack']);
    const fired = of(run, event.id)[1]!;
    expect(entryMs(fired)).toBeGreaterThanOrEqual(tEnd);
    const calls = callsFor(playhub, SETTLE, 'betId', 'bet-at');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toEqual({ betId: 'bet-at', tEnd: iso(tEnd) });
    expect(calls[0]?.idempotencyKey).toBe(`cfb.settle:bet-at:${tEnd}`);
    expect(calls[0]?.tokenError).toBeUndefined();
    expect(calls[0]?.claims?.audience).toBe('playhub');
    expect(playhub.applied(`cfb.settle:bet-at:${tEnd}`)).toBe(1);
  });

  it("202 (oracle degraded) defers to the answer's retryAt, then 200: one key, applied once, no push", async () => {
    run = await start('defer', { PROCESSORS: 'cfb.settle' });
    const tEnd2 = Date.now() + 200;
    const retryAt = tEnd2 + 800;
    playhub.script(SETTLE, [
      { status: 202, body: { betId: 'bet-202', reason: 'oracle_degraded', retryAt: iso(retryAt) } },
      settled('bet-202'),
    ]);
    const deferred = betOpened('bet-202', tEnd2);
    await run.publisher.publish(deferred);
    await waitFor(() => finished(run, deferred.id), 'bet-202 settled after the deferral');

    const outcomes = of(run, deferred.id);
    expect(outcomes.map((o) => o.kind)).toEqual(['defer', 'defer', 'ack']);
    expect(outcomes[1]?.failures).toBe(0);
    expect(entryMs(outcomes[2]!)).toBeGreaterThanOrEqual(retryAt);
    const keys = callsFor(playhub, SETTLE, 'betId', 'bet-202').map((r) => r.idempotencyKey);
    expect(keys).toEqual([`cfb.settle:bet-202:${tEnd2}`, `cfb.settle:bet-202:${tEnd2}`]);
    expect(playhub.applied(keys[0]!)).toBe(1);
    expect(callsFor(playhub, PUSH, 'betId', 'bet-202')).toHaveLength(0);
  });

  it('past the settlement window pushes once (its own key, retried on 503), leaving no timer', async () => {
    run = await start('push', { PROCESSORS: 'cfb.settle' });
    const tEnd = Date.now() + 300;
    const windowEndsAt = tEnd + 1_000;
    // retryAt lies beyond the window: the re-ask is clamped to the window end, where the push runs instead
    playhub.script(SETTLE, [
      { status: 202, body: { betId: 'bet-push', reason: 'oracle_degraded', retryAt: iso(tEnd + 60_000) } },
    ]);
    playhub.script(PUSH, [{ status: 503 }, { status: 200, body: { betId: 'bet-push', state: 'pushed' } }]);
    const event = betOpened('bet-push', tEnd, windowEndsAt);
    await run.publisher.publish(event);
    await waitFor(() => finished(run, event.id), 'bet-push pushed');

    const outcomes = of(run, event.id);
    expect(outcomes.map((o) => o.kind)).toEqual(['defer', 'defer', 'retry', 'ack']);
    expect(entryMs(outcomes[2]!)).toBeGreaterThanOrEqual(windowEndsAt);
    expect(callsFor(playhub, SETTLE, 'betId', 'bet-push')).toHaveLength(1);
    const pushes = callsFor(playhub, PUSH, 'betId', 'bet-push');
    expect(pushes.map((r) => r.idempotencyKey)).toEqual([
      `cfb.push:bet-push:${tEnd}`,
      `cfb.push:bet-push:${tEnd}`,
    ]);
    expect(pushes[0]?.body).toEqual({ betId: 'bet-push', tEnd: iso(tEnd), reason: 'oracle_degraded' });
    expect(playhub.applied(`cfb.push:bet-push:${tEnd}`)).toBe(1);
    const partition = partitionOfOutcome(run, outcomes[0]!);
    expect(await db.redis.zscore(partition.timers, deferTimerId('cfb.settle', event.id))).toBeNull();
    expect(await db.redis.zscore(partition.timers, 'cfb.settle:bet-push')).toBeNull();
  });

  it('a bet cancelled before T_end is never settled: the timer is tombstoned', async () => {
    run = await start('cancel', { PROCESSORS: 'cfb.settle' });
    const tEnd = Date.now() + 600;
    const open = betOpened('bet-cancel', tEnd);
    await run.publisher.publish(open);
    await waitFor(() => of(run, open.id).length === 1, 'the open scheduled');
    const cancel = envelope('bet.cancelled', 'bet-cancel', { betId: 'bet-cancel', reason: 'market_halted' });
    await run.publisher.publish(cancel);
    await waitFor(() => finished(run, cancel.id), 'the cancel handled');
    // a bet due just after the cancelled one: once it settled, the cancelled bet's T_end has passed too
    playhub.script(SETTLE, [settled('bet-after')]);
    const after = betOpened('bet-after', tEnd + 50);
    await run.publisher.publish(after);
    await waitFor(() => finished(run, after.id), 'the later bet settled');

    expect(callsFor(playhub, SETTLE, 'betId', 'bet-cancel')).toHaveLength(0);
    expect(callsFor(playhub, PUSH, 'betId', 'bet-cancel')).toHaveLength(0);
    const partition = partitionOfOutcome(run, of(run, open.id)[0]!);
    expect(await db.redis.zscore(partition.timers, 'cfb.settle:bet-cancel')).toBeNull();
    expect(await db.redis.hget(partition.timerTombstones, 'cfb.settle:bet-cancel')).not.toBeNull();
  });

  it('ten 5xx answers send the bet to the DLQ with the same key every time', async () => {
    run = await start('dlq', { PROCESSORS: 'cfb.settle' });
    playhub.script(
      SETTLE,
      Array.from({ length: 10 }, () => ({
        status: 503,
        body: { error: { code: 'UNAVAILABLE', message: '' } },
      })),
    );
    const tEnd = Date.now() + 100;
    const event = betOpened('bet-dlq', tEnd);
    await run.publisher.publish(event);
    await waitFor(() => finished(run, event.id), 'bet-dlq dead-lettered', 20_000);

    const outcomes = of(run, event.id);
    expect(outcomes.map((o) => o.kind)).toEqual(['defer', ...Array<string>(9).fill('retry'), 'dead']);
    expect(outcomes.at(-1)?.failures).toBe(10);
    const calls = callsFor(playhub, SETTLE, 'betId', 'bet-dlq');
    expect(calls).toHaveLength(10);
    expect(new Set(calls.map((r) => r.idempotencyKey))).toEqual(new Set([`cfb.settle:bet-dlq:${tEnd}`]));
    const partition = partitionOfOutcome(run, outcomes[0]!);
    const letters = (await db.redis.xrange(partition.dlq, '-', '+')).map(([, fields]) =>
      fieldsToObject(fields),
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ group: 'cfb.settle', failures: '10' });
    expect(JSON.parse(letters[0]?.['envelope'] ?? '{}')).toMatchObject({ id: event.id });
  });
});

describe('start-up', () => {
  it('refuses to start cfb.settle without SVC_PLAYHUB_URL, naming the variable', async () => {
    const config = loadConfig(
      {
        REDIS_URL: db.server.url,
        QUEUE_PREFIX: `${prefix}-nourl`,
        LOG_LEVEL: 'silent',
        SERVICE_JWT_PRIVATE_JWK: JSON.stringify(jwk.privateJwk),
        ENABLE_CFB_SETTLE: 'true',
      },
      { envFile: false },
    );
    const start = startWorker({ config, packs: [createPlayhubPack()] });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(/SVC_PLAYHUB_URL/);
  });
});

describe('games.settlement', () => {
  const matchState = (matchId: string, state: string, payouts = [{ userId: 'usr_1', amount: '950' }]) => ({
    status: 200,
    body: {
      matchId,
      state,
      asset: 'STAR',
      stakes: [
        { userId: 'usr_1', holdId: `${matchId}-h1`, amount: '500' },
        { userId: 'usr_2', holdId: `${matchId}-h2`, amount: '500' },
      ],
      payouts,
      fee: '50',
    },
  });
  const callbackFailed = (matchId: string) =>
    envelope('game.callback_failed', matchId, { matchId, reason: 'game server callback timed out' });
  const settlementOk = (matchId: string) => ({
    status: 200,
    body: { settlementId: `stl-${matchId}`, settlementRef: matchId, state: 'settled' },
  });

  it('waits while the match is in progress, then settles it once through Payhub from PlayHub state', async () => {
    const run = await start('games', { PROCESSORS: 'games.settlement' });
    playhub.script(MATCH, [matchState('m-1', 'in_progress'), matchState('m-1', 'finished')]);
    payhub.script(SETTLEMENTS, [{ status: 503 }, settlementOk('m-1')]);
    playhub.script(MATCH, [matchState('m-1', 'finished')]);
    const event = callbackFailed('m-1');
    await run.publisher.publish(event);
    await waitFor(() => finished(run, event.id), 'm-1 settled');

    // in progress -> later; finished -> Payhub 503 -> retried (state read again) -> settled
    expect(of(run, event.id).map((o) => o.kind)).toEqual(['defer', 'retry', 'ack']);
    expect(playhub.requestsTo(MATCH)).toHaveLength(3);
    const settlements = payhub.requestsTo(SETTLEMENTS);
    expect(settlements).toHaveLength(2);
    expect(settlements[0]?.body).toEqual({
      settlementRef: 'm-1',
      asset: 'STAR',
      holdIds: ['m-1-h1', 'm-1-h2'],
      payouts: [{ userId: 'usr_1', amount: '950' }],
      fee: '50',
    });
    expect(settlements.map((r) => r.idempotencyKey)).toEqual([
      'games.settlement:m-1',
      'games.settlement:m-1',
    ]);
    expect(settlements[0]?.claims?.audience).toBe('payhub');
    expect(payhub.applied('games.settlement:m-1')).toBe(1);
  });

  it('dead-letters a match whose payouts and fee do not add up to the stakes: no money moved', async () => {
    const run = await start('games-broken', { PROCESSORS: 'games.settlement' });
    playhub.script(MATCH, [matchState('m-2', 'finished', [{ userId: 'usr_1', amount: '1000' }])]);
    const broken = callbackFailed('m-2');
    await run.publisher.publish(broken);
    await waitFor(() => finished(run, broken.id), 'm-2 dead-lettered');
    expect(of(run, broken.id).map((o) => [o.kind, o.reason])).toEqual([['dead', 'inconsistent match state']]);
    expect(callsFor(payhub, SETTLEMENTS, 'settlementRef', 'm-2')).toHaveLength(0);
  });
});

describe('playhub.sweep', () => {
  it('bets created with no bet.opened event are found and settled, once each, however often they are found', async () => {
    const now = Date.now();
    const bets = ['bet-s1', 'bet-s2', 'bet-s3'].map((id, i) => bet(id, now - 5_000 + i));
    const pages = [
      { status: 200, body: { items: bets.slice(0, 2), nextCursor: 'page-2' } },
      { status: 200, body: { items: bets.slice(2), nextCursor: null } },
    ];
    // two ticks find the same three bets, later ticks find none
    playhub.script(DUE, [
      ...pages,
      ...pages,
      ...Array.from({ length: 40 }, () => ({ status: 200, body: { items: [], nextCursor: null } })),
    ]);
    playhub.script(
      SETTLE,
      bets.map((b) => settled(b.betId)),
    );
    const run = await start('sweep', { PROCESSORS: 'cfb.settle,playhub.sweep', CRON_PLAYHUB_SWEEP: '1s' });
    // the producer's own event for bet-s3 races the sweeper (another id): still one settlement
    const producerEvent = envelope('bet.opened', 'bet-s3', bets[2]);
    await run.publisher.publish(producerEvent);

    const sweeps = () => run.outcomes.filter((o) => o.job === 'playhub.sweep' && o.kind === 'ack');
    await waitFor(() => sweeps().length >= 3, 'three sweeps', 10_000);
    const settleAcks = () => run.outcomes.filter((o) => o.job === 'cfb.settle' && o.kind === 'ack');
    await waitFor(() => settleAcks().length === 3, 'the three bets settled');

    for (const b of bets) {
      const calls = callsFor(playhub, SETTLE, 'betId', b.betId);
      expect(calls, b.betId).toHaveLength(1);
      expect(calls[0]?.idempotencyKey).toBe(`cfb.settle:${b.betId}:${Date.parse(b.tEnd)}`);
    }
    expect(playhub.appliedTwice()).toBe(0);
    // one swept event per bet in the stream, whatever the number of ticks that found it
    const originals: EventEnvelope[] = [];
    for (let i = 0; i < 2; i += 1) {
      const entries = await db.redis.xrange(run.keys.partition('playhub', i).stream, '-', '+');
      originals.push(...entries.map(([, f]) => decodeEntry(f)).filter((e) => e.targetGroup === undefined));
    }
    for (const b of bets) {
      const id = dueEventId('bet.opened', Date.parse(b.tEnd), [b.betId, String(Date.parse(b.tEnd))]);
      const swept = originals.filter((e) => e.id === id);
      expect(swept, b.betId).toHaveLength(1);
      expect(swept[0]).toMatchObject({ type: 'bet.opened', key: b.betId, source: 'workers', data: b });
    }
    expect(playhub.requestsTo(DUE).every((r) => r.tokenError === undefined)).toBe(true);
  });
});
