// Mock PlayHub: CFB bets (open, cancelled, settled, pushed) with a degradable price oracle, the due-bets scan of the
// sweeper, and head-to-head matches whose state games.settlement reads (src/jobs/playhub/api.ts).
import { ERROR_CODES } from '../../src/jobs/contract-fields.js';
import { cfbDueBets, cfbPush, cfbSettle, gameMatchState } from '../../src/jobs/playhub/api.js';
import { betCancelledData, betOpenedData, gameCallbackFailedData } from '../../src/jobs/playhub/events.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import type { EmitOptions } from './event-producer.js';
import {
  contractRoute,
  errorAnswer,
  startPlatformService,
  type PlatformService,
  type ServiceAnswer,
} from './platform-service.js';
import { shareOf } from './seeded-random.js';
import {
  badCursor,
  idSequence,
  invalid,
  iso,
  notFound,
  pageOf,
  sumMinor,
  timeKey,
  toMs,
  type ServiceContext,
  type TimeInput,
} from './service-context.js';
import { utilityRoutes, type UtilityHelpers, type UtilityOptions } from './utility-routes.js';

export interface PlayhubOptions {
  /** Share (0-1) of bets whose settlement the degraded oracle answers 202; stable per bet for a seed. Default 0. */
  readonly degradedShare?: number;
  /** Settle calls a degraded bet answers 202 to before it settles; default unlimited (it ends pushed). */
  readonly degradedAttempts?: number;
  /** Retry-After (and `retryAt`) of a degraded 202; default 1000 ms. */
  readonly degradedRetryAfterMs?: number;
  /**
   * How a settle or push of a bet that is already final is answered: `state` = the contract's 200 with the final
   * state (default), `conflict` = 409 ALREADY_DONE with `details.state`. Both are acks for the job.
   */
  readonly alreadyFinal?: 'state' | 'conflict';
  readonly utility?: UtilityOptions;
}

export type BetState = 'open' | 'settled' | 'pushed' | 'cancelled';

export interface MockBet {
  readonly betId: string;
  readonly stake: string;
  readonly asset: string;
  tEnd: string;
  windowEndsAt: string;
  state: BetState;
  /** 202s the degraded oracle gave this bet. */
  degradedAnswers: number;
  /** Platform time it became final. */
  finalAt: number | undefined;
}

export interface BetInput {
  readonly betId?: string;
  readonly stake?: string;
  readonly asset?: string;
  readonly tEnd: TimeInput;
  /** Default tEnd + 60 s. */
  readonly windowEndsAt?: TimeInput;
}

export type MatchState = 'in_progress' | 'finished' | 'aborted' | 'settled';

export interface MockMatch {
  readonly matchId: string;
  readonly asset: string;
  readonly stakes: { userId: string; holdId: string; amount: string }[];
  payouts: { userId: string; amount: string }[];
  fee: string;
  state: MatchState;
}

export interface MatchInput {
  readonly matchId?: string;
  readonly asset?: string;
  readonly stakes: readonly { userId: string; amount: string }[];
  /** Default: in_progress. */
  readonly state?: Exclude<MatchState, 'settled'>;
  /** For a finished match: default the whole pot to the first player, fee 0. */
  readonly payouts?: readonly { userId: string; amount: string }[];
  readonly fee?: string;
}

/** Where the stakes of a match are held: the mock Payhub (correlated holds), or local ids without it. */
export interface StakeHolds {
  createHold(input: { userId: string; amount: string; asset: string; correlation: string }): {
    holdId: string;
  };
}

export interface MockPlayhub extends PlatformService, UtilityHelpers {
  /** Opens a bet and publishes `bet.opened` (not with `{ publish: false }`). */
  openBet(input: BetInput, options?: EmitOptions): Promise<MockBet>;
  /** Opens a bet WITHOUT publishing an event: what the sweeper must find. */
  createBet(input: BetInput): MockBet;
  /** Cancels an open bet and publishes `bet.cancelled`. */
  cancelBet(betId: string, reason?: string, options?: EmitOptions): Promise<MockBet>;
  /** Moves an open bet's tEnd and publishes `bet.opened` again with the new times. */
  moveBetEnd(
    betId: string,
    tEnd: TimeInput,
    windowEndsAt?: TimeInput,
    options?: EmitOptions,
  ): Promise<MockBet>;
  bet(betId: string): MockBet | undefined;
  bets(): MockBet[];
  createMatch(input: MatchInput): MockMatch;
  /** Ends a match with its payouts (a finished game) or as aborted (stakes back). */
  finishMatch(
    matchId: string,
    result: { state: 'finished' | 'aborted'; payouts?: { userId: string; amount: string }[]; fee?: string },
  ): MockMatch;
  /** Publishes `game.callback_failed` for a match. */
  failGameCallback(
    matchId: string,
    reason?: string,
    options?: EmitOptions,
  ): Promise<EventEnvelope | undefined>;
  match(matchId: string): MockMatch | undefined;
  /** Payhub settled the match (called by the platform when a settlement names it). */
  markMatchSettled(matchId: string): void;
  /** Bets by state, early settle calls (before tEnd), degraded 202s. */
  domainStats(): Record<string, number>;
}

const PLAYHUB = 'playhub';

export async function startMockPlayhub(
  ctx: ServiceContext,
  options: PlayhubOptions = {},
  holds?: StakeHolds,
): Promise<MockPlayhub> {
  const bets = new Map<string, MockBet>();
  const matches = new Map<string, MockMatch>();
  const nextId = idSequence();
  const degradedShare = options.degradedShare ?? 0;
  const degradedAttempts = options.degradedAttempts ?? Number.POSITIVE_INFINITY;
  const retryAfterMs = options.degradedRetryAfterMs ?? 1000;
  const counters = { earlySettles: 0, degradedAnswers: 0, staleSettles: 0 };

  const isDegraded = (bet: MockBet): boolean =>
    shareOf(ctx.seed, 'oracle-degraded', bet.betId) < degradedShare && bet.degradedAnswers < degradedAttempts;

  function alreadyFinal(bet: MockBet): ServiceAnswer {
    if (options.alreadyFinal === 'conflict') {
      return errorAnswer(409, ERROR_CODES.alreadyDone, `bet ${bet.betId} is already ${bet.state}`, {
        state: bet.state,
      });
    }
    return { status: 200, body: { betId: bet.betId, state: bet.state } };
  }

  function notYet(bet: MockBet, reason: string, retryAt: number, now: number): ServiceAnswer {
    return {
      status: 202,
      body: { betId: bet.betId, reason, retryAt: iso(retryAt) },
      headers: { 'retry-after': String(Math.max(1, Math.ceil((retryAt - now) / 1000))) },
    };
  }

  function finish(bet: MockBet, state: 'settled' | 'pushed', now: number): ServiceAnswer {
    bet.state = state;
    bet.finalAt = now;
    return { status: 200, applied: true, body: { betId: bet.betId, state } };
  }

  const utility = utilityRoutes(ctx, 'playhub', options.utility);
  const service = await startPlatformService({
    ...ctx.server,
    name: 'playhub',
    random: ctx.random,
    routes: [
      contractRoute(cfbSettle, ({ data, now }) => {
        const bet = bets.get(data.betId);
        if (bet === undefined) return notFound(`bet ${data.betId}`);
        if (bet.state !== 'open') return alreadyFinal(bet);
        const requestedEnd = toMs(data.tEnd);
        const betEnd = toMs(bet.tEnd);
        if (requestedEnd < betEnd) {
          // a timer of the bet's old tEnd: not settleable before the new one
          counters.staleSettles += 1;
          return notYet(bet, 'tEnd moved later', betEnd, now);
        }
        if (requestedEnd > betEnd) return invalid(`tEnd does not match bet ${bet.betId}`, { tEnd: bet.tEnd });
        if (now < betEnd) {
          counters.earlySettles += 1;
          return notYet(bet, 'before tEnd', betEnd, now);
        }
        if (isDegraded(bet)) {
          bet.degradedAnswers += 1;
          counters.degradedAnswers += 1;
          return notYet(bet, 'oracle degraded', now + retryAfterMs, now);
        }
        return finish(bet, 'settled', now);
      }),
      contractRoute(cfbPush, ({ data, now }) => {
        const bet = bets.get(data.betId);
        if (bet === undefined) return notFound(`bet ${data.betId}`);
        if (bet.state !== 'open') return alreadyFinal(bet);
        if (toMs(data.tEnd) !== toMs(bet.tEnd))
          return invalid(`tEnd does not match bet ${bet.betId}`, { tEnd: bet.tEnd });
        if (now < toMs(bet.tEnd)) return invalid(`bet ${bet.betId} cannot be pushed before tEnd`);
        return finish(bet, 'pushed', now);
      }),
      contractRoute(cfbDueBets, ({ data }) => {
        const before = toMs(data.before);
        const due = [...bets.values()].filter((b) => b.state === 'open' && toMs(b.tEnd) <= before);
        const page = pageOf(due, (b) => timeKey(toMs(b.tEnd), b.betId), data.cursor, data.limit);
        if (page === undefined) return badCursor();
        return { status: 200, body: { items: page.items.map(betData), nextCursor: page.nextCursor } };
      }),
      contractRoute(gameMatchState, ({ data }) => {
        const match = matches.get(data.matchId);
        if (match === undefined) return notFound(`match ${data.matchId}`);
        return { status: 200, body: structuredClone(match) };
      }),
      ...utility.routes,
    ],
  });

  function createBet(input: BetInput): MockBet {
    const betId = input.betId ?? nextId('bet');
    if (bets.has(betId)) throw new Error(`bet ${betId} exists`);
    const tEnd = toMs(input.tEnd);
    const bet: MockBet = {
      betId,
      stake: input.stake ?? '100',
      asset: input.asset ?? 'STAR',
      tEnd: iso(tEnd),
      windowEndsAt: iso(input.windowEndsAt === undefined ? tEnd + 60_000 : toMs(input.windowEndsAt)),
      state: 'open',
      degradedAnswers: 0,
      finalAt: undefined,
    };
    betOpenedData.parse(betData(bet));
    bets.set(betId, bet);
    return bet;
  }

  function openBetOrThrow(betId: string): MockBet {
    const bet = bets.get(betId);
    if (bet === undefined) throw new Error(`no bet ${betId}`);
    if (bet.state !== 'open') throw new Error(`bet ${betId} is ${bet.state}`);
    return bet;
  }

  function matchOrThrow(matchId: string): MockMatch {
    const match = matches.get(matchId);
    if (match === undefined) throw new Error(`no match ${matchId}`);
    return match;
  }

  function finishMatch(
    matchId: string,
    result: { state: 'finished' | 'aborted'; payouts?: { userId: string; amount: string }[]; fee?: string },
  ): MockMatch {
    const match = matchOrThrow(matchId);
    const pot = sumMinor(match.stakes.map((s) => s.amount));
    const fee = result.fee ?? '0';
    const payouts =
      result.payouts ??
      (result.state === 'aborted'
        ? match.stakes.map((s) => ({ userId: s.userId, amount: s.amount }))
        : [{ userId: match.stakes[0]!.userId, amount: String(pot - BigInt(fee)) }]);
    if (sumMinor(payouts.map((p) => p.amount)) + BigInt(fee) !== pot)
      throw new Error(`payouts + fee of match ${matchId} do not add up to its stakes (${pot})`);
    match.payouts = payouts;
    match.fee = fee;
    match.state = result.state;
    return match;
  }

  return {
    ...service,
    ...utility.helpers,
    createBet,
    async openBet(input, emitOptions) {
      const bet = createBet(input);
      await ctx.producer.emit(PLAYHUB, 'bet.opened', betOpenedData, bet.betId, betData(bet), emitOptions);
      return bet;
    },
    async cancelBet(betId, reason, emitOptions) {
      const bet = openBetOrThrow(betId);
      bet.state = 'cancelled';
      bet.finalAt = ctx.clock.now();
      await ctx.producer.emit(
        PLAYHUB,
        'bet.cancelled',
        betCancelledData,
        betId,
        { betId, ...(reason ? { reason } : {}) },
        emitOptions,
      );
      return bet;
    },
    async moveBetEnd(betId, tEnd, windowEndsAt, emitOptions) {
      const bet = openBetOrThrow(betId);
      const end = toMs(tEnd);
      bet.tEnd = iso(end);
      bet.windowEndsAt = iso(windowEndsAt === undefined ? end + 60_000 : toMs(windowEndsAt));
      await ctx.producer.emit(PLAYHUB, 'bet.opened', betOpenedData, betId, betData(bet), emitOptions);
      return bet;
    },
    bet: (betId) => bets.get(betId),
    bets: () => [...bets.values()],
    createMatch(input) {
      const matchId = input.matchId ?? nextId('match');
      if (matches.has(matchId)) throw new Error(`match ${matchId} exists`);
      if (input.stakes.length === 0) throw new Error('a match needs stakes');
      const asset = input.asset ?? 'STAR';
      const stakes = input.stakes.map((stake, i) => ({
        userId: stake.userId,
        amount: stake.amount,
        holdId:
          holds?.createHold({ userId: stake.userId, amount: stake.amount, asset, correlation: matchId })
            .holdId ?? `hold-${matchId}-${i + 1}`,
      }));
      const match: MockMatch = { matchId, asset, stakes, payouts: [], fee: '0', state: 'in_progress' };
      matches.set(matchId, match);
      if (input.state !== undefined && input.state !== 'in_progress') {
        finishMatch(matchId, {
          state: input.state,
          ...(input.payouts ? { payouts: [...input.payouts] } : {}),
          ...(input.fee ? { fee: input.fee } : {}),
        });
      }
      return match;
    },
    finishMatch,
    failGameCallback(matchId, reason, emitOptions) {
      matchOrThrow(matchId);
      return ctx.producer.emit(
        PLAYHUB,
        'game.callback_failed',
        gameCallbackFailedData,
        matchId,
        { matchId, reason: reason ?? 'game server callback timed out' },
        emitOptions,
      );
    },
    match: (matchId) => matches.get(matchId),
    markMatchSettled(matchId) {
      const match = matches.get(matchId);
      if (match) match.state = 'settled';
    },
    domainStats() {
      const byState: Record<string, number> = { open: 0, settled: 0, pushed: 0, cancelled: 0 };
      for (const bet of bets.values()) byState[bet.state] = (byState[bet.state] ?? 0) + 1;
      return { ...byState, ...counters, matches: matches.size };
    },
  };
}

function betData(bet: MockBet): {
  betId: string;
  stake: string;
  asset: string;
  tEnd: string;
  windowEndsAt: string;
} {
  return {
    betId: bet.betId,
    stake: bet.stake,
    asset: bet.asset,
    tEnd: bet.tEnd,
    windowEndsAt: bet.windowEndsAt,
  };
}
