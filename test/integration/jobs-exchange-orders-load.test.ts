// 10,000 expired orders, two worker replicas on one Redis and one mock exchange, lost answers and failed steps at
// random, and one replica stopped mid-run: every order is expired once, every unlock applied once with the exact
// amount, every order.expired / balance.unlocked published once, and every balance adds up to the cent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExchangePack } from '../../src/jobs/exchange/pack.js';
import { ORDER_EXPIRATION_JOB } from '../../src/jobs/exchange/order-expiration.js';
import { startPackWorker, type PackWorker } from '../support/job-pack-worker.js';
import {
  exchangeEnv,
  exchangeEvents,
  lockOf,
  startMockExchange,
  type MockExchange,
} from '../support/mock-exchange.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const ORDERS = 10_000;
const USERS = 200;
const FUNDS = 1_000_000_000_000n;
const EXPIRES_AT = '2026-11-23T12:00:00.000Z';
const REMOVE = 'POST /internal/v1/matching-engine/orders/remove';
const UNLOCK = 'POST /internal/v1/balances/unlock';
const EXPIRE = 'POST /internal/v1/orders/expire';
let exchange: MockExchange;

beforeAll(async () => {
  exchange = await startMockExchange({ seed: 7 });
});
afterAll(async () => {
  await exchange.close();
});

describe('exchange.orders.expire under load', () => {
  it('expires 10,000 orders exactly once each with two replicas, faults and a replica stopped mid-run', async () => {
    const expected = new Map<string, { asset: string; amount: bigint }>();
    for (let u = 0; u < USERS; u++) {
      exchange.fund(`u${u}`, 'USDT', FUNDS);
      exchange.fund(`u${u}`, 'BTC', FUNDS);
    }
    for (let i = 0; i < ORDERS; i++) {
      const side = i % 2 === 0 ? 'BUY' : 'SELL';
      const orderId = `o${String(i).padStart(5, '0')}`;
      const order = exchange.placeOrder({
        orderId,
        userId: `u${i % USERS}`,
        pairId: 'btc-usdt',
        side,
        price: 6_000_000n + BigInt((i * 104_729) % 500_000),
        quantity: 1_000_000n + BigInt((i * 7_919) % 1_000_000),
        fee: side === 'BUY' ? BigInt(1 + (i % 997)) : 0n,
        baseDecimals: 8,
        baseAsset: 'BTC',
        quoteAsset: 'USDT',
        expiresAt: EXPIRES_AT,
      });
      if (i % 3 === 0) exchange.fill(orderId, order.quantity / 3n + 1n);
      expected.set(orderId, { asset: side === 'BUY' ? 'USDT' : 'BTC', amount: lockOf(order) });
    }
    // on every step: whole batches whose answer is lost after they applied or refused before, and single items
    exchange.faultRate(REMOVE, 0.1, { reset: 'after' });
    exchange.faultRate(UNLOCK, 0.1, { reset: 'after' });
    exchange.faultRate(EXPIRE, 0.1, { status: 503, code: 'UNAVAILABLE' });
    exchange.itemFaultRate(UNLOCK, 0.02);
    exchange.itemFaultRate(EXPIRE, 0.02);

    const env = {
      ...exchangeEnv(exchange),
      ENABLE_EXCHANGE_ORDER_EXPIRATION: 'true',
      CRON_EXCHANGE_ORDERS_EXPIRE: '1s',
      EXCHANGE_ORDER_EXPIRE_BATCH: '500',
      EXCHANGE_ORDER_EXPIRE_MAX_BATCHES: '10',
      HANDLER_TIMEOUT_MS: '20000',
      SCHEDULER_LOCK_TTL_MS: '30000',
    };
    const replica = (): Promise<PackWorker> =>
      startPackWorker({
        redis: db.redis,
        redisUrl: db.server.url,
        prefix,
        pack: createExchangePack(env),
        env,
      });
    const [a, b] = await Promise.all([replica(), replica()]);
    const expiredCount = (): number =>
      [...expected.keys()].filter((id) => exchange.order(id)?.status === 'EXPIRED').length;

    // one replica goes away in the middle of a run, aborting it; the other finishes. A run is going on while the
    // schedule's overlap lock is held, and it is the run of the replica holding a tick while the other holds none
    const lock = a.keys.cronLock(ORDER_EXPIRATION_JOB);
    const held = (w: PackWorker): number => w.worker.runners[0]?.heldCount() ?? 0;
    let stopped: PackWorker | undefined;
    let survivor: PackWorker | undefined;
    await waitFor(
      async () => {
        if (expiredCount() < ORDERS / 4 || (await db.redis.exists(lock)) !== 1) return false;
        if (held(a) > 0 && held(b) === 0) [stopped, survivor] = [a, b];
        else if (held(b) > 0 && held(a) === 0) [stopped, survivor] = [b, a];
        return stopped !== undefined;
      },
      'a quarter expired, and a run going on',
      30_000,
    );
    if (stopped === undefined || survivor === undefined) throw new Error('no run to interrupt');
    await stopped.worker.stop(0);
    // orders the stopped replica took out of the book without marking them yet: the survivor finishes them, once
    const inFlight = [...expected.keys()].filter((id) => {
      const order = exchange.order(id);
      return order?.inBook === false && order.status !== 'EXPIRED';
    });
    expect(expiredCount()).toBeLessThan(ORDERS);
    await waitFor(() => expiredCount() === ORDERS, 'every order expired', 30_000);
    await survivor.stop();

    // the survivor ran the rest, the orders the stopped replica left half done included
    expect(survivor.outcomesOf(ORDER_EXPIRATION_JOB).length).toBeGreaterThan(0);
    for (const id of inFlight) expect(exchange.order(id)?.status).toBe('EXPIRED');
    // every effect once: by key, and per order whatever the key
    expect(exchange.appliedTwice()).toBe(0);
    expect(exchange.duplicateUnlocks).toBe(0);
    for (const id of expected.keys()) expect(exchange.unlocks.get(id)).toBe(1);
    for (let u = 0; u < USERS; u++) {
      for (const asset of ['USDT', 'BTC']) {
        const balance = exchange.balance(`u${u}`, asset);
        expect(balance.locked).toBe(0n);
        expect(balance.available + exchange.spent(`u${u}`, asset)).toBe(FUNDS);
      }
    }
    const expiredEvents = await exchangeEvents(db.redis, a.keys, 'order.expired');
    expect(expiredEvents).toHaveLength(ORDERS);
    expect(new Set(expiredEvents.map((e) => e.key)).size).toBe(ORDERS);
    const unlocked = await exchangeEvents(db.redis, a.keys, 'balance.unlocked');
    expect(unlocked).toHaveLength(ORDERS);
    for (const event of unlocked) {
      const data = event.data as { orderId: string; asset: string; amount: string };
      const want = expected.get(data.orderId);
      expect({ asset: data.asset, amount: data.amount }).toEqual({
        asset: want?.asset,
        amount: want?.amount.toString(),
      });
    }
    expect(new Set(unlocked.map((e) => (e.data as { orderId: string }).orderId)).size).toBe(ORDERS);
  });
});
