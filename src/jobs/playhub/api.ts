// PlayHub's internal endpoints the jobs call: CFB settle and push, the due-bets scan, a match's settlement state.
import { z } from 'zod';
import { amountMinor, assetCode, dueQuery, entityId, isoTimestamp, nextCursor } from '../contract-fields.js';
import { commonStatuses, mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';
import { betOpenedData } from './events.js';

// not in the seeds: chosen here (001 §7 gives the input as { betId }; 000 §5 keys it by bet id plus end time)
export const cfbSettleRequest = z.strictObject({ betId: entityId, tEnd: isoTimestamp });

/** The bet's state after the call; `cancelled` and `pushed` mean it was already final, nothing to settle. */
// not in the seeds: chosen here
export const cfbBetState = z.enum(['settled', 'pushed', 'cancelled']);

// not in the seeds: chosen here
export const cfbSettleResponse = z.object({ betId: entityId, state: cfbBetState });

/** 202: the price oracle is degraded; PlayHub cannot settle yet. */
// not in the seeds: chosen here (000 §4.1 says only "202 retry later")
export const cfbSettleDeferred = z.object({
  betId: entityId,
  reason: z.string().min(1),
  retryAt: isoTimestamp.optional(),
});

export const cfbSettle = {
  service: 'playhub',
  method: 'POST',
  path: '/internal/v1/cfb/settle',
  seed: '001 §7 cfb.settle; 000 §3.2, §4.1',
  idempotencyKey: { scope: 'cfb.settle', parts: ['betId', 'tEnd'] },
  request: cfbSettleRequest,
  response: cfbSettleResponse,
  statuses: {
    ...mutationStatuses,
    200: { outcome: 'ack', meaning: 'settled, or already final (state says which)', body: cfbSettleResponse },
    202: {
      outcome: 'defer',
      meaning:
        'oracle degraded, not settled: defer to retryAt (or the default) with jitter; once windowEndsAt has passed, POST cfb/push instead',
      body: cfbSettleDeferred,
    },
  },
} as const satisfies InternalEndpoint;

// not in the seeds: chosen here
export const cfbPushRequest = z.strictObject({
  betId: entityId,
  tEnd: isoTimestamp,
  reason: z.string().min(1),
});

export const cfbPush = {
  service: 'playhub',
  method: 'POST',
  path: '/internal/v1/cfb/push',
  seed: '000 §3.2 ("timeout triggers push"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'cfb.push', parts: ['betId', 'tEnd'] },
  request: cfbPushRequest,
  response: cfbSettleResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'pushed (stakes returned), or already final (state says which)',
      body: cfbSettleResponse,
    },
  },
} as const satisfies InternalEndpoint;

/** Open bets past `tEnd` that have not been settled: the sweeper republishes `bet.opened` for each. */
// not in the seeds: chosen here
export const cfbDueBetsResponse = z.object({ items: z.array(betOpenedData).max(500), nextCursor });

export const cfbDueBets = {
  service: 'playhub',
  method: 'GET',
  path: '/internal/v1/cfb/bets/due',
  seed: 'not in the seeds: chosen here (DESIGN.md §3 sweepers)',
  query: dueQuery,
  response: cfbDueBetsResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'a page of due bets', body: cfbDueBetsResponse },
  },
} as const satisfies InternalEndpoint;

// not in the seeds: chosen here
export const gameMatchStateQuery = z.strictObject({ matchId: entityId });

const stake = z.object({ userId: entityId, holdId: entityId, amount: amountMinor });
const payout = z.object({ userId: entityId, amount: amountMinor });

/**
 * What PlayHub knows of a match: the stakes (Payhub holds) and, once finished or aborted, the payouts it computed
 * (game logic is PlayHub's, 001 §2); the job turns that into one Payhub settlement.
 */
// not in the seeds: chosen here
export const gameMatchStateResponse = z.object({
  matchId: entityId,
  state: z.enum(['in_progress', 'finished', 'aborted', 'settled']),
  asset: assetCode,
  stakes: z.array(stake).min(1).max(64),
  payouts: z.array(payout).max(64),
  fee: amountMinor,
});

export const gameMatchState = {
  service: 'playhub',
  method: 'GET',
  path: '/internal/v1/games/match-state',
  seed: '001 §7 games.settlement ("using PlayHub state"); path and shape not in the seeds: chosen here',
  query: gameMatchStateQuery,
  response: gameMatchStateResponse,
  statuses: {
    ...commonStatuses,
    200: {
      outcome: 'ack',
      meaning:
        'finished/aborted: settle through Payhub; settled: nothing to do; in_progress: the job defers (not a failure)',
      body: gameMatchStateResponse,
    },
  },
} as const satisfies InternalEndpoint;
