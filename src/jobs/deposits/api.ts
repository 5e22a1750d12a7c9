// The Deposits service's internal endpoints the jobs call (seed 004): complete an M-Pesa deposit, credit a confirmed
// on-chain USDC deposit, and expire a deposit session whose transfer never came.
import { z } from 'zod';
import { amountMinor, entityId } from '../contract-fields.js';
import { mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';

export const txHash = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 0x-prefixed 32-byte hex hash');

// not in the seeds: chosen here (seed 004's job data without the placeholder txHash 'pending')
export const mpesaCompleteRequest = z.strictObject({ transactionId: entityId, chain: z.string().min(1) });

/** The deposit is written on chain and the portfolio and wallet balances credited (seed 004 steps 4a-c). */
// not in the seeds: chosen here
export const mpesaCompleteResponse = z.object({
  transactionId: entityId,
  state: z.literal('completed'),
  txHash: txHash.optional(),
});

export const depositsMpesaComplete = {
  service: 'deposits',
  method: 'POST',
  path: '/internal/v1/deposits/mpesa/complete',
  seed: '004 M-Pesa Deposit Flow (deposit-completion processor, 5 attempts); path chosen here',
  idempotencyKey: { scope: 'deposit.completion', parts: ['transactionId'] },
  request: mpesaCompleteRequest,
  response: mpesaCompleteResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'completed (or completed before with this key)',
      body: mpesaCompleteResponse,
    },
    503: {
      outcome: 'retry',
      meaning:
        "UNAVAILABLE: the service's blockchain RPC failed (seed 004: retried, 5 attempts, then the DLQ)",
    },
  },
} as const satisfies InternalEndpoint;

/**
 * The transfer that confirmed a session. The body holds only what identifies the transfer (never the confirmation
 * count, which grows between retries), so every retry sends the same body with the same key.
 */
// not in the seeds: chosen here
export const onchainCreditRequest = z.strictObject({
  depositSessionId: entityId,
  txHash,
  logIndex: z.number().int().min(0),
  /** Decimal string: block numbers are read as bigints from hex. */
  blockNumber: z.string().regex(/^(?:0|[1-9]\d*)$/),
  /** USDC minor units (6 decimals), read from the log's data. */
  amount: amountMinor,
});

/** `closed`: the session was expired or cancelled meanwhile; the service decides what a late transfer gets. */
// not in the seeds: chosen here
export const onchainCreditResponse = z.object({
  depositSessionId: entityId,
  state: z.enum(['credited', 'closed']),
});

export const depositsOnchainCredit = {
  service: 'deposits',
  method: 'POST',
  path: '/internal/v1/deposits/onchain/credit',
  seed: '004 Onchain USDC Deposit Flow step 4 ("when found and confirmed, credits portfolio"); path chosen here',
  idempotencyKey: { scope: 'deposit.onchain_confirmation', parts: ['depositSessionId'] },
  request: onchainCreditRequest,
  response: onchainCreditResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'credited, or the session was closed (state says which)',
      body: onchainCreditResponse,
    },
  },
} as const satisfies InternalEndpoint;

/** Why the watch ended without a confirmed transfer: the 60-minute session passed, or the 120 polls were used. */
// not in the seeds: chosen here
export const onchainExpiryReason = z.enum(['session_expired', 'poll_limit_reached']);

// not in the seeds: chosen here
export const onchainExpireRequest = z.strictObject({
  depositSessionId: entityId,
  reason: onchainExpiryReason,
});

/** `credited`: the session was credited meanwhile (another path) and was left alone. */
// not in the seeds: chosen here
export const onchainExpireResponse = z.object({
  depositSessionId: entityId,
  state: z.enum(['expired', 'credited']),
});

export const depositsOnchainExpire = {
  service: 'deposits',
  method: 'POST',
  path: '/internal/v1/deposits/onchain/expire',
  seed: '004 ("job automatically stops when session expires (60 minutes) or max attempts reached (120 checks)"); path chosen here',
  idempotencyKey: { scope: 'deposit.onchain_expiry', parts: ['depositSessionId'] },
  request: onchainExpireRequest,
  response: onchainExpireResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'expired, or credited meanwhile (state says which)',
      body: onchainExpireResponse,
    },
  },
} as const satisfies InternalEndpoint;
