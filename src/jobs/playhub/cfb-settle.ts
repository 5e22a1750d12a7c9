// cfb.settle: settles each CFB bet through PlayHub at its T_end; while the oracle is degraded (202) it asks again with
// jitter until the bet's settlement window ends, then pushes the bet (PlayHub voids and refunds it) exactly once.
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import type { CallScope } from '../../sinks/http-sink.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, type Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { cfbPush, cfbSettle, cfbSettleDeferred, cfbSettleResponse } from './api.js';
import type { PlayhubEventMap } from './events.js';

export const CFB_SETTLE = 'cfb.settle';

type BetOpened = PlayhubEventMap['bet.opened'];
type BetCancelled = PlayhubEventMap['bet.cancelled'];
type BetEvent = EventEnvelope<BetOpened | BetCancelled>;

export interface CfbSettleOptions {
  /** Each re-ask after a 202 is due up to this much later (ms), so degraded-oracle retries of many bets spread. */
  readonly jitterMs: number;
  /** A 202 with neither `retryAt` nor Retry-After asks again after this (ms). */
  readonly oracleRetryMs: number;
}

/** Why PlayHub pushes the bet; part of the push body, so constant across retries (same key, same body). */
// not in the seeds: chosen here
export const CFB_PUSH_REASON = 'oracle_degraded';

function opened(event: BetEvent): BetOpened | undefined {
  return event.type === 'bet.opened' ? (event.data as BetOpened) : undefined;
}

/** The end of the bet's settlement window: PlayHub states it in the event (its window policy, seed 000 §3.2). */
function windowEndOf(event: BetEvent): number | undefined {
  const bet = opened(event);
  return bet === undefined ? undefined : Date.parse(bet.windowEndsAt);
}

export function cfbSettleJob(
  context: PackContext,
  options: CfbSettleOptions,
): JobDefinition<BetOpened | BetCancelled> {
  const sink = serviceSinkFor(context, CFB_SETTLE, 'playhub');

  async function settle(bet: BetOpened, scope: CallScope): Promise<Outcome> {
    const result = await sink.call(
      {
        service: 'playhub',
        path: cfbSettle.path,
        body: { betId: bet.betId, tEnd: bet.tEnd },
        idempotencyKey: idempotencyKey(cfbSettle.idempotencyKey.scope, bet.betId, new Date(bet.tEnd)),
        responseSchema: cfbSettleResponse,
        policy: { deferDefaultMs: options.oracleRetryMs },
      },
      scope,
    );
    if (result.outcome.kind !== 'defer') return result.outcome;
    // 202, oracle degraded: ask again at retryAt (else Retry-After, else the default), never past the window end,
    // where the re-emission meets the deadline and the push runs instead
    const deferred = cfbSettleDeferred.safeParse(result.raw);
    const retryAt =
      deferred.success && deferred.data.retryAt !== undefined ? Date.parse(deferred.data.retryAt) : undefined;
    const until = Math.min(
      retryAt ?? result.outcome.until ?? context.clock.now() + options.oracleRetryMs,
      Date.parse(bet.windowEndsAt),
    );
    const reason = deferred.success ? deferred.data.reason : 'not settled yet';
    return outcome.defer(until, `playhub 202: ${reason}`);
  }

  async function push(event: BetEvent, signal: AbortSignal): Promise<Outcome> {
    const bet = opened(event);
    if (bet === undefined) return outcome.ack();
    return sink.outcomeOf(
      {
        service: 'playhub',
        path: cfbPush.path,
        body: { betId: bet.betId, tEnd: bet.tEnd, reason: CFB_PUSH_REASON },
        idempotencyKey: idempotencyKey(cfbPush.idempotencyKey.scope, bet.betId, new Date(bet.tEnd)),
        responseSchema: cfbSettleResponse,
      },
      { event, signal },
    );
  }

  return {
    name: CFB_SETTLE,
    domain: 'playhub',
    types: ['bet.opened', 'bet.cancelled'],
    runAt: {
      at: (event) => {
        const bet = opened(event);
        return bet === undefined ? undefined : Date.parse(bet.tEnd);
      },
      timerId: (event) => event.data.betId,
      // a later T_end is a new settlement epoch: it moves a pending timer and beats the tombstone of a fired one;
      // a repeat of the same fact (producer retry, sweeper) carries the same version and meets the tombstone
      version: (event) => {
        const bet = opened(event);
        return bet === undefined ? 0 : Date.parse(bet.tEnd);
      },
      cancelOn: ['bet.cancelled'],
    },
    handler: async (event, ctx) => {
      const bet = opened(event);
      // only a fired bet.opened reaches here (bet.cancelled cancels the timer); anything else has nothing to settle
      if (bet === undefined) return outcome.ack();
      return settle(bet, { event, signal: ctx.signal });
    },
    defer: {
      jitterMs: options.jitterMs,
      // the first run (at T_end) always asks PlayHub, even when the worker comes late; re-asks stop at the window end
      deadline: (event) => (event.repetition === undefined ? undefined : windowEndOf(event)),
      onTimeout: (event, _cause, signal) => push(event, signal),
    },
  };
}
