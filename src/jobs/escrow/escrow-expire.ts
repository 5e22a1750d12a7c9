// escrow.expire: expires each escrow through Escrow at its expiresAt (Escrow moves it to its cancel or refund path,
// seed 000 §3.4); escrow.released cancels the timer; a 202 (expiry moved later) asks again at `retryAt`.
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, type Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { escrowExpire, escrowNotYet, escrowStateResponse } from './api.js';
import type { EscrowEventMap } from './events.js';

export const ESCROW_EXPIRE = 'escrow.expire';

type EscrowCreated = EscrowEventMap['escrow.created'];
type EscrowReleased = EscrowEventMap['escrow.released'];
type EscrowEvent = EventEnvelope<EscrowCreated | EscrowReleased>;

export interface EscrowExpireOptions {
  /** Each re-ask after a 202 is due up to this much later (ms). */
  readonly jitterMs: number;
  /** A 202 with neither `retryAt` nor Retry-After asks again after this (ms). */
  readonly notYetRetryMs: number;
}

function created(event: EscrowEvent): EscrowCreated | undefined {
  return event.type === 'escrow.created' ? (event.data as EscrowCreated) : undefined;
}

export function escrowExpireJob(
  context: PackContext,
  options: EscrowExpireOptions,
): JobDefinition<EscrowCreated | EscrowReleased> {
  const sink = serviceSinkFor(context, ESCROW_EXPIRE, 'escrow');

  async function expire(event: EscrowEvent, escrow: EscrowCreated, signal: AbortSignal): Promise<Outcome> {
    const result = await sink.call(
      {
        service: 'escrow',
        path: escrowExpire.path,
        body: { escrowId: escrow.escrowId, expiresAt: escrow.expiresAt },
        idempotencyKey: idempotencyKey(
          escrowExpire.idempotencyKey.scope,
          escrow.escrowId,
          new Date(escrow.expiresAt),
        ),
        responseSchema: escrowStateResponse,
        policy: { deferDefaultMs: options.notYetRetryMs },
      },
      { event, signal },
    );
    if (result.outcome.kind !== 'defer') return result.outcome;
    const notYet = escrowNotYet.safeParse(result.raw);
    return notYet.success
      ? outcome.defer(Date.parse(notYet.data.retryAt), 'escrow 202: not expirable yet')
      : result.outcome;
  }

  return {
    name: ESCROW_EXPIRE,
    domain: 'escrow',
    types: ['escrow.created', 'escrow.released'],
    runAt: {
      at: (event) => {
        const escrow = created(event);
        return escrow === undefined ? undefined : Date.parse(escrow.expiresAt);
      },
      timerId: (event) => event.data.escrowId,
      // a later expiresAt is a new expiry: it moves a pending timer and beats the tombstone of a fired one
      version: (event) => {
        const escrow = created(event);
        return escrow === undefined ? 0 : Date.parse(escrow.expiresAt);
      },
      cancelOn: ['escrow.released'],
    },
    handler: async (event, ctx) => {
      const escrow = created(event);
      return escrow === undefined ? outcome.ack() : expire(event, escrow, ctx.signal);
    },
    defer: { jitterMs: options.jitterMs },
  };
}
