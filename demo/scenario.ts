// The demo's scenario: a realistic mix published through the mock platform's services while the workers run. CFB
// bets settle at T_end (some with a degraded oracle, cancelled, moved later or past their window), escrows expire or
// are released, vesting epochs come due, proofs and reward claims arrive, game callbacks fail, holds are orphaned,
// news and page views accumulate, storage needs cleaning, Admin exports are requested, the exchange matches trades;
// PlayHub answers some calls 503 or loses the answer, one price provider is flaky, a poison event arrives and an
// operator replays a dead letter.
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { monotonicFactory } from 'ulid';
import type { EventEnvelope } from '../src/events/envelope.js';
import { partitionOf } from '../src/events/partition.js';
import type { Publisher } from '../src/events/publisher.js';
import { encodeEvent } from '../src/events/wire.js';
import { escrowAdjudicate } from '../src/jobs/escrow/api.js';
import { cfbSettle } from '../src/jobs/playhub/api.js';
import type { KeyBuilder } from '../src/streams/keys.js';
import { CLEANUP_SERVICES, DEMO_SOURCES, FLAKY_PROVIDER } from './demo-env.js';
import type { MockPlatform } from './mock-platform/mock-platform.js';
import { seededRandom } from './mock-platform/seeded-random.js';
import { countPublish, type PublishTally } from './retrying-producer.js';

export interface ScenarioOptions {
  readonly platform: MockPlatform;
  /** Publishes the facts of producers without a mock service (operators' requests, the exchange's trades). */
  readonly publisher: Publisher;
  readonly tally: PublishTally;
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly partitions: number;
  readonly betsPerSecond: number;
  /** When the run ends (ms); nothing is scheduled due later than shortly before. Default: runs until stop(). */
  readonly endsAt?: number;
  readonly seed: string | number;
  /** A scenario step that failed (the scenario goes on). */
  readonly onError: (what: string, error: unknown) => void;
}

export interface Scenario {
  /** Raw entries with invalid data written so far. */
  readonly poisonEvents: number;
  /** Stops publishing and waits for the steps in flight. */
  stop(): Promise<void>;
}

const STEP_MS = 250;
const STEPS_PER_SECOND = 1000 / STEP_MS;
/** Timed items are due at least this long before the run ends, so the report sees them handled. */
const END_MARGIN_MS = 1_500;
/** How long a bet can be settled after T_end; every fourth bet gets none (a degraded oracle then pushes it). */
const SETTLEMENT_WINDOW_MS = 10_000;
const HOUR_MS = 3_600_000;

export function startScenario(options: ScenarioOptions): Scenario {
  const { platform, betsPerSecond } = options;
  const random = seededRandom(options.seed, 'scenario');
  const nextId = monotonicFactory(random);
  const stopped = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let step = 0;
  let betBudget = 0;
  let betNo = 0;
  let escrowNo = 0;
  let tradeNo = 0;
  let exportNo = 0;
  let poisonEvents = 0;
  let replayed = false;

  const between = (min: number, max: number): number => Math.round(min + random() * (max - min));
  const latestDue = (): number =>
    options.endsAt === undefined ? Number.POSITIVE_INFINITY : options.endsAt - END_MARGIN_MS;
  /** A due time min..max ms ahead, no later than the run's end allows; undefined once nothing fits. */
  const dueIn = (minMs: number, maxMs: number): number | undefined => {
    const now = Date.now();
    if (now + minMs > latestDue()) return undefined;
    return Math.min(now + between(minMs, maxMs), latestDue());
  };
  const run = (what: string, action: () => Promise<unknown>): void => {
    const done: Promise<void> = action()
      .then(() => undefined)
      .catch((error: unknown) => {
        if (!stopped.signal.aborted) options.onError(what, error);
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  const later = async (ms: number): Promise<boolean> => {
    try {
      await delay(ms, undefined, { signal: stopped.signal });
      return true;
    } catch {
      return false;
    }
  };

  async function openBet(): Promise<void> {
    const tEnd = dueIn(1_500, 5_000);
    if (tEnd === undefined) return;
    betNo += 1;
    const n = betNo;
    const betId = `bet-${n}`;
    const windowEndsAt = n % 4 === 3 ? tEnd : tEnd + SETTLEMENT_WINDOW_MS;
    await platform.playhub.openBet({ betId, stake: String(between(1, 200) * 100), tEnd, windowEndsAt });
    if (n % 25 === 7 && (await later(300))) {
      // the market halted: cancelled before T_end, its timer is tombstoned
      const bet = platform.playhub.bet(betId);
      if (bet?.state === 'open' && Date.parse(bet.tEnd) - Date.now() > 300)
        await platform.playhub.cancelBet(betId, 'market_halted');
    } else if (n % 40 === 13 && (await later(200))) {
      // PlayHub extended the round: a newer T_end moves the timer
      const bet = platform.playhub.bet(betId);
      const moved = tEnd + 1_000;
      if (bet?.state === 'open' && moved <= latestDue() && tEnd - Date.now() > 300)
        await platform.playhub.moveBetEnd(betId, moved, moved + SETTLEMENT_WINDOW_MS);
    }
  }

  async function createEscrow(): Promise<void> {
    const expiresAt = dueIn(1_500, 5_000);
    if (expiresAt === undefined) return;
    escrowNo += 1;
    const escrow = await platform.escrow.createEscrow({ expiresAt, amount: String(between(10, 500) * 100) });
    if (escrowNo % 4 === 1 && (await later(400))) {
      // released to the payee before it expired: escrow.released cancels the expiry timer
      if (platform.escrow.escrow(escrow.escrowId)?.state === 'open')
        await platform.escrow.releaseEscrow(escrow.escrowId);
    }
  }

  async function disputeEscrow(): Promise<void> {
    // a dispute a moderator decides; the escrow itself would only expire in a minute
    const escrow = await platform.escrow.createEscrow({ expiresAt: Date.now() + 60_000, amount: '10000' });
    const resolutions = ['release', 'refund', 'split'] as const;
    await platform.escrow.decide({
      escrowId: escrow.escrowId,
      resolution: resolutions[between(0, 2)]!,
    });
  }

  async function scheduleVesting(): Promise<void> {
    const first = dueIn(1_500, 2_000);
    if (first === undefined) return;
    const epochs = [0, 1_500, 3_000]
      .map((offset) => first + offset)
      .filter((releaseAt) => releaseAt <= latestDue())
      .map((releaseAt) => ({ releaseAt, amount: String(between(1, 50) * 1000) }));
    await platform.funding.scheduleVesting({ asset: 'FUZE', epochs });
  }

  async function campaignActivity(): Promise<void> {
    // a proof the campaign can check only a moment later (202 first), then a reward claim
    await platform.campaigns.submitProof({
      campaignId: 'launch',
      pendingChecks: random() < 0.5 ? 1 : 0,
      valid: random() < 0.9,
    });
    await platform.campaigns.requestClaim({
      campaignId: 'launch',
      amount: String(between(1, 10) * 100),
      eligible: random() < 0.8,
    });
  }

  async function failedGameCallback(): Promise<void> {
    const match = platform.playhub.createMatch({
      stakes: [
        { userId: `player-${between(1, 500)}`, amount: '500' },
        { userId: `player-${between(501, 1000)}`, amount: '500' },
      ],
    });
    platform.playhub.finishMatch(match.matchId, { state: 'finished', fee: '50' });
    await platform.playhub.failGameCallback(match.matchId, 'game server callback timed out');
  }

  function orphanHolds(count: number): void {
    for (let i = 0; i < count; i += 1) {
      // a hold whose match never started: nothing correlates it, and it is two hours old
      platform.payhub.createHold({
        userId: `user-${between(1, 999)}`,
        amount: String(between(1, 20) * 50),
        asset: 'STAR',
        createdAt: Date.now() - 2 * HOUR_MS,
      });
    }
  }

  function missingFacts(): void {
    // created while their producer's XADD was lost: only the sweepers can find these
    const now = Date.now();
    platform.playhub.createBet({ betId: `bet-lost-${now}`, tEnd: now - 200 });
    run('escrow without event', () =>
      platform.escrow.createEscrow({ expiresAt: now - 200 }, { publish: false }),
    );
    run('vesting without event', () =>
      platform.funding.scheduleVesting(
        { asset: 'FUZE', epochs: [{ releaseAt: now - 200, amount: '5000' }] },
        { publish: false },
      ),
    );
  }

  async function writePoisonEvent(): Promise<void> {
    // a producer that skipped validation: invalid data for a subscribed type goes to the DLQ, never retried
    const key = 'bet-poison';
    const fields = encodeEvent({
      id: nextId(),
      type: 'bet.opened',
      key,
      occurredAt: new Date().toISOString(),
      source: 'playhub',
      schemaVersion: 1,
      data: {},
    });
    fields[fields.indexOf('data') + 1] = '{"betId":7,"stake":"-1"}';
    const stream = options.keys.partition('playhub', partitionOf(key, options.partitions)).stream;
    await options.redis.xadd(stream, '*', ...fields);
    poisonEvents += 1;
  }

  async function replayDeadDecision(): Promise<void> {
    // an operator saw the refused decision in the DLQ, had Escrow fixed, and asks for a replay
    const dlqLength = await Promise.all(
      Array.from({ length: options.partitions }, (_, i) =>
        options.redis.xlen(options.keys.partition('escrow', i).dlq),
      ),
    );
    if (replayed || dlqLength.every((n) => n === 0)) return;
    replayed = true;
    await publishFact('admin', 'dlq.replay_requested', 'replay-1', {
      replayId: 'replay-1',
      domain: 'escrow',
      job: 'escrow.adjudicate',
      requestedBy: 'ops-oncall',
    });
  }

  async function publishFact(source: string, type: string, key: string, data: unknown): Promise<void> {
    const event: EventEnvelope = {
      id: nextId(),
      type,
      key,
      occurredAt: new Date().toISOString(),
      source,
      schemaVersion: 1,
      data,
    };
    const result = await options.publisher.publish(event);
    countPublish(options.tally, type, result.duplicate);
  }

  async function matchTrades(): Promise<void> {
    // the exchange's matching engine: a few trades per second on one pair, aggregated into candles
    for (let i = 0; i < 3; i += 1) {
      tradeNo += 1;
      await publishFact('exchange', 'trade.executed', 'TON-USDT', {
        tradeId: `trade-${tradeNo}`,
        pairId: 'TON-USDT',
        price: String(between(520, 540) * 10_000),
        quantity: String(between(1, 100) * 1_000_000),
        executedAt: new Date().toISOString(),
        takerSide: random() < 0.5 ? 'BUY' : 'SELL',
      });
    }
  }

  async function requestExport(): Promise<void> {
    exportNo += 1;
    const n = exportNo;
    const exportId = `export-${n}`;
    await publishFact('admin', 'export.requested', exportId, {
      exportId,
      service: n % 2 === 0 ? 'events' : 'campaigns',
      dataset: n % 2 === 0 ? 'pageviews' : 'claims',
      format: n % 3 === 0 ? 'json' : 'csv',
      requestedBy: 'admin-1',
    });
  }

  function setUp(): void {
    const settle = `${cfbSettle.method} ${cfbSettle.path}`;
    // PlayHub is briefly unavailable now and then, and sometimes settles but the answer is lost on the way back
    platform.playhub.fault(settle, [
      { status: 503, share: 0.03 },
      { status: 503, share: 0.02, phase: 'after' },
    ]);
    // the first moderator decision is refused (400): it is dead-lettered, then replayed by an operator
    platform.escrow.fault(`${escrowAdjudicate.method} ${escrowAdjudicate.path}`, { status: 400, times: 1 });
    platform.feeds.fault(FLAKY_PROVIDER.route, { status: 503, share: FLAKY_PROVIDER.share });
    platform.campaigns.createCampaign({ campaignId: 'launch', budget: '500000', asset: 'STAR' });
    orphanHolds(5);
    platform.events.addPageViews(120, Date.now() - 61_000);
    platform.campaigns.addStorageObjects(['proofs/seed-1.png', 'proofs/seed-2.png']);
    platform.events.addStorageObjects(['pageviews/seed.json']);
  }

  function tick(): void {
    step += 1;
    betBudget += betsPerSecond / STEPS_PER_SECOND;
    for (; betBudget >= 1; betBudget -= 1) run('bet', openBet);
    const second = step / STEPS_PER_SECOND;
    if (!Number.isInteger(second)) return;
    run('escrow', createEscrow);
    run('escrow', createEscrow);
    run('trades', matchTrades);
    platform.events.addPageViews(between(5, 50), Date.now() - 61_000);
    if (second === 1) run('poison event', writePoisonEvent);
    if (second % 4 === 1) run('escrow dispute', disputeEscrow);
    if (second >= 3 && !replayed) run('DLQ replay', replayDeadDecision);
    if (second === 2) {
      // an invariant breaks: the next ledger recalc and budget reconcile raise alerts
      platform.payhub.corruptLedger('user:player-7', 'STAR', 25n);
      platform.campaigns.corruptBudget('launch', 100n);
    }
    if (second % 2 === 0) run('campaign', campaignActivity);
    if (second % 3 === 1) run('vesting', scheduleVesting);
    if (second % 3 === 2) run('game callback', failedGameCallback);
    if (second % 3 === 0) {
      const source = DEMO_SOURCES[(second / 3) % DEMO_SOURCES.length]!;
      platform.feeds.addFeedItem(source.id, { title: `Market update ${second}`, symbols: ['TON/USDT'] });
    }
    if (second % 4 === 0) {
      for (const service of CLEANUP_SERVICES)
        platform[service].addStorageObjects([
          `${service}/tmp-${second}-a.bin`,
          `${service}/tmp-${second}-b.bin`,
        ]);
    }
    if (second % 5 === 0) {
      orphanHolds(2);
      missingFacts();
    }
    if (second % 10 === 1) run('export', requestExport);
  }

  setUp();
  run('export', requestExport);
  const timer = setInterval(tick, STEP_MS);
  return {
    get poisonEvents() {
      return poisonEvents;
    },
    async stop() {
      clearInterval(timer);
      stopped.abort();
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
