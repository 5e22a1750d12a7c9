// games.settlement: when a game server's result callback failed, finalizes the match from PlayHub's state through one
// Payhub settlement (seed 001 §7): the stake holds are captured and paid out as PlayHub computed.
import type { z } from 'zod';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, type Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { payhubCreateSettlement, settlementResponse } from '../payhub/api.js';
import { gameMatchState, gameMatchStateResponse } from './api.js';
import type { PlayhubEventMap } from './events.js';

export const GAMES_SETTLEMENT = 'games.settlement';

type CallbackFailed = PlayhubEventMap['game.callback_failed'];
type MatchState = z.infer<typeof gameMatchStateResponse>;

export interface GamesSettlementOptions {
  /** A match still in progress is looked at again after this (ms). */
  readonly pollMs: number;
  /** Looks at one match at most this often; a match still in progress then goes to the DLQ for an operator. */
  readonly pollLimit: number;
}

const sum = (amounts: readonly { readonly amount: string }[]): bigint =>
  amounts.reduce((total, { amount }) => total + BigInt(amount), 0n);

/**
 * The Payhub settlement of a finished or aborted match, or why there can be none: the payouts and the fee must add
 * up to the stakes (the settlement contract), so inconsistent state never moves money.
 */
export function settlementOf(match: MatchState): { readonly body: object } | { readonly problem: string } {
  const staked = sum(match.stakes);
  const paid = sum(match.payouts) + BigInt(match.fee);
  if (staked !== paid) {
    return { problem: `match ${match.matchId}: payouts + fee = ${paid} but the stakes add up to ${staked}` };
  }
  return {
    body: {
      settlementRef: match.matchId,
      asset: match.asset,
      holdIds: match.stakes.map((stake) => stake.holdId),
      payouts: match.payouts.map(({ userId, amount }) => ({ userId, amount })),
      fee: match.fee,
    },
  };
}

export function gamesSettlementJob(
  context: PackContext,
  options: GamesSettlementOptions,
): JobDefinition<CallbackFailed> {
  const sink = serviceSinkFor(context, GAMES_SETTLEMENT, 'playhub', 'payhub');

  async function finalize(event: EventEnvelope<CallbackFailed>, signal: AbortSignal): Promise<Outcome> {
    const { matchId } = event.data;
    const scope = { event, signal };
    const query = new URLSearchParams({ matchId });
    const state = await sink.call(
      {
        service: 'playhub',
        method: 'GET',
        path: `${gameMatchState.path}?${query.toString()}`,
        responseSchema: gameMatchStateResponse,
      },
      scope,
    );
    if (state.outcome.kind !== 'ack' || state.body === undefined) return state.outcome;
    const match = state.body;
    if (match.matchId !== matchId) {
      return outcome.dead('invalid response', `playhub answered match ${match.matchId} for ${matchId}`);
    }
    if (match.state === 'settled') return outcome.ack();
    if (match.state === 'in_progress') return outcome.later(`match ${matchId} is still in progress`);
    const settlement = settlementOf(match);
    if ('problem' in settlement) return outcome.dead('inconsistent match state', settlement.problem);
    return sink.outcomeOf(
      {
        service: 'payhub',
        path: payhubCreateSettlement.path,
        body: settlement.body,
        idempotencyKey: idempotencyKey(payhubCreateSettlement.idempotencyKey.scope, matchId),
        responseSchema: settlementResponse,
      },
      scope,
    );
  }

  return {
    name: GAMES_SETTLEMENT,
    domain: 'playhub',
    types: ['game.callback_failed'],
    handler: (event, ctx) => finalize(event, ctx.signal),
    // no timeout action: a match in progress past the limit is dead-lettered ("repeat limit reached")
    defer: { everyMs: options.pollMs, limit: options.pollLimit, jitterMs: Math.floor(options.pollMs / 10) },
  };
}
