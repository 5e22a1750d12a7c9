// escrow.adjudicate: applies a moderator's decision through Escrow, which releases, refunds or splits the escrowed
// holds accordingly (seed 001 §7); one call per decision, keyed by escrow and decision.
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { serviceCallHandler } from '../../sinks/http-sink.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { escrowAdjudicate, escrowStateResponse } from './api.js';
import type { EscrowEventMap } from './events.js';

export const ESCROW_ADJUDICATE = 'escrow.adjudicate';

type DecisionMade = EscrowEventMap['escrow.decision_made'];

export function escrowAdjudicateJob(context: PackContext): JobDefinition<DecisionMade> {
  const sink = serviceSinkFor(context, ESCROW_ADJUDICATE, 'escrow');
  return {
    name: ESCROW_ADJUDICATE,
    domain: 'escrow',
    types: ['escrow.decision_made'],
    handler: serviceCallHandler<DecisionMade>(sink, (event) => ({
      service: 'escrow',
      path: escrowAdjudicate.path,
      body: event.data,
      idempotencyKey: idempotencyKey(
        escrowAdjudicate.idempotencyKey.scope,
        event.data.escrowId,
        event.data.decisionId,
      ),
      responseSchema: escrowStateResponse,
    })),
  };
}
