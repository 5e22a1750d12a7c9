// End to end: 1,000 CFB bets published by the mock PlayHub settle at T_end through two real worker processes running
// the PlayHub pack, while one of them is SIGKILLed midway and restarted. None settles early; each is applied once
// per the mock's Idempotency-Key counter; the degraded-oracle 10% answer 202 first and settle later; a few whose
// window ends at T_end are pushed, once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockPlatform, type MockPlatform } from '../../demo/mock-platform/mock-platform.js';
import { shareOf } from '../../demo/mock-platform/seeded-random.js';
import { createPublisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { decodeEntry } from '../../src/events/wire.js';
import { cfbPush, cfbSettle } from '../../src/jobs/playhub/api.js';
import { registerPlayhubEvents } from '../../src/jobs/playhub/events.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { createPackWorkerChildren, type PackWorkerChild } from '../support/pack-worker-children.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const SEED = 'e2e-bets';
const BETS = 1_000;
const DEGRADED = 100;
const PUSHED = 5;
const PARTITIONS = 2;
const SPREAD_MS = 4_000;
const SETTLE = `${cfbSettle.method} ${cfbSettle.path}`;
const PUSH = `${cfbPush.method} ${cfbPush.path}`;

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const children = createPackWorkerChildren();
let platform: MockPlatform;

/** Is this bet id one the degraded oracle answers 202 (the mock's own rule for the seed)? */
const degraded = (betId: string): boolean => shareOf(SEED, 'oracle-degraded', betId) < 0.1;

/** 900 bets the oracle settles at once and 100 it answers 202 first: exactly 10%. */
function betIds(): { plain: string[]; degraded: string[] } {
  const plain: string[] = [];
  const slow: string[] = [];
  for (let n = 1; plain.length < BETS - DEGRADED || slow.length < DEGRADED; n += 1) {
    const betId = `bet-${n}`;
    if (degraded(betId)) {
      if (slow.length < DEGRADED) slow.push(betId);
    } else if (plain.length < BETS - DEGRADED) plain.push(betId);
  }
  return { plain, degraded: slow };
}

/** Entry ids a consumer holds (pending for it in the job's group) over all partitions. */
async function heldBy(consumer: string): Promise<string[]> {
  const ids: string[] = [];
  for (let p = 0; p < PARTITIONS; p += 1) {
    const stream = createKeyBuilder({ prefix }).partition('playhub', p).stream;
    const pending = (await db.redis.xpending(stream, 'cfb.settle', '-', '+', 10_000, consumer)) as [
      string,
      string,
      number,
      number,
    ][];
    ids.push(...pending.map(([id]) => id));
  }
  return ids;
}

function workerEnv(): Record<string, string> {
  return {
    ...platform.workerEnv,
    REDIS_URL: db.server.url,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    PARTITIONS_DEFAULT: String(PARTITIONS),
    PROCESSORS: 'cfb.settle',
    BACKOFF_DEFAULT_MS: '100',
    BACKOFF_MAX_MS: '500',
    // the killed worker's entries are taken over after 1.5 s without heartbeats
    CLAIM_FLOOR_MS: '1500',
    HEARTBEAT_INTERVAL_MS: '300',
    TRIM_INTERVAL_MS: '0',
    SHUTDOWN_GRACE_MS: '2000',
    PLAYHUB_PACK_OPTIONS: JSON.stringify({ cfbSettle: { jitterMs: 100, oracleRetryMs: 300 } }),
  };
}

beforeAll(async () => {
  const keys = createKeyBuilder({ prefix });
  const registry = createEventRegistry();
  registerPlayhubEvents(registry);
  platform = await startMockPlatform({
    seed: SEED,
    degradedShare: 0.1,
    // 202 once, then settled
    playhub: { degradedAttempts: 1, degradedRetryAfterMs: 300 },
    maxRecordedRequests: 20_000,
    publisher: createPublisher({ redis: db.redis, keys, registry, partitions: () => PARTITIONS }),
  });
});

afterAll(async () => {
  await children.killAll();
  await platform?.close();
});

describe('1,000 bets through two worker processes, one SIGKILLed and restarted midway', () => {
  it('settles each at T_end, never early, applied once; 202s settle later; past-window bets pushed once', async () => {
    const env = workerEnv();
    const [first, second] = await Promise.all([children.start(env), children.start(env)]);
    expect(first.jobs).toEqual(['cfb.settle']);

    const ids = betIds();
    // the last degraded bets close their settlement window at T_end: the 202 leaves nothing but the push
    const pushed = new Set(ids.degraded.slice(-PUSHED));
    const number = (betId: string): number => Number(betId.slice('bet-'.length));
    const all = [...ids.plain, ...ids.degraded]
      .sort((a, b) => number(a) - number(b))
      .map((betId, i) => ({ betId, i }));
    const start = Date.now() + 1_000;
    // spread over ~4 s; the pushed ones come last, well after the kill
    const tEndOf = new Map(
      all.map(({ betId, i }) => [
        betId,
        pushed.has(betId) ? start + SPREAD_MS + 200 : start + Math.floor((i * SPREAD_MS) / BETS),
      ]),
    );
    for (let i = 0; i < all.length; i += 100) {
      await Promise.all(
        all.slice(i, i + 100).map(({ betId }) => {
          const tEnd = tEndOf.get(betId)!;
          return platform.playhub.openBet({
            betId,
            tEnd,
            windowEndsAt: pushed.has(betId) ? tEnd : tEnd + 60_000,
          });
        }),
      );
    }

    const final = (): number => BETS - (platform.playhub.domainStats()['open'] ?? BETS);
    await waitFor(() => final() >= BETS * 0.4, '40% of the bets final', 20_000);
    // killed while it holds entries (fired timers being settled): the others must take them over
    await waitFor(
      async () => (await heldBy(first.consumers[0]!)).length > 0,
      'the first worker holding entries',
    );
    await first.kill9();
    const heldAtKill = await heldBy(first.consumers[0]!);
    const restarted: PackWorkerChild = await children.start(env);
    await waitFor(() => final() === BETS, 'every bet final', 40_000);

    // exactly once at the mock PlayHub: one application per bet, of its settle key or (pushed ones) its push key
    const keyOf = (scope: string, betId: string): string =>
      idempotencyKey(scope, betId, new Date(tEndOf.get(betId)!));
    for (const { betId } of all) {
      const settled = platform.playhub.applied(keyOf('cfb.settle', betId));
      const pushes = platform.playhub.applied(keyOf('cfb.push', betId));
      expect({ betId, settled, pushes }).toEqual({
        betId,
        settled: pushed.has(betId) ? 0 : 1,
        pushes: pushed.has(betId) ? 1 : 0,
      });
      expect(platform.playhub.bet(betId)?.state).toBe(pushed.has(betId) ? 'pushed' : 'settled');
    }
    expect(platform.appliedTwice()).toBe(0);

    // never before T_end: every settle or push call arrived at or after the bet's T_end
    const calls = [...platform.playhub.requestsTo(SETTLE), ...platform.playhub.requestsTo(PUSH)];
    expect(calls.length).toBeGreaterThanOrEqual(BETS + DEGRADED);
    for (const call of calls) {
      const { betId } = call.body as { betId: string };
      expect(call.at).toBeGreaterThanOrEqual(tEndOf.get(betId)!);
    }
    expect(platform.playhub.domainStats()['earlySettles']).toBe(0);
    // and by Redis time: each bet's timer entered its stream at or after T_end
    const fired = new Map<string, number>();
    for (let p = 0; p < PARTITIONS; p += 1) {
      const stream = createKeyBuilder({ prefix }).partition('playhub', p).stream;
      for (const [entryId, fields] of await db.redis.xrange(stream, '-', '+')) {
        const event = decodeEntry(fields);
        if (event.targetGroup !== 'cfb.settle' || event.repetition !== undefined) continue;
        const { betId } = event.data as { betId: string };
        fired.set(betId, Math.min(fired.get(betId) ?? Infinity, Number(entryId.split('-')[0])));
      }
    }
    expect(fired.size).toBe(BETS);
    for (const [betId, enteredAt] of fired) expect(enteredAt).toBeGreaterThanOrEqual(tEndOf.get(betId)!);

    // the degraded 10%: a 202 first, then the 200 that settled them (or, past the window, the push)
    for (const betId of ids.degraded) {
      const answers = platform.playhub
        .requestsTo(SETTLE)
        .filter((r) => (r.body as { betId: string }).betId === betId)
        .map((r) => r.status);
      expect(answers[0]).toBe(202);
      if (!pushed.has(betId)) expect(answers.at(-1)).toBe(200);
      expect(platform.playhub.bet(betId)?.degradedAnswers).toBe(1);
    }
    for (const betId of ids.plain) expect(platform.playhub.bet(betId)?.degradedAnswers).toBe(0);
    // the pushed ones: their one settle call was the 202, and one push was applied
    for (const betId of pushed) {
      const settles = platform.playhub
        .requestsTo(SETTLE)
        .filter((r) => (r.body as { betId: string }).betId === betId);
      expect(settles.map((r) => r.status)).toEqual([202]);
    }
    expect(platform.playhub.domainStats()).toMatchObject({ settled: BETS - PUSHED, pushed: PUSHED });

    // both settled bets before the kill; the restarted one rejoined the group (its share depends on timing)
    const acked = (child: PackWorkerChild): number =>
      child.lines.filter((l) => l.outcome?.kind === 'ack').length;
    expect(acked(first)).toBeGreaterThan(0);
    expect(acked(second)).toBeGreaterThan(0);
    expect(restarted.jobs).toEqual(['cfb.settle']);
    // what the killed worker held was claimed by the others and handled; nothing is left pending for it
    expect(heldAtKill.length).toBeGreaterThan(0);
    expect(await heldBy(first.consumers[0]!)).toEqual([]);
    const claimed = new Set(
      [...second.lines, ...restarted.lines]
        .filter((l) => l.outcome?.source === 'claimed')
        .map((l) => l.outcome?.entryId),
    );
    for (const entryId of heldAtKill) expect(claimed.has(entryId)).toBe(true);
    await Promise.all([second.terminate(), restarted.terminate()]);
  }, 120_000); // typically 15-20 s; worker start-up (tsx) is slow on a loaded 2-core machine
});
