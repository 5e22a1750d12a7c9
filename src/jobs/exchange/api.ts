// The exchange's internal endpoints the seed 002 workers call (one service, SVC_EXCHANGE_URL): market data (pairs,
// 24 h ticker), the matching engine, orders, balances, deposits and the blockchain monitor.
// Amounts are integer minor units as decimal strings; a price is minor units of the quote asset per whole base unit.
import { z } from 'zod';
import {
  amountMinor,
  assetCode,
  cursorQueryFields,
  dueQuery,
  entityId,
  isoTimestamp,
  marketSymbol,
  nextCursor,
} from '../contract-fields.js';
import { commonStatuses, mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';
import { chainId, orderSide } from './events.js';

const decimals = z.number().int().min(0).max(30);
const blockHeight = z.number().int().min(0);

// ---- market data -------------------------------------------------------------------------------------------------

/** A trading pair; `baseDecimals` scales quantities (a price is per 10^baseDecimals base minor units). */
// not in the seeds: chosen here (002 §1 "all active trading pairs")
export const tradingPair = z.object({
  pairId: entityId,
  symbol: marketSymbol,
  baseAsset: assetCode,
  quoteAsset: assetCode,
  baseDecimals: decimals,
  quoteDecimals: decimals,
  status: z.enum(['ACTIVE', 'SUSPENDED', 'DELISTED']),
});

export const activePairsQuery = z.strictObject({ status: z.literal('ACTIVE') });
export const activePairsResponse = z.object({ items: z.array(tradingPair).max(5000) });

export const exchangeActivePairs = {
  service: 'exchange',
  method: 'GET',
  path: '/internal/v1/market-data/pairs',
  seed: '002 §1, §2 ("Fetches all active trading pairs"); path not in the seeds: chosen here',
  query: activePairsQuery,
  response: activePairsResponse,
  statuses: { ...commonStatuses, 200: { outcome: 'ack', meaning: 'the pairs', body: activePairsResponse } },
} as const satisfies InternalEndpoint;

/**
 * The raw 24 h statistics of one pair (from the exchange's trades); the worker derives change and percentage.
 * Prices are null when the pair never traded; `open` is the price of the first trade in the window (or the last
 * price before it when the window had none).
 */
// not in the seeds: chosen here (002 §1 lists the statistics)
export const ticker24hStats = z.object({
  pairId: entityId,
  windowStart: isoTimestamp,
  windowEnd: isoTimestamp,
  open: amountMinor.nullable(),
  high: amountMinor.nullable(),
  low: amountMinor.nullable(),
  last: amountMinor.nullable(),
  baseVolume: amountMinor,
  quoteVolume: amountMinor,
  trades: z.number().int().min(0),
});

export const ticker24hQuery = z.strictObject({ pairId: entityId });

export const exchangeTicker24h = {
  service: 'exchange',
  method: 'GET',
  path: '/internal/v1/market-data/ticker-24h',
  seed: '002 §1 ("Calculates 24h statistics for each pair"); path not in the seeds: chosen here',
  query: ticker24hQuery,
  response: ticker24hStats,
  statuses: { ...commonStatuses, 200: { outcome: 'ack', meaning: 'the statistics', body: ticker24hStats } },
} as const satisfies InternalEndpoint;

// ---- orders and the matching engine ------------------------------------------------------------------------------

/** An order past `expiresAt` still OPEN or PARTIALLY_FILLED. */
// not in the seeds: chosen here (002 §3 "Checks for expired orders (based on expiresAt field)")
export const expiredOrder = z.object({
  orderId: entityId,
  userId: entityId,
  pairId: entityId,
  side: orderSide,
  price: amountMinor,
  quantity: amountMinor,
  filledQuantity: amountMinor,
  baseAsset: assetCode,
  quoteAsset: assetCode,
  baseDecimals: decimals,
  expiresAt: isoTimestamp,
  status: z.enum(['OPEN', 'PARTIALLY_FILLED']),
});

/** Items ordered by (expiresAt, orderId); `cursor` continues after the previous page. */
export const expiredOrdersQuery = dueQuery;
export const expiredOrdersResponse = z.object({ items: z.array(expiredOrder).max(500), nextCursor });

export const exchangeExpiredOrders = {
  service: 'exchange',
  method: 'GET',
  path: '/internal/v1/orders/expired',
  seed: '002 §3 ("Fetches all active orders", "Add pagination to active orders query"); path not in the seeds: chosen here',
  query: expiredOrdersQuery,
  response: expiredOrdersResponse,
  statuses: { ...commonStatuses, 200: { outcome: 'ack', meaning: 'a page', body: expiredOrdersResponse } },
} as const satisfies InternalEndpoint;

/**
 * The batch endpoints of the expiration steps take up to 500 items, each with its own Idempotency-Key (applied
 * once per item key; a repeat answers the first result again), and answer one result per item, matched by orderId:
 * `ok: false` with the error and whether a later attempt can succeed. The request's own Idempotency-Key is the run
 * (its tick) and the digest of its items: a retry of the run gets the batch's answer again, and the next run asks
 * anew for the items that failed.
 */
export const batchItemKey = z.string().min(1).max(160);

export const itemFailure = z.object({
  orderId: entityId,
  ok: z.literal(false),
  error: z.object({ code: z.string().min(1), message: z.string() }),
  retryable: z.boolean(),
});

export const removeOrdersRequest = z.strictObject({
  items: z
    .array(z.strictObject({ orderId: entityId, pairId: entityId, idempotencyKey: batchItemKey }))
    .min(1)
    .max(500),
});

/**
 * Per order: its final book state once it can no longer match (what is left of it and of its reserved fee, quote
 * minor units), or `removed: false` when it was not in the book (filled or cancelled meanwhile: nothing to expire).
 */
// not in the seeds: chosen here
export const removeOrderResult = z.union([
  z.object({
    orderId: entityId,
    ok: z.literal(true),
    removed: z.literal(true),
    remainingQuantity: amountMinor,
    reservedFee: amountMinor,
  }),
  z.object({ orderId: entityId, ok: z.literal(true), removed: z.literal(false) }),
  itemFailure,
]);
export const removeOrdersResponse = z.object({ results: z.array(removeOrderResult).max(500) });

export const exchangeRemoveOrders = {
  service: 'exchange',
  method: 'POST',
  path: '/internal/v1/matching-engine/orders/remove',
  seed: '002 §3 ("Removes from matching engine"); batch path and shape not in the seeds: chosen here',
  idempotencyKey: { scope: 'exchange.orders.expire.remove.batch', parts: ['run', 'digest(items)'] },
  request: removeOrdersRequest,
  response: removeOrdersResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning:
        'one result per order; an item key applied before answers its first result (the unlock uses it)',
      body: removeOrdersResponse,
    },
  },
} as const satisfies InternalEndpoint;

/** Item key of one order's removal: `exchange.orders.expire.remove:<orderId>`. */
export const REMOVE_ITEM_SCOPE = 'exchange.orders.expire.remove';

export const itemDone = z.object({ orderId: entityId, ok: z.literal(true) });
export const itemResult = z.union([itemDone, itemFailure]);
export const itemResults = z.object({ results: z.array(itemResult).max(500) });

export const expireOrdersRequest = z.strictObject({
  items: z
    .array(z.strictObject({ orderId: entityId, expiredAt: isoTimestamp, idempotencyKey: batchItemKey }))
    .min(1)
    .max(500),
});

export const exchangeExpireOrders = {
  service: 'exchange',
  method: 'POST',
  path: '/internal/v1/orders/expire',
  seed: '002 §3 ("Updates order status to EXPIRED"); batch path and shape not in the seeds: chosen here',
  idempotencyKey: { scope: 'exchange.orders.expire.status.batch', parts: ['run', 'digest(items)'] },
  request: expireOrdersRequest,
  response: itemResults,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'per order: EXPIRED (it leaves the expired list; ok also when it already was)',
      body: itemResults,
    },
  },
} as const satisfies InternalEndpoint;

/** Item key of one order's EXPIRED mark: `exchange.orders.expire.status:<orderId>`. */
export const EXPIRE_ITEM_SCOPE = 'exchange.orders.expire.status';

// ---- balances ----------------------------------------------------------------------------------------------------

export const balanceResponse = z.object({
  userId: entityId,
  asset: assetCode,
  available: amountMinor,
  locked: amountMinor,
});

export const unlockBalancesRequest = z.strictObject({
  items: z
    .array(
      z.strictObject({
        userId: entityId,
        asset: assetCode,
        amount: amountMinor,
        reason: z.literal('order_expired'),
        orderId: entityId,
        idempotencyKey: batchItemKey,
      }),
    )
    .min(1)
    .max(500),
});

export const exchangeUnlockBalances = {
  service: 'exchange',
  method: 'POST',
  path: '/internal/v1/balances/unlock',
  seed: '002 §3 ("Unlocks locked balance", Balance Unlock Calculation); batch path and shape not in the seeds: chosen here',
  idempotencyKey: { scope: 'exchange.orders.expire.unlock.batch', parts: ['run', 'digest(items)'] },
  request: unlockBalancesRequest,
  response: itemResults,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning:
        'per order: unlocked (ok also when its unlock was applied before, under any key); INSUFFICIENT_LOCKED or a wrong amount: not retryable',
      body: itemResults,
    },
  },
} as const satisfies InternalEndpoint;

/** Item key of one order's unlock: `exchange.orders.expire.unlock:<orderId>`. */
export const UNLOCK_ITEM_SCOPE = 'exchange.orders.expire.unlock';

export const creditBalanceRequest = z.strictObject({
  userId: entityId,
  asset: assetCode,
  amount: amountMinor,
  depositId: entityId,
});

export const exchangeCreditBalance = {
  service: 'exchange',
  method: 'POST',
  path: '/internal/v1/balances/credit',
  seed: '002 §4 ("Credits wallet balance"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'exchange.deposits.credit', parts: ['depositId', 'creditAttempt'] },
  request: creditBalanceRequest,
  response: balanceResponse,
  statuses: {
    ...mutationStatuses,
    200: { outcome: 'ack', meaning: 'credited; the balance after it', body: balanceResponse },
    409: {
      ...mutationStatuses[409],
      meaning: `${mutationStatuses[409].meaning}; ALREADY_DONE also when the deposit was credited under another key`,
    },
    422: {
      outcome: 'dead',
      meaning:
        'the credit cannot be made (e.g. "Insufficient gas"): the deposit is marked FAILED with the message',
    },
  },
} as const satisfies InternalEndpoint;

// ---- deposits ----------------------------------------------------------------------------------------------------

/** 002 §4 Deposit Flow: PENDING -> CONFIRMING -> CONFIRMED -> CREDITED, or FAILED when crediting fails. */
export const depositStatus = z.enum(['PENDING', 'CONFIRMING', 'CONFIRMED', 'CREDITED', 'FAILED']);
export type DepositStatus = z.infer<typeof depositStatus>;

// not in the seeds: chosen here (002 §4 names txHash, confirmations, status, age)
export const deposit = z.object({
  depositId: entityId,
  userId: entityId,
  chain: chainId,
  asset: assetCode,
  amount: amountMinor,
  txHash: z.string().min(1).max(128),
  /** Block holding the transaction; null while unmined. */
  blockNumber: blockHeight.nullable(),
  confirmations: z.number().int().min(0),
  status: depositStatus,
  createdAt: isoTimestamp,
  /** 0, then +1 per manual retry: part of the credit's Idempotency-Key, so a retry is a new attempt. */
  creditAttempt: z.number().int().min(0),
  failureReason: z.string().max(500).nullable().optional(),
});

/** Deposits in any of `status` (comma-separated), oldest first; `createdBefore` narrows to older ones. */
export const depositsQuery = z.strictObject({
  status: z.string().regex(/^[A-Z]+(?:,[A-Z]+){0,4}$/),
  createdBefore: isoTimestamp.optional(),
  ...cursorQueryFields,
});
export const depositsResponse = z.object({ items: z.array(deposit).max(500), nextCursor });

export const exchangeDeposits = {
  service: 'exchange',
  method: 'GET',
  path: '/internal/v1/deposits',
  seed: '002 §4 ("Fetches all pending/confirming deposits", "confirmed deposits (not yet credited)"); path not in the seeds: chosen here',
  query: depositsQuery,
  response: depositsResponse,
  statuses: { ...commonStatuses, 200: { outcome: 'ack', meaning: 'a page', body: depositsResponse } },
} as const satisfies InternalEndpoint;

export const depositResponse = z.object({ deposit });

const depositMutation = (
  path: string,
  scope: string,
  parts: readonly string[],
  request: z.ZodType,
  seed: string,
  meaning: string,
) =>
  ({
    service: 'exchange',
    method: 'POST',
    path,
    seed,
    idempotencyKey: { scope, parts },
    request,
    response: depositResponse,
    statuses: {
      ...mutationStatuses,
      200: { outcome: 'ack', meaning, body: depositResponse },
    },
  }) as const satisfies InternalEndpoint;

export const updateConfirmationsRequest = z.strictObject({
  depositId: entityId,
  confirmations: z.number().int().min(0),
});
export const exchangeUpdateConfirmations = depositMutation(
  '/internal/v1/deposits/confirmations',
  'exchange.deposits.confirmations',
  ['depositId', 'confirmations'],
  updateConfirmationsRequest,
  '002 §4 ("Updates deposit confirmation count", status CONFIRMING); path not in the seeds: chosen here',
  'recorded; PENDING becomes CONFIRMING',
);

export const confirmDepositRequest = updateConfirmationsRequest;
export const exchangeConfirmDeposit = depositMutation(
  '/internal/v1/deposits/confirm',
  'exchange.deposits.confirm',
  ['depositId', 'confirmations'],
  confirmDepositRequest,
  '002 §4 ("Confirms deposits when reaching required confirmations"); path not in the seeds: chosen here',
  'CONFIRMED (409 ALREADY_DONE when it already was, whatever the key)',
);

export const markCreditedRequest = z.strictObject({
  depositId: entityId,
  creditAttempt: z.number().int().min(0),
});
export const exchangeMarkCredited = depositMutation(
  '/internal/v1/deposits/credited',
  'exchange.deposits.credited',
  ['depositId'],
  markCreditedRequest,
  '002 §4 ("Marks deposit as credited"); path not in the seeds: chosen here',
  'CREDITED (the deposit leaves the confirmed list)',
);

export const markFailedRequest = z.strictObject({
  depositId: entityId,
  creditAttempt: z.number().int().min(0),
  reason: z.string().min(1).max(500),
});
export const exchangeMarkFailed = depositMutation(
  '/internal/v1/deposits/fail',
  'exchange.deposits.fail',
  ['depositId', 'creditAttempt'],
  markFailedRequest,
  '002 §4 ("Deposit marked as FAILED", "Failure reason saved"); path not in the seeds: chosen here',
  'FAILED with the reason',
);

export const retryDepositRequest = z.strictObject({ depositId: entityId, requestId: z.string().min(1) });
export const exchangeRetryDeposit = {
  ...depositMutation(
    '/internal/v1/deposits/retry',
    'exchange.deposits.retry',
    ['depositId', 'requestId'],
    retryDepositRequest,
    '002 §4 ("Can be manually retried"); path not in the seeds: chosen here',
    'FAILED -> CONFIRMED with creditAttempt + 1: the next credit run credits it',
  ),
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'FAILED -> CONFIRMED with creditAttempt + 1: the next credit run credits it',
      body: depositResponse,
    },
    409: {
      outcome: 'by-error-code',
      meaning: `${mutationStatuses[409].meaning}; NOT_FAILED: the deposit is not FAILED, nothing to retry (ack, logged)`,
    },
  },
} as const satisfies InternalEndpoint;

export const depositStatsResponse = z.object({
  counts: z.partialRecord(depositStatus, z.number().int().min(0)),
  /** The oldest deposit waiting to be credited, if any. */
  oldestConfirmedAt: isoTimestamp.nullable(),
});

export const exchangeDepositStats = {
  service: 'exchange',
  method: 'GET',
  path: '/internal/v1/deposits/stats',
  seed: '002 §4 Statistics & Alerts ("Logs deposit counts by status"); path not in the seeds: chosen here',
  response: depositStatsResponse,
  statuses: { ...commonStatuses, 200: { outcome: 'ack', meaning: 'counts', body: depositStatsResponse } },
} as const satisfies InternalEndpoint;

// ---- blockchain monitor ------------------------------------------------------------------------------------------

/** The BlockchainMonitorService: whether it runs, and the current height of each monitored chain. */
// not in the seeds: chosen here (002 §4 "Verifies blockchain monitor is active", "current block number")
export const blockchainStatusResponse = z.object({
  active: z.boolean(),
  chains: z.array(z.object({ chain: chainId, height: blockHeight, updatedAt: isoTimestamp })).max(100),
});

export const exchangeBlockchainStatus = {
  service: 'exchange',
  method: 'GET',
  path: '/internal/v1/blockchain/status',
  seed: '002 §4 Blockchain Monitoring; path not in the seeds: chosen here',
  response: blockchainStatusResponse,
  statuses: { ...commonStatuses, 200: { outcome: 'ack', meaning: 'status', body: blockchainStatusResponse } },
} as const satisfies InternalEndpoint;

export const reinitializeMonitorRequest = z.strictObject({ requestedAt: isoTimestamp });
export const reinitializeMonitorResponse = z.object({ active: z.boolean() });

export const exchangeReinitializeMonitor = {
  service: 'exchange',
  method: 'POST',
  path: '/internal/v1/blockchain/monitor/reinitialize',
  seed: '002 §4 ("Re-initializes if needed", "Automatically attempts re-initialization"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'exchange.deposits.scan.reinitialize', parts: ['requestedAt'] },
  request: reinitializeMonitorRequest,
  response: reinitializeMonitorResponse,
  statuses: {
    ...mutationStatuses,
    200: { outcome: 'ack', meaning: 'whether the monitor runs now', body: reinitializeMonitorResponse },
  },
} as const satisfies InternalEndpoint;

export const scanRequest = z.strictObject({ through: isoTimestamp });
export const scanResponse = z.object({
  chains: z
    .array(
      z.object({
        chain: chainId,
        fromBlock: blockHeight,
        toBlock: blockHeight,
        /** Deposits the scan found that real-time detection had missed (created PENDING). */
        found: z.number().int().min(0),
      }),
    )
    .max(100),
});

export const exchangeScan = {
  service: 'exchange',
  method: 'POST',
  path: '/internal/v1/blockchain/scan',
  seed: '002 §4 ("Backup deposit scan", every minute); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'exchange.deposits.scan', parts: ['through'] },
  request: scanRequest,
  response: scanResponse,
  statuses: {
    ...mutationStatuses,
    200: { outcome: 'ack', meaning: 'what each chain scan covered and found', body: scanResponse },
  },
} as const satisfies InternalEndpoint;
