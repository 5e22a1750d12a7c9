// Payhub's internal endpoints (seed 001 only): orphan holds scan and release, match settlements, reward grants,
// ledger recalc. Seed 000 forbids workers to call Payhub; issue 6 limits these calls to the jobs seed 001 names.
import { z } from 'zod';
import { minorUnits } from '../../events/envelope.js';
import {
  amountMinor,
  assetCode,
  cursorQueryFields,
  entityId,
  isoTimestamp,
  nextCursor,
} from '../contract-fields.js';
import { commonStatuses, mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';

/** Holds created before `olderThan` (now - TTL) with no correlation to a match, order or escrow. */
// not in the seeds: chosen here
export const orphanHoldsQuery = z.strictObject({ olderThan: isoTimestamp, ...cursorQueryFields });

// not in the seeds: chosen here
export const orphanHold = z.object({
  holdId: entityId,
  userId: entityId,
  amount: amountMinor,
  asset: assetCode,
  createdAt: isoTimestamp,
});

// not in the seeds: chosen here
export const orphanHoldsResponse = z.object({ items: z.array(orphanHold).max(500), nextCursor });

export const payhubOrphanHolds = {
  service: 'payhub',
  method: 'GET',
  path: '/internal/v1/holds/orphans',
  seed: '001 §7 payhub.orphan_holds.gc ("scan for holds older than TTL without correlation"); path not in the seeds: chosen here',
  query: orphanHoldsQuery,
  response: orphanHoldsResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'a page of orphan holds', body: orphanHoldsResponse },
  },
} as const satisfies InternalEndpoint;

// not in the seeds: chosen here
export const holdReleaseRequest = z.strictObject({ holdId: entityId, reason: z.literal('orphan_gc') });

/** `captured`: the hold was correlated and captured meanwhile, so it was left alone. */
// not in the seeds: chosen here
export const holdReleaseResponse = z.object({ holdId: entityId, state: z.enum(['released', 'captured']) });

export const payhubReleaseHold = {
  service: 'payhub',
  method: 'POST',
  path: '/internal/v1/holds/release',
  seed: '001 §7 payhub.orphan_holds.gc ("release via Payhub"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'payhub.orphan_holds.gc', parts: ['holdId'] },
  request: holdReleaseRequest,
  response: holdReleaseResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'released, or captured meanwhile and left alone (state says which)',
      body: holdReleaseResponse,
    },
  },
} as const satisfies InternalEndpoint;

/** One settlement of a match: its stake holds are captured, `payouts` + `fee` = the sum of the holds. */
// not in the seeds: chosen here
export const settlementRequest = z.strictObject({
  settlementRef: entityId,
  asset: assetCode,
  holdIds: z.array(entityId).min(1).max(64),
  payouts: z.array(z.strictObject({ userId: entityId, amount: amountMinor })).max(64),
  fee: amountMinor,
});

// not in the seeds: chosen here
export const settlementResponse = z.object({
  settlementId: entityId,
  settlementRef: entityId,
  state: z.literal('settled'),
});

export const payhubCreateSettlement = {
  service: 'payhub',
  method: 'POST',
  path: '/internal/v1/settlements',
  seed: '001 §7 games.settlement ("calling Payhub settlements using PlayHub state"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'games.settlement', parts: ['settlementRef'] },
  request: settlementRequest,
  response: settlementResponse,
  statuses: { ...mutationStatuses, 200: { outcome: 'ack', meaning: 'settled', body: settlementResponse } },
} as const satisfies InternalEndpoint;

/** A campaign reward credited to a user; `grantId` is the claim id, so a claim is granted at most once. */
// not in the seeds: chosen here
export const rewardGrantRequest = z.strictObject({
  grantId: entityId,
  userId: entityId,
  amount: amountMinor,
  asset: assetCode,
  campaignId: entityId,
});

// not in the seeds: chosen here
export const rewardGrantResponse = z.object({
  grantId: entityId,
  txId: entityId,
  state: z.literal('granted'),
});

export const payhubGrantReward = {
  service: 'payhub',
  method: 'POST',
  path: '/internal/v1/rewards/grant',
  seed: '001 §7 campaigns.claim ("issue reward via Payhub"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'campaigns.claim', parts: ['grantId'] },
  request: rewardGrantRequest,
  response: rewardGrantResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'granted; a repeated key replays this answer (the receipt needs txId)',
      body: rewardGrantResponse,
    },
  },
} as const satisfies InternalEndpoint;

// not in the seeds: chosen here
export const ledgerRecalcRequest = z.strictObject({ asOf: isoTimestamp });

/** Ledger invariants that do not hold (e.g. an account whose entries do not sum to its balance). */
// not in the seeds: chosen here
export const ledgerRecalcResponse = z.object({
  checkedAccounts: z.number().int().min(0),
  violations: z.array(
    z.object({ account: z.string().min(1), asset: assetCode, expected: minorUnits, actual: minorUnits }),
  ),
});

export const payhubRecalcLedger = {
  service: 'payhub',
  method: 'POST',
  path: '/internal/v1/ledger/recalc',
  seed: '001 §2 payhub.ledger.recalc ("verify invariants & emit alerts"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'payhub.ledger.recalc', parts: ['asOf'] },
  request: ledgerRecalcRequest,
  response: ledgerRecalcResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'checked; violations are alerted (log + metric), not retried',
      body: ledgerRecalcResponse,
    },
  },
} as const satisfies InternalEndpoint;
