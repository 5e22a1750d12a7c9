// Escrow's internal endpoints the jobs call: expire, adjudicate, and the scan of escrows past expiresAt.
import { z } from 'zod';
import { dueQuery, entityId, isoTimestamp, nextCursor } from '../contract-fields.js';
import { commonStatuses, mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';
import { escrowCreatedData, escrowDecisionMadeData } from './events.js';

/** The escrow's state after the call; anything but `expired`/`adjudicated` means it was already final. */
// not in the seeds: chosen here
export const escrowState = z.enum(['expired', 'refunded', 'released', 'adjudicated', 'cancelled']);

// not in the seeds: chosen here
export const escrowStateResponse = z.object({ escrowId: entityId, state: escrowState });

/** 202 from expire: the escrow is not expirable yet (its expiry moved later); come back at `retryAt`. */
// not in the seeds: chosen here
export const escrowNotYet = z.object({ escrowId: entityId, retryAt: isoTimestamp });

// not in the seeds: chosen here (000 §3.4 "Escrow internal expire route")
export const escrowExpireRequest = z.strictObject({ escrowId: entityId, expiresAt: isoTimestamp });

export const escrowExpire = {
  service: 'escrow',
  method: 'POST',
  path: '/internal/v1/escrow/expire',
  seed: '000 §3.4 (expire route, cancel or refund path); 001 §7 escrow.expire; path not in the seeds: chosen here',
  idempotencyKey: { scope: 'escrow.expire', parts: ['escrowId', 'expiresAt'] },
  request: escrowExpireRequest,
  response: escrowStateResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'expired and on its cancel/refund path, or already final (state says which)',
      body: escrowStateResponse,
    },
    202: {
      outcome: 'defer',
      meaning: 'not expirable yet (expiresAt moved later): defer to retryAt',
      body: escrowNotYet,
    },
  },
} as const satisfies InternalEndpoint;

/** The decision as the event carries it. */
// not in the seeds: chosen here
export const escrowAdjudicateRequest = escrowDecisionMadeData;

export const escrowAdjudicate = {
  service: 'escrow',
  method: 'POST',
  path: '/internal/v1/escrow/adjudicate',
  seed: '001 §7 escrow.adjudicate ("release/settle holds accordingly"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'escrow.adjudicate', parts: ['escrowId', 'decisionId'] },
  request: escrowAdjudicateRequest,
  response: escrowStateResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'the decision is applied (holds released/settled), or the escrow was already final',
      body: escrowStateResponse,
    },
  },
} as const satisfies InternalEndpoint;

/** Open escrows past `expiresAt` that were not expired: the sweeper republishes `escrow.created` for each. */
// not in the seeds: chosen here
export const escrowDueResponse = z.object({ items: z.array(escrowCreatedData).max(500), nextCursor });

export const escrowDue = {
  service: 'escrow',
  method: 'GET',
  path: '/internal/v1/escrow/due',
  seed: '000 §3.4 ("scan"); DESIGN.md §3 sweepers; path not in the seeds: chosen here',
  query: dueQuery,
  response: escrowDueResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'a page of due escrows', body: escrowDueResponse },
  },
} as const satisfies InternalEndpoint;
