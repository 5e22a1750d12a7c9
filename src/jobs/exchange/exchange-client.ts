// Typed calls to the exchange's internal endpoints (api.ts) through the internal-service sink, with each mutation's
// Idempotency-Key built from its contract's epoch; failures throw the sink's ServiceCallError (transient/permanent).
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { PermanentError, TransientError } from '../../errors.js';
import type { CallScope, HttpSink, SinkResult } from '../../sinks/http-sink.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import {
  activePairsResponse,
  blockchainStatusResponse,
  depositResponse,
  depositStatsResponse,
  depositsResponse,
  exchangeActivePairs,
  exchangeBlockchainStatus,
  exchangeConfirmDeposit,
  exchangeCreditBalance,
  exchangeDepositStats,
  exchangeDeposits,
  exchangeExpireOrders,
  exchangeExpiredOrders,
  exchangeMarkCredited,
  exchangeMarkFailed,
  exchangeReinitializeMonitor,
  exchangeRemoveOrders,
  exchangeRetryDeposit,
  exchangeScan,
  exchangeTicker24h,
  exchangeUnlockBalances,
  exchangeUpdateConfirmations,
  expiredOrdersResponse,
  EXPIRE_ITEM_SCOPE,
  balanceResponse,
  itemResults,
  REMOVE_ITEM_SCOPE,
  reinitializeMonitorResponse,
  removeOrdersResponse,
  UNLOCK_ITEM_SCOPE,
  scanResponse,
  ticker24hStats,
} from './api.js';
import type {
  DepositStatus,
  creditBalanceRequest,
  itemResult,
  markFailedRequest,
  removeOrderResult,
} from './api.js';

export type TradingPair = z.infer<typeof activePairsResponse>['items'][number];
export type Ticker24hStats = z.infer<typeof ticker24hStats>;
export type ExpiredOrder = z.infer<typeof expiredOrdersResponse>['items'][number];
/** One order's removal: its final book state, not in the book, or a failure. */
export type RemoveResult = z.infer<typeof removeOrderResult>;
export type RemovedOrder = Extract<RemoveResult, { removed: true }>;
export type ItemResult = z.infer<typeof itemResult>;

export interface UnlockItem {
  readonly userId: string;
  readonly asset: string;
  readonly amount: string;
  readonly orderId: string;
}
export type Deposit = z.infer<typeof depositsResponse>['items'][number];
export type BlockchainStatus = z.infer<typeof blockchainStatusResponse>;
export type DepositStats = z.infer<typeof depositStatsResponse>;

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface DepositsQuery {
  readonly statuses: readonly DepositStatus[];
  readonly limit: number;
  readonly cursor?: string | undefined;
  readonly createdBefore?: string | undefined;
}

export interface ExchangeClient {
  activePairs(scope: CallScope): Promise<readonly TradingPair[]>;
  ticker24h(pairId: string, scope: CallScope): Promise<Ticker24hStats>;
  expiredOrders(
    query: { readonly before: string; readonly limit: number; readonly cursor?: string | undefined },
    scope: CallScope,
  ): Promise<Page<ExpiredOrder>>;
  /**
   * Batch steps of order expiration, each item applied once per its own key; results by order id (an order without
   * one failed). `run` (the run's tick) is part of the request's key: a retry of the run replays a batch's answer,
   * a later run asks again for the items that failed. A failed call throws: none of its items is known applied.
   */
  removeOrders(
    orders: readonly { readonly orderId: string; readonly pairId: string }[],
    run: string,
    scope: CallScope,
  ): Promise<ReadonlyMap<string, RemoveResult>>;
  unlockBalances(
    items: readonly UnlockItem[],
    run: string,
    scope: CallScope,
  ): Promise<ReadonlyMap<string, ItemResult>>;
  expireOrders(
    items: readonly { readonly orderId: string; readonly expiredAt: string }[],
    run: string,
    scope: CallScope,
  ): Promise<ReadonlyMap<string, ItemResult>>;
  deposits(query: DepositsQuery, scope: CallScope): Promise<Page<Deposit>>;
  updateConfirmations(depositId: string, confirmations: number, scope: CallScope): Promise<void>;
  confirmDeposit(depositId: string, confirmations: number, scope: CallScope): Promise<void>;
  /** The whole result: a permanent refusal (dead) marks the deposit FAILED instead of throwing. */
  creditBalance(
    request: z.input<typeof creditBalanceRequest>,
    creditAttempt: number,
    scope: CallScope,
  ): Promise<SinkResult>;
  markCredited(depositId: string, creditAttempt: number, scope: CallScope): Promise<void>;
  markFailed(request: z.input<typeof markFailedRequest>, scope: CallScope): Promise<void>;
  /** The whole result: a 409 NOT_FAILED is the caller's to read. */
  retryDeposit(depositId: string, requestId: string, scope: CallScope): Promise<SinkResult>;
  depositStats(scope: CallScope): Promise<DepositStats>;
  blockchainStatus(scope: CallScope): Promise<BlockchainStatus>;
  reinitializeMonitor(requestedAt: string, scope: CallScope): Promise<boolean>;
  scan(through: string, scope: CallScope): Promise<z.infer<typeof scanResponse>>;
}

function withQuery(path: string, query: Readonly<Record<string, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, value);
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** A 2xx the sink mapped to ack but without the body the job needs (204, or a 409 ALREADY_DONE envelope). */
function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new PermanentError(`${what}: the exchange answered without a body`);
  return value;
}

const digestOf = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

export function createExchangeClient(sink: HttpSink): ExchangeClient {
  /** One batch step: the request keyed by its run and the digest of its items, the results by order id. */
  async function batch<R extends { readonly orderId: string }>(
    endpoint: { readonly path: string; readonly idempotencyKey: { readonly scope: string } },
    items: readonly { readonly orderId: string }[],
    run: string,
    schema: z.ZodType<{ readonly results: readonly R[] }>,
    scope: CallScope,
  ): Promise<ReadonlyMap<string, R>> {
    if (items.length === 0) return new Map();
    const result = await sink.call(
      {
        service: 'exchange',
        path: endpoint.path,
        body: { items },
        idempotencyKey: idempotencyKey(endpoint.idempotencyKey.scope, new Date(run), digestOf(items)),
        responseSchema: schema,
      },
      scope,
    );
    if (result.outcome.kind !== 'ack') {
      throw result.error ?? new TransientError(`${result.target}: ${result.outcome.kind}`);
    }
    if (result.status !== 200 || result.body === undefined) {
      throw new PermanentError(
        `${result.target} answered ${result.status ?? 'nothing'} without per-item results`,
      );
    }
    return new Map(result.body.results.map((item) => [item.orderId, item]));
  }

  const get = async <T>(path: string, schema: z.ZodType<T>, scope: CallScope): Promise<T | undefined> =>
    sink.fetchJson({ service: 'exchange', method: 'GET', path, responseSchema: schema }, scope);

  const post = async <T>(
    path: string,
    body: unknown,
    key: string,
    schema: z.ZodType<T>,
    scope: CallScope,
  ): Promise<T | undefined> =>
    sink.fetchJson({ service: 'exchange', path, body, idempotencyKey: key, responseSchema: schema }, scope);

  return {
    async activePairs(scope) {
      const page = await get(
        withQuery(exchangeActivePairs.path, { status: 'ACTIVE' }),
        activePairsResponse,
        scope,
      );
      return page?.items ?? [];
    },
    async ticker24h(pairId, scope) {
      const stats = await get(withQuery(exchangeTicker24h.path, { pairId }), ticker24hStats, scope);
      return required(stats, `ticker of ${pairId}`);
    },
    async expiredOrders({ before, limit, cursor }, scope) {
      const path = withQuery(exchangeExpiredOrders.path, { before, limit: String(limit), cursor });
      return (await get(path, expiredOrdersResponse, scope)) ?? { items: [], nextCursor: null };
    },
    removeOrders(orders, run, scope) {
      const items = orders.map(({ orderId, pairId }) => ({
        orderId,
        pairId,
        idempotencyKey: idempotencyKey(REMOVE_ITEM_SCOPE, orderId),
      }));
      return batch(exchangeRemoveOrders, items, run, removeOrdersResponse, scope);
    },
    unlockBalances(unlocks, run, scope) {
      const items = unlocks.map((unlock) => ({
        userId: unlock.userId,
        asset: unlock.asset,
        amount: unlock.amount,
        reason: 'order_expired' as const,
        orderId: unlock.orderId,
        idempotencyKey: idempotencyKey(UNLOCK_ITEM_SCOPE, unlock.orderId),
      }));
      return batch(exchangeUnlockBalances, items, run, itemResults, scope);
    },
    expireOrders(orders, run, scope) {
      const items = orders.map(({ orderId, expiredAt }) => ({
        orderId,
        expiredAt,
        idempotencyKey: idempotencyKey(EXPIRE_ITEM_SCOPE, orderId),
      }));
      return batch(exchangeExpireOrders, items, run, itemResults, scope);
    },
    async deposits({ statuses, limit, cursor, createdBefore }, scope) {
      const path = withQuery(exchangeDeposits.path, {
        status: statuses.join(','),
        limit: String(limit),
        cursor,
        createdBefore,
      });
      return (await get(path, depositsResponse, scope)) ?? { items: [], nextCursor: null };
    },
    async updateConfirmations(depositId, confirmations, scope) {
      const key = idempotencyKey(exchangeUpdateConfirmations.idempotencyKey.scope, depositId, confirmations);
      await post(exchangeUpdateConfirmations.path, { depositId, confirmations }, key, depositResponse, scope);
    },
    async confirmDeposit(depositId, confirmations, scope) {
      const key = idempotencyKey(exchangeConfirmDeposit.idempotencyKey.scope, depositId, confirmations);
      await post(exchangeConfirmDeposit.path, { depositId, confirmations }, key, depositResponse, scope);
    },
    creditBalance(request, creditAttempt, scope) {
      return sink.call(
        {
          service: 'exchange',
          path: exchangeCreditBalance.path,
          body: request,
          idempotencyKey: idempotencyKey(
            exchangeCreditBalance.idempotencyKey.scope,
            request.depositId,
            creditAttempt,
          ),
          responseSchema: balanceResponse,
        },
        scope,
      );
    },
    async markCredited(depositId, creditAttempt, scope) {
      const key = idempotencyKey(exchangeMarkCredited.idempotencyKey.scope, depositId);
      await post(exchangeMarkCredited.path, { depositId, creditAttempt }, key, depositResponse, scope);
    },
    async markFailed(request, scope) {
      const key = idempotencyKey(
        exchangeMarkFailed.idempotencyKey.scope,
        request.depositId,
        request.creditAttempt,
      );
      await post(exchangeMarkFailed.path, request, key, depositResponse, scope);
    },
    retryDeposit(depositId, requestId, scope) {
      return sink.call(
        {
          service: 'exchange',
          path: exchangeRetryDeposit.path,
          body: { depositId, requestId },
          idempotencyKey: idempotencyKey(exchangeRetryDeposit.idempotencyKey.scope, depositId, requestId),
          responseSchema: depositResponse,
        },
        scope,
      );
    },
    async depositStats(scope) {
      return required(await get(exchangeDepositStats.path, depositStatsResponse, scope), 'deposit stats');
    },
    async blockchainStatus(scope) {
      return required(
        await get(exchangeBlockchainStatus.path, blockchainStatusResponse, scope),
        'blockchain status',
      );
    },
    async reinitializeMonitor(requestedAt, scope) {
      const key = idempotencyKey(exchangeReinitializeMonitor.idempotencyKey.scope, new Date(requestedAt));
      const answer = await post(
        exchangeReinitializeMonitor.path,
        { requestedAt },
        key,
        reinitializeMonitorResponse,
        scope,
      );
      return answer?.active ?? false;
    },
    async scan(through, scope) {
      const key = idempotencyKey(exchangeScan.idempotencyKey.scope, new Date(through));
      return (await post(exchangeScan.path, { through }, key, scanResponse, scope)) ?? { chains: [] };
    },
  };
}
