// exchange.orders.expire (seed 002 §3 Order Expiration Worker): every 10 s, orders past expiresAt are expired in
// bounded batches: removed from the matching engine, their balance unlocked (the seed's formula, exact minor units),
// order.expired and balance.unlocked published, then marked EXPIRED. Every step is idempotent per order id (keys,
// derived event ids), and the status comes last, so a crash or failure anywhere leaves the order listed and the next
// run finishes it: each order is unlocked and announced once, however often a batch is retried.
import { errorMessage } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import { DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CallScope } from '../../sinks/http-sink.js';
import type { PackJob } from '../catalog.js';
import { derivedEventId } from '../due-sweeper.js';
import type { PackContext } from '../pack-context.js';
import { orderUnlock } from './exchange-amounts.js';
import type {
  ExchangeClient,
  ExpiredOrder,
  ItemResult,
  RemovedOrder,
  RemoveResult,
} from './exchange-client.js';
import type { ExchangeSettings } from './exchange-settings.js';
import { exchangeSchedule, exchangeTickJob } from './exchange-tick-job.js';
import type { ExchangeEventMap } from './events.js';
import { WORKER_TYPES } from './modules-set.js';

export const ORDER_EXPIRATION_JOB = 'exchange.orders.expire';
/** 002 §3 `@Cron(CronExpression.EVERY_10_SECONDS)`. */
export const ORDER_EXPIRATION_DEFAULT_SPEC = '*/10 * * * * *';

type OrderExpired = ExchangeEventMap['order.expired'];
type BalanceUnlocked = ExchangeEventMap['balance.unlocked'];

/** Event ids derived from the order (time part: its expiresAt), so a retried batch publishes nothing twice. */
export function orderExpiredEventId(order: Pick<ExpiredOrder, 'orderId' | 'expiresAt'>): string {
  return derivedEventId(Date.parse(order.expiresAt), 'order.expired', order.orderId);
}

export function balanceUnlockedEventId(order: Pick<ExpiredOrder, 'orderId' | 'expiresAt'>): string {
  return derivedEventId(Date.parse(order.expiresAt), 'balance.unlocked', order.orderId);
}

/** The facts of one expiration: order.expired always, balance.unlocked when something was locked. */
export function expirationEvents(
  order: ExpiredOrder,
  removed: RemovedOrder,
  expiredAt: string,
  source: string,
): EventEnvelope[] {
  const unlock = orderUnlock({ ...order, ...removed });
  const common = { occurredAt: expiredAt, source, schemaVersion: 1 };
  const expired: EventEnvelope<OrderExpired> = {
    ...common,
    id: orderExpiredEventId(order),
    type: 'order.expired',
    key: order.orderId,
    data: {
      orderId: order.orderId,
      userId: order.userId,
      pairId: order.pairId,
      side: order.side,
      price: order.price,
      quantity: order.quantity,
      remainingQuantity: removed.remainingQuantity,
      expiresAt: order.expiresAt,
      expiredAt,
    },
  };
  if (unlock.amount === 0n) return [expired];
  const unlocked: EventEnvelope<BalanceUnlocked> = {
    ...common,
    id: balanceUnlockedEventId(order),
    type: 'balance.unlocked',
    key: order.userId,
    data: {
      userId: order.userId,
      asset: unlock.asset,
      amount: unlock.amount.toString(),
      reason: 'order_expired',
      orderId: order.orderId,
    },
  };
  return [expired, unlocked];
}

/** What became of the orders of one page. */
export interface PageExpiration {
  readonly expired: readonly string[];
  /** Not in the book (filled or cancelled meanwhile): left to their own flow. */
  readonly gone: readonly string[];
  /**
   * Stopped at a failed step; still listed, so the next run tries again. `permanent`: the exchange said no attempt
   * can succeed (a wrong amount, not enough locked): it needs an operator.
   */
  readonly failed: readonly ExpirationFailure[];
}

export interface ExpirationFailure {
  readonly orderId: string;
  readonly reason: string;
  readonly permanent: boolean;
}

interface Removed {
  readonly order: ExpiredOrder;
  readonly state: RemovedOrder;
  readonly amount: bigint;
  readonly asset: string;
}

/** JobSignals.alertRaised name when an order cannot be expired by any attempt. */
export const ORDER_EXPIRATION_ALERT = 'exchange.order_expiration_refused';

function itemFailure(orderId: string, result: ItemResult | RemoveResult | undefined): ExpirationFailure {
  if (result === undefined) return { orderId, reason: 'no result for it', permanent: false };
  if (result.ok) return { orderId, reason: 'ok', permanent: false };
  return { orderId, reason: `${result.error.code}: ${result.error.message}`, permanent: !result.retryable };
}

/**
 * Expires one page of orders, step by step in batches: each order goes on to the next step only when the previous
 * one succeeded for it, and failures stay with their order (the seed's "continues on individual order failures").
 */
export async function expirePage(
  context: PackContext,
  exchange: ExchangeClient,
  orders: readonly ExpiredOrder[],
  expiredAt: string,
  scope: CallScope,
): Promise<PageExpiration> {
  const failed: ExpirationFailure[] = [];
  // a failed call (transport, 5xx, a broken contract) is retried with the order by the next run
  const failAll = (ids: readonly string[], error: unknown): void => {
    for (const orderId of ids) failed.push({ orderId, reason: errorMessage(error), permanent: false });
  };

  // 1. out of the book: no fill can change an order after this; its result is its final state (replayed per key)
  let removals: ReadonlyMap<string, RemoveResult>;
  try {
    removals = await exchange.removeOrders(orders, expiredAt, scope);
  } catch (error) {
    failAll(
      orders.map((order) => order.orderId),
      error,
    );
    return { expired: [], gone: [], failed };
  }
  const removed: Removed[] = [];
  const gone: string[] = [];
  for (const order of orders) {
    const result = removals.get(order.orderId);
    if (result?.ok !== true) failed.push(itemFailure(order.orderId, result));
    else if (!result.removed) gone.push(order.orderId);
    else {
      try {
        const unlock = orderUnlock({ ...order, ...result });
        removed.push({ order, state: result, ...unlock });
      } catch (error) {
        failAll([order.orderId], error);
      }
    }
  }

  // 2. unlock exactly what each order still locks
  const toUnlock = removed.filter((entry) => entry.amount > 0n);
  let unlocks: ReadonlyMap<string, ItemResult> = new Map();
  let unlockCallFailed = false;
  try {
    unlocks = await exchange.unlockBalances(
      toUnlock.map(({ order, asset, amount }) => ({
        userId: order.userId,
        asset,
        amount: amount.toString(),
        orderId: order.orderId,
      })),
      expiredAt,
      scope,
    );
  } catch (error) {
    unlockCallFailed = true;
    failAll(
      toUnlock.map((entry) => entry.order.orderId),
      error,
    );
  }
  const unlocked = removed.filter((entry) => {
    if (entry.amount === 0n) return true;
    const result = unlocks.get(entry.order.orderId);
    if (result?.ok === true) return true;
    // an order of a failed call is already counted
    if (!unlockCallFailed) failed.push(itemFailure(entry.order.orderId, result));
    return false;
  });
  if (unlocked.length === 0) return { expired: [], gone, failed };

  // 3. the facts, deduplicated by their derived ids (a failure here leaves every order of the step listed)
  try {
    await context.publisher.publishBatch(
      unlocked.flatMap(({ order, state }) =>
        expirationEvents(order, state, expiredAt, context.config.service.id),
      ),
    );
  } catch (error) {
    failAll(
      unlocked.map((entry) => entry.order.orderId),
      error,
    );
    return { expired: [], gone, failed };
  }

  // 4. last: EXPIRED takes an order off the list, so every step above is done before it can be forgotten
  let marks: ReadonlyMap<string, ItemResult>;
  try {
    marks = await exchange.expireOrders(
      unlocked.map(({ order }) => ({ orderId: order.orderId, expiredAt })),
      expiredAt,
      scope,
    );
  } catch (error) {
    failAll(
      unlocked.map((entry) => entry.order.orderId),
      error,
    );
    return { expired: [], gone, failed };
  }
  const expired: string[] = [];
  for (const { order } of unlocked) {
    const result = marks.get(order.orderId);
    if (result?.ok === true) expired.push(order.orderId);
    else failed.push(itemFailure(order.orderId, result));
  }
  return { expired, gone, failed };
}

export function orderExpirationJob(settings: ExchangeSettings): PackJob {
  const { batch, maxBatches } = settings.orders;
  return {
    catalog: {
      name: ORDER_EXPIRATION_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: [WORKER_TYPES.orders],
      enableFlag: 'ENABLE_EXCHANGE_ORDER_EXPIRATION',
      enabledByDefault: false,
    },
    // the next run finds every order a missed one would have: one run after a downtime is enough
    schedules: [exchangeSchedule(ORDER_EXPIRATION_JOB, ORDER_EXPIRATION_DEFAULT_SPEC, 'once')],
    definition: (context) =>
      exchangeTickJob(context, {
        name: ORDER_EXPIRATION_JOB,
        run: async ({ event, scope, exchange, logger, job }) => {
          const started = context.clock.now();
          const before = event.data.tick;
          let cursor: string | undefined;
          let batches = 0;
          let expired = 0;
          let gone = 0;
          let failed = 0;
          let refused = 0;
          const sample: string[] = [];
          do {
            if (job.signal.aborted) break;
            let page;
            try {
              page = await exchange.expiredOrders({ before, limit: batch, cursor }, scope);
            } catch (error) {
              // nothing done yet: the run failed (retried); otherwise keep what was done, the next run goes on
              if (batches === 0) throw error;
              logger.warn({ batches, err: errorMessage(error) }, 'expired-orders page failed, run cut short');
              break;
            }
            batches += 1;
            if (page.items.length === 0) break;
            const result = await expirePage(context, exchange, page.items, before, scope);
            expired += result.expired.length;
            gone += result.gone.length;
            failed += result.failed.length;
            refused += result.failed.filter((failure) => failure.permanent).length;
            for (const failure of result.failed.slice(0, 5 - sample.length)) {
              sample.push(`${failure.orderId}: ${failure.reason}`);
            }
            cursor = page.nextCursor ?? undefined;
          } while (cursor !== undefined && batches < maxBatches);
          const ms = context.clock.now() - started;
          if (refused > 0) {
            context.signals.alertRaised(ORDER_EXPIRATION_ALERT);
            logger.error(
              { expired, gone, failed, refused, sample, batches, ms },
              `${refused} expired orders refused by the exchange: they stay listed until an operator fixes them`,
            );
          } else if (failed > 0) {
            logger.warn(
              { expired, gone, failed, sample, batches, ms },
              `expired ${expired} orders, ${failed} errors (retried next run)`,
            );
          } else if (expired + gone > 0) {
            logger.debug({ expired, gone, batches, ms }, `expired ${expired} orders, 0 errors`);
          }
          return undefined;
        },
      }),
  };
}
