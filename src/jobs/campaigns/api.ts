// Campaigns' internal endpoints the jobs call: verify a proof, verify a claim, record a grant's receipt, reconcile budgets.
import { z } from 'zod';
import { amountMinor, assetCode, entityId, isoTimestamp } from '../contract-fields.js';
import { mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';

// not in the seeds: chosen here
export const proofVerifyRequest = z.strictObject({ proofId: entityId, campaignId: entityId });

// not in the seeds: chosen here
export const proofVerifyResponse = z.object({
  proofId: entityId,
  status: z.enum(['verified', 'rejected']),
  reason: z.string().optional(),
});

/** 202: the proof cannot be checked yet (e.g. the external action is not visible yet). */
// not in the seeds: chosen here
export const proofVerifyPending = z.object({ proofId: entityId, retryAt: isoTimestamp.optional() });

export const campaignsVerifyProof = {
  service: 'campaigns',
  method: 'POST',
  path: '/internal/v1/campaigns/proofs/verify',
  seed: '001 §7 campaigns.verify_async ("verify proof"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'campaigns.verify_async', parts: ['proofId'] },
  request: proofVerifyRequest,
  response: proofVerifyResponse,
  statuses: {
    ...mutationStatuses,
    200: { outcome: 'ack', meaning: 'verified or rejected; Campaigns records it', body: proofVerifyResponse },
    202: {
      outcome: 'defer',
      meaning: 'cannot be verified yet: defer to retryAt (or the default) until the job deadline',
      body: proofVerifyPending,
    },
  },
} as const satisfies InternalEndpoint;

// not in the seeds: chosen here
export const claimVerifyRequest = z.strictObject({ claimId: entityId });

/**
 * `grant`: eligible and budget reserved, grant `amount` through Payhub; `reject`: not eligible, done;
 * `already_granted`: a receipt exists, done.
 */
// not in the seeds: chosen here
export const claimVerifyResponse = z.object({
  claimId: entityId,
  decision: z.enum(['grant', 'reject', 'already_granted']),
  userId: entityId,
  amount: amountMinor,
  asset: assetCode,
  reason: z.string().optional(),
});

export const campaignsVerifyClaim = {
  service: 'campaigns',
  method: 'POST',
  path: '/internal/v1/campaigns/claims/verify',
  seed: '001 §7 campaigns.claim ("verify"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'campaigns.claim.verify', parts: ['claimId'] },
  request: claimVerifyRequest,
  response: claimVerifyResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'the decision; on `grant` the job goes on to Payhub',
      body: claimVerifyResponse,
    },
  },
} as const satisfies InternalEndpoint;

// not in the seeds: chosen here
export const claimReceiptRequest = z.strictObject({
  claimId: entityId,
  grantId: entityId,
  txId: entityId,
  amount: amountMinor,
  asset: assetCode,
});

// not in the seeds: chosen here
export const claimReceiptResponse = z.object({ claimId: entityId, status: z.literal('granted') });

export const campaignsRecordReceipt = {
  service: 'campaigns',
  method: 'POST',
  path: '/internal/v1/campaigns/claims/receipt',
  seed: '001 §7 campaigns.claim ("record receipt"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'campaigns.claim.receipt', parts: ['claimId'] },
  request: claimReceiptRequest,
  response: claimReceiptResponse,
  statuses: {
    ...mutationStatuses,
    200: { outcome: 'ack', meaning: 'receipt recorded; the claim is granted', body: claimReceiptResponse },
  },
} as const satisfies InternalEndpoint;

// not in the seeds: chosen here
export const budgetReconcileRequest = z.strictObject({ asOf: isoTimestamp });

/** Campaigns whose spent budget differs from the granted totals; the job alerts on them (logs, metrics). */
// not in the seeds: chosen here
export const budgetReconcileResponse = z.object({
  checked: z.number().int().min(0),
  mismatches: z.array(z.object({ campaignId: entityId, budgetSpent: amountMinor, granted: amountMinor })),
});

export const campaignsReconcileBudgets = {
  service: 'campaigns',
  method: 'POST',
  path: '/internal/v1/campaigns/budgets/reconcile',
  seed: '000 §3.5 ("periodic budget reconcile against granted totals"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'campaigns.budget.reconcile', parts: ['asOf'] },
  request: budgetReconcileRequest,
  response: budgetReconcileResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'reconciled; mismatches are reported, not retried',
      body: budgetReconcileResponse,
    },
  },
} as const satisfies InternalEndpoint;
