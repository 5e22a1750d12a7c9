// Order expiration of the exchange pack in a worker against the mock exchange: engine removal, the exact unlock of
// the seed's formula (buy: remaining x price + fee, sell: remaining), order.expired / balance.unlocked once each,
// EXPIRED last; orders filled meanwhile left alone; failed steps, lost answers and a failing listing finished by a
// later run without any effect applied twice.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExchangePack } from '../../src/jobs/exchange/pack.js';
import {
  ORDER_EXPIRATION_ALERT,
  ORDER_EXPIRATION_JOB,
  balanceUnlockedEventId,
  orderExpiredEventId,
} from '../../src/jobs/exchange/order-expiration.js';
import { NEVER, startPackWorker, type PackWorker } from '../support/job-pack-worker.js';
import {
  exchangeEnv,
  exchangeEvents,
  lockOf,
  startMockExchange,
  type MockExchange,
  type OrderSpec,
} from '../support/mock-exchange.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let exchange: MockExchange;
let running: PackWorker | undefined;
let run = 0;

const T0 = Date.parse('2026-11-23T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const UNLOCK = 'POST /internal/v1/balances/unlock';
const EXPIRE = 'POST /internal/v1/orders/expire';
const REMOVE = 'POST /internal/v1/matching-engine/orders/remove';
const LIST = 'GET /internal/v1/orders/expired';

// a fresh exchange per test, so no order of one test is listed in another
beforeEach(async () => {
  exchange = await startMockExchange();
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await exchange.close();
});

async function start(extra: Record<string, string> = {}): Promise<PackWorker> {
  run += 1;
  const env = {
    ...exchangeEnv(exchange),
    ENABLE_EXCHANGE_ORDER_EXPIRATION: 'true',
    CRON_EXCHANGE_ORDERS_EXPIRE: NEVER,
    ...extra,
  };
  running = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: `${prefix}-${run}`,
    pack: createExchangePack(env),
    env,
  });
  return running;
}

/** Runs one expiration tick and waits for its final outcome. */
async function expireAt(w: PackWorker, tickMs: number): Promise<void> {
  const id = await w.tick(ORDER_EXPIRATION_JOB, ORDER_EXPIRATION_JOB, tickMs);
  await w.waitOutcome((o) => o.eventId === id && o.kind !== 'retry', `expiration tick ${iso(tickMs)}`);
}

function btcOrder(orderId: string, userId: string, side: 'BUY' | 'SELL', extra: Partial<OrderSpec> = {}) {
  return {
    orderId,
    userId,
    pairId: 'btc-usdt',
    side,
    // 64,250.12 USDT per BTC in cents; quantities in satoshi
    price: 6_425_012n,
    quantity: 50_000_000n,
    fee: side === 'BUY' ? 3_213n : 0n,
    baseDecimals: 8,
    baseAsset: 'BTC',
    quoteAsset: 'USDT',
    expiresAt: iso(T0 - 60_000),
    ...extra,
  } satisfies OrderSpec;
}

describe('exchange.orders.expire', () => {
  it('removes, unlocks exactly, announces and expires buy and sell orders; leaves filled and future ones', async () => {
    exchange.fund('u1', 'USDT', 10_000_000n);
    exchange.fund('u2', 'BTC', 500_000_000n);
    const buy = exchange.placeOrder(btcOrder('o-buy', 'u1', 'BUY'));
    exchange.fill('o-buy', 12_345_679n); // leaves a remainder whose quote value is not whole cents
    const sell = exchange.placeOrder(btcOrder('o-sell', 'u2', 'SELL', { quantity: 100_000_000n }));
    exchange.fill('o-sell', 30_000_000n);
    exchange.placeOrder(btcOrder('o-gone', 'u1', 'BUY', { quantity: 1_000_000n }));
    exchange.leaveBook('o-gone'); // the engine filled it; the order service has not caught up yet
    exchange.placeOrder(
      btcOrder('o-later', 'u1', 'BUY', { quantity: 1_000_000n, expiresAt: iso(T0 + 60_000) }),
    );
    const buyLock = lockOf(buy);
    const sellLock = lockOf(sell);
    // the seed's formula on the remainder, rounded up like the lock
    expect(buyLock).toBe((37_654_321n * 6_425_012n + 99_999_999n) / 100_000_000n + buy.reservedFee);
    expect(sellLock).toBe(70_000_000n);
    const lockedBefore = exchange.balance('u1', 'USDT').locked;

    const w = await start();
    expect(w.worker.jobs).toEqual([ORDER_EXPIRATION_JOB]);
    await expireAt(w, T0);

    expect(exchange.order('o-buy')?.status).toBe('EXPIRED');
    expect(exchange.order('o-sell')?.status).toBe('EXPIRED');
    expect(exchange.order('o-gone')?.status).toBe('OPEN');
    expect(exchange.order('o-later')).toMatchObject({ status: 'OPEN', inBook: true });
    expect(exchange.unlocks.get('o-gone')).toBeUndefined();
    expect(exchange.balance('u1', 'USDT').locked).toBe(lockedBefore - buyLock);
    expect(exchange.balance('u2', 'BTC')).toEqual({
      available: 500_000_000n - 30_000_000n,
      locked: 0n,
    });
    expect(exchange.balance('u2', 'BTC').available + exchange.spent('u2', 'BTC')).toBe(500_000_000n);

    const expired = await exchangeEvents(db.redis, w.keys, 'order.expired');
    expect(expired.map((e) => e.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ orderId: 'o-buy', remainingQuantity: '37654321', expiredAt: iso(T0) }),
        expect.objectContaining({ orderId: 'o-sell', side: 'SELL', remainingQuantity: '70000000' }),
      ]),
    );
    expect(expired).toHaveLength(2);
    expect(expired.find((e) => e.key === 'o-buy')?.id).toBe(
      orderExpiredEventId(btcOrder('o-buy', 'u1', 'BUY')),
    );
    const unlocked = await exchangeEvents(db.redis, w.keys, 'balance.unlocked');
    expect(unlocked.map((e) => e.data)).toEqual(
      expect.arrayContaining([
        {
          userId: 'u1',
          asset: 'USDT',
          amount: buyLock.toString(),
          reason: 'order_expired',
          orderId: 'o-buy',
        },
        { userId: 'u2', asset: 'BTC', amount: '70000000', reason: 'order_expired', orderId: 'o-sell' },
      ]),
    );
    expect(unlocked).toHaveLength(2);
    expect(unlocked.find((e) => e.data && (e.data as { orderId: string }).orderId === 'o-sell')?.id).toBe(
      balanceUnlockedEventId(btcOrder('o-sell', 'u2', 'SELL')),
    );
    expect(exchange.appliedTwice()).toBe(0);
  });

  it('finishes orders whose steps failed in later runs, applying and announcing each once', async () => {
    exchange.fund('u3', 'USDT', 10_000_000n);
    const ids = ['f1', 'f2', 'f3', 'f4'];
    for (const id of ids) {
      exchange.placeOrder(btcOrder(id, 'u3', 'BUY', { quantity: 1_000_000n, expiresAt: iso(T0 + 1_000) }));
    }
    // one failure per run, each on a later step: the removals' answer lost after they applied, then the unlocks'
    // answer lost, then the EXPIRED marks refused; plus single items failing on their own
    exchange.fault(REMOVE, { reset: 'after' });
    exchange.fault(UNLOCK, { reset: 'after' });
    exchange.fault(EXPIRE, { status: 500, code: 'INTERNAL' });
    exchange.itemFaultRate(UNLOCK, 0.3);
    exchange.itemFaultRate(EXPIRE, 0.3);

    const w = await start();
    const expiredCount = (): number => ids.filter((id) => exchange.order(id)?.status === 'EXPIRED').length;
    for (let tick = 1; tick <= 3; tick++) {
      await expireAt(w, T0 + tick * 1_000);
      expect(expiredCount()).toBe(0);
    }
    // all three steps of every order were tried by now; the item faults may still hold some back
    expect(exchange.requestsTo(EXPIRE)).toBeGreaterThanOrEqual(1);
    exchange.itemFaultRate(UNLOCK, 0);
    exchange.itemFaultRate(EXPIRE, 0);
    await expireAt(w, T0 + 4_000);
    expect(expiredCount()).toBe(4);

    for (const id of ids) expect(exchange.unlocks.get(id)).toBe(1);
    expect(exchange.duplicateUnlocks).toBe(0);
    expect(exchange.balance('u3', 'USDT')).toEqual({ available: 10_000_000n, locked: 0n });
    const published = (await exchangeEvents(db.redis, w.keys))
      .map((e) => `${e.type}:${(e.data as { orderId: string }).orderId}`)
      .sort();
    expect(published).toEqual(ids.flatMap((id) => [`balance.unlocked:${id}`, `order.expired:${id}`]).sort());
    expect(exchange.appliedTwice()).toBe(0);
  });

  it('leaves an order whose unlock the exchange refuses listed, raising an alert; the others expire', async () => {
    exchange.fund('u6', 'BTC', 10_000_000n);
    exchange.placeOrder(btcOrder('r1', 'u6', 'SELL', { quantity: 1_000n }));
    exchange.placeOrder(btcOrder('r2', 'u6', 'SELL', { quantity: 2_000n }));
    exchange.refuseUnlock('r1');
    const w = await start();
    await expireAt(w, T0);
    expect(exchange.order('r1')).toMatchObject({ status: 'OPEN', inBook: false });
    expect(exchange.order('r2')?.status).toBe('EXPIRED');
    expect(w.alerts).toEqual([ORDER_EXPIRATION_ALERT]);
    expect((await exchangeEvents(db.redis, w.keys)).map((e) => e.key).sort()).toEqual(['r2', 'u6']);
    expect(exchange.balance('u6', 'BTC')).toEqual({ available: 10_000_000n - 1_000n, locked: 1_000n });
  });

  it('retries a run whose listing failed, then gives the tick up without a dead letter', async () => {
    exchange.fund('u4', 'BTC', 10_000_000n);
    exchange.placeOrder(btcOrder('g1', 'u4', 'SELL', { quantity: 1_000n, expiresAt: iso(T0 + 30_000) }));
    exchange.fault(LIST, { status: 503 }, { status: 503 }, { status: 503 });
    const w = await start();
    const id = await w.tick(ORDER_EXPIRATION_JOB, ORDER_EXPIRATION_JOB, T0 + 40_000);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the tick given up');
    expect(w.outcomesOf(ORDER_EXPIRATION_JOB).map((o) => o.kind)).toEqual(['retry', 'retry', 'ack']);
    expect(exchange.order('g1')?.status).toBe('OPEN');
    expect(await db.redis.xlen(w.keys.partition('cron', 0).dlq)).toBe(0);
    expect(await db.redis.xlen(w.keys.partition('cron', 1).dlq)).toBe(0);
    // the next tick expires it
    await expireAt(w, T0 + 50_000);
    expect(exchange.order('g1')?.status).toBe('EXPIRED');
    expect(exchange.balance('u4', 'BTC')).toEqual({ available: 10_000_000n, locked: 0n });
  });

  it('pages through the expired orders in bounded batches, the rest in the next run', async () => {
    exchange.fund('u5', 'BTC', 10_000_000n);
    const ids = Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      exchange.placeOrder(btcOrder(id, 'u5', 'SELL', { quantity: 1_000n, expiresAt: iso(T0 + 60_000) }));
    }
    const w = await start({ EXCHANGE_ORDER_EXPIRE_BATCH: '10', EXCHANGE_ORDER_EXPIRE_MAX_BATCHES: '2' });
    const listed = exchange.requestsTo(LIST);
    await expireAt(w, T0 + 70_000);
    expect(ids.filter((id) => exchange.order(id)?.status === 'EXPIRED')).toHaveLength(20);
    expect(exchange.requestsTo(LIST) - listed).toBe(2);
    await expireAt(w, T0 + 80_000);
    expect(ids.every((id) => exchange.order(id)?.status === 'EXPIRED')).toBe(true);
    expect(exchange.balance('u5', 'BTC')).toEqual({ available: 10_000_000n, locked: 0n });
  });
});
