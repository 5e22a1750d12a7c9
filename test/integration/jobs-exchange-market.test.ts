// Market data jobs of the exchange pack in a worker against the mock exchange: 24 h tickers of every active pair
// (change and percentage exact, a failing pair isolated, short TTL, a tick skipped while the previous run goes on),
// and candles: trade events into bars, closed on each interval's boundary with flat candles for quiet periods, gaps
// after missed closes filled from the bars, the close delayed for trades in flight, a late tick not overwriting.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { CANDLE_CLOSE_JOB, CANDLE_SCHEDULES, type Candle } from '../../src/jobs/exchange/candle-close.js';
import { CANDLE_TRADES_JOB } from '../../src/jobs/exchange/candle-trades.js';
import { derivedEventId } from '../../src/jobs/due-sweeper.js';
import { createExchangePack } from '../../src/jobs/exchange/pack.js';
import { TICKER_CACHE_NAMESPACE, TICKER_JOB } from '../../src/jobs/exchange/ticker-update.js';
import { NEVER, startPackWorker, type PackWorker } from '../support/job-pack-worker.js';
import { exchangeEnv, startMockExchange, type MockExchange } from '../support/mock-exchange.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';
import type { BarInterval } from '../../src/sinks/bar-writer.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let exchange: MockExchange;
let running: PackWorker | undefined;
let run = 0;

const TICKERS = 'GET /internal/v1/market-data/ticker-24h';
const PAIRS = 'GET /internal/v1/market-data/pairs';
// a Monday noon in the past: every boundary below (the next Monday, the 1st of the month) has passed
const NOON = Date.parse('2026-10-26T12:00:00.000Z');
const MINUTE = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const neverCandles = Object.fromEntries(
  Object.values(CANDLE_SCHEDULES).map(({ name }) => [
    `CRON_${name.toUpperCase().replace(/[.-]/g, '_')}`,
    NEVER,
  ]),
);

beforeEach(async () => {
  exchange = await startMockExchange();
  exchange.addPair(pair('btc-usdt', 'BTC/USDT', 8));
  exchange.addPair(pair('eth-usdt', 'ETH/USDT', 6));
  exchange.addPair({ ...pair('doge-usdt', 'DOGE/USDT', 8), status: 'SUSPENDED' });
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await exchange.close();
});

function pair(pairId: string, symbol: string, baseDecimals: number) {
  const [base = '', quote = ''] = symbol.split('/');
  return { pairId, symbol, baseAsset: base, quoteAsset: quote, baseDecimals, quoteDecimals: 2 };
}

async function start(extra: Record<string, string>): Promise<PackWorker> {
  run += 1;
  const env = { ...exchangeEnv(exchange), CRON_EXCHANGE_TICKER: NEVER, ...neverCandles, ...extra };
  running = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: `${prefix}-${run}`,
    pack: createExchangePack(env),
    env,
  });
  return running;
}

async function cached<T>(w: PackWorker, namespace: string, id: string): Promise<T | undefined> {
  const text = await db.redis.get(w.keys.cache(namespace, id));
  return text === null ? undefined : (JSON.parse(text) as T);
}

describe('exchange.ticker', () => {
  it('caches the 24 h ticker of every active pair with exact change and percent; one failing pair is isolated', async () => {
    exchange.setTicker('btc-usdt', {
      open: '6000000',
      high: '6200000',
      low: '5900000',
      last: '6150075',
      baseVolume: '123456789',
      quoteVolume: '7654321',
      trades: 42,
    });
    exchange.setTicker('eth-usdt', {
      open: '300000',
      high: '300000',
      low: '296999',
      last: '297000',
      baseVolume: '1',
      quoteVolume: '3',
      trades: 2,
    });
    exchange.addPair(pair('sol-usdt', 'SOL/USDT', 9)); // no statistics: 404 for this pair alone
    const w = await start({ ENABLE_EXCHANGE_TICKER: 'true' });
    expect(w.worker.jobs).toEqual([TICKER_JOB]);
    const id = await w.tick(TICKER_JOB, TICKER_JOB, NOON);
    await w.waitOutcome((o) => o.eventId === id, 'the ticker run');
    expect(w.outcomesOf(TICKER_JOB).map((o) => o.kind)).toEqual(['ack']);

    expect(await cached(w, TICKER_CACHE_NAMESPACE, 'btc-usdt')).toMatchObject({
      pairId: 'btc-usdt',
      symbol: 'BTC/USDT',
      last: '6150075',
      priceChange: '150075',
      priceChangePercent: '2.50',
      trades: 42,
    });
    expect(await cached(w, TICKER_CACHE_NAMESPACE, 'eth-usdt')).toMatchObject({
      priceChange: '-3000',
      priceChangePercent: '-1.00',
    });
    expect(await cached(w, TICKER_CACHE_NAMESPACE, 'sol-usdt')).toBeUndefined();
    expect(await cached(w, TICKER_CACHE_NAMESPACE, 'doge-usdt')).toBeUndefined();
    expect(exchange.requestsTo(TICKERS)).toBe(3); // the suspended pair is not asked for
    const ttl = await db.redis.pttl(w.keys.cache(TICKER_CACHE_NAMESPACE, 'btc-usdt'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  it('skips a tick while the previous run is still going (the lock lives in Redis, shared by replicas)', async () => {
    const flat = { open: '1', high: '1', low: '1', last: '1', baseVolume: '0', quoteVolume: '0', trades: 0 };
    exchange.setTicker('btc-usdt', flat);
    exchange.setTicker('eth-usdt', flat);
    exchange.fault(TICKERS, { delayMs: 1_500 });
    const w = await start({ ENABLE_EXCHANGE_TICKER: 'true' });
    const slow = await w.tick(TICKER_JOB, TICKER_JOB, NOON + 5_000);
    await waitFor(() => exchange.requestsTo(TICKERS) > 0, 'the slow run under way');
    const skipped = await w.tick(TICKER_JOB, TICKER_JOB, NOON + 10_000);
    await w.waitOutcome((o) => o.eventId === skipped, 'the overlapping tick');
    expect(w.outcomesOf(TICKER_JOB).map((o) => o.eventId)).toEqual([skipped]);
    await w.waitOutcome((o) => o.eventId === slow, 'the slow run');
    expect(exchange.requestsTo(PAIRS)).toBe(1);
  });
});

function trade(pairId: string, tradeId: string, at: number, price: string, quantity: string): EventEnvelope {
  return {
    id: derivedEventId(at, 'trade.executed', pairId, tradeId),
    type: 'trade.executed',
    key: pairId,
    occurredAt: iso(at),
    source: 'exchange',
    schemaVersion: 1,
    data: { tradeId, pairId, price, quantity, executedAt: iso(at) },
  };
}

describe('exchange.candles', () => {
  async function startCandles(extra: Record<string, string> = {}): Promise<PackWorker> {
    const w = await start({ ENABLE_EXCHANGE_CANDLES: 'true', ...extra });
    expect(w.worker.jobs).toEqual([CANDLE_TRADES_JOB, CANDLE_CLOSE_JOB].sort());
    return w;
  }

  async function trades(w: PackWorker, events: readonly EventEnvelope[]): Promise<void> {
    for (const event of events) await w.publish(event);
    const ids = new Set(events.map((e) => e.id));
    await waitFor(
      () =>
        w.outcomes.filter((o) => o.job === CANDLE_TRADES_JOB && ids.has(o.eventId ?? '')).length >= ids.size,
      'the trades applied',
    );
  }

  async function close(w: PackWorker, interval: BarInterval, tickMs: number): Promise<void> {
    const id = await w.tick(CANDLE_SCHEDULES[interval].name, CANDLE_CLOSE_JOB, tickMs);
    await w.waitOutcome(
      (o) => o.eventId === id && o.kind === 'ack',
      `the ${interval} close at ${iso(tickMs)}`,
    );
  }

  const candle = (w: PackWorker, interval: BarInterval, pairId: string) =>
    cached<Candle>(w, `exchange.candles.${interval}`, pairId);

  it('closes each interval on its boundary for every pair, flat candles for quiet periods, no gaps', async () => {
    const w = await startCandles();
    // minute 12:00: out of order, with a duplicate trade id under another event id
    await trades(w, [
      trade('btc-usdt', '1003', NOON + 40_000, '6400000', '20000000'),
      trade('btc-usdt', '1001', NOON + 5_000, '6410000', '10000000'),
      trade('btc-usdt', '1002', NOON + 5_000, '6390000', '5000000'),
      trade('btc-usdt', '1004', NOON + 59_999, '6420000', '1'),
      { ...trade('btc-usdt', '1002', NOON + 5_000, '6390000', '5000000'), id: derivedEventId(NOON, 'again') },
      trade('eth-usdt', 'e1', NOON + 1_000, '300000', '1000000'),
    ]);
    await close(w, '1m', NOON + MINUTE);
    expect(await candle(w, '1m', 'btc-usdt')).toEqual({
      pairId: 'btc-usdt',
      symbol: 'BTC/USDT',
      interval: '1m',
      openTime: iso(NOON),
      closeTime: iso(NOON + MINUTE),
      open: '6410000', // 1001 and 1002 share the earliest time: the lower id opens
      high: '6420000',
      low: '6390000',
      close: '6420000',
      volume: '35000001',
      // (10000000 x 6410000 + 5000000 x 6390000 + 20000000 x 6400000 + 1 x 6420000) / 10^8, rounded down
      quoteVolume: '2240500',
      trades: 4,
      filled: false,
    });
    expect(await candle(w, '1m', 'eth-usdt')).toMatchObject({
      close: '300000',
      volume: '1000000',
      trades: 1,
    });
    expect(await candle(w, '1m', 'doge-usdt')).toBeUndefined();
    const ttl = await db.redis.pttl(w.keys.cache('exchange.candles.1m', 'btc-usdt'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    // a quiet minute: a flat candle at the previous close
    await close(w, '1m', NOON + 2 * MINUTE);
    expect(await candle(w, '1m', 'btc-usdt')).toMatchObject({
      openTime: iso(NOON + MINUTE),
      open: '6420000',
      high: '6420000',
      low: '6420000',
      close: '6420000',
      volume: '0',
      trades: 0,
      filled: true,
    });

    // closes of 12:03 and 12:04 missed; 12:03 traded: the 12:04 candle fills from that bar, not the old close
    await trades(w, [trade('btc-usdt', '1005', NOON + 3 * MINUTE + 1, '6500000', '100000000')]);
    await close(w, '1m', NOON + 5 * MINUTE);
    expect(await candle(w, '1m', 'btc-usdt')).toMatchObject({
      openTime: iso(NOON + 4 * MINUTE),
      close: '6500000',
      filled: true,
    });
    expect(await candle(w, '1m', 'eth-usdt')).toMatchObject({ close: '300000', filled: true });

    await close(w, '5m', NOON + 5 * MINUTE);
    expect(await candle(w, '5m', 'btc-usdt')).toMatchObject({
      openTime: iso(NOON),
      closeTime: iso(NOON + 5 * MINUTE),
      open: '6410000',
      high: '6500000',
      low: '6390000',
      close: '6500000',
      volume: '135000001',
      trades: 5,
    });
    // the longer intervals close on their own boundaries: the hour, the day, the Monday, the 1st of the month
    const bounds: [BarInterval, string, string][] = [
      ['15m', '2026-10-26T12:15:00.000Z', '2026-10-26T12:00:00.000Z'],
      ['30m', '2026-10-26T12:30:00.000Z', '2026-10-26T12:00:00.000Z'],
      ['1h', '2026-10-26T13:00:00.000Z', '2026-10-26T12:00:00.000Z'],
      ['4h', '2026-10-26T16:00:00.000Z', '2026-10-26T12:00:00.000Z'],
      ['1d', '2026-10-27T00:00:00.000Z', '2026-10-26T00:00:00.000Z'],
      ['1w', '2026-11-02T00:00:00.000Z', '2026-10-26T00:00:00.000Z'],
      ['1M', '2026-11-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z'],
    ];
    for (const [interval, tick, openTime] of bounds) {
      await close(w, interval, Date.parse(tick));
      expect(await candle(w, interval, 'btc-usdt'), interval).toMatchObject({
        interval,
        openTime,
        closeTime: tick,
        open: '6410000',
        close: '6500000',
        volume: '135000001',
        trades: 5,
        filled: false,
      });
    }
    // a late tick of an older minute does not replace the newer candle
    await close(w, '1m', NOON + MINUTE + 1);
    expect(await candle(w, '1m', 'btc-usdt')).toMatchObject({ openTime: iso(NOON + 4 * MINUTE) });
  });

  it('waits the close delay after the boundary before closing, for trades still in flight', async () => {
    const w = await startCandles({ EXCHANGE_CANDLE_CLOSE_DELAY_MS: '2500' });
    const tickMs = Date.now();
    const minute = Math.floor(tickMs / MINUTE) * MINUTE - MINUTE; // the bar this tick closes
    await trades(w, [trade('eth-usdt', 'late-1', minute + 1_000, '310000', '5')]);
    const id = await w.tick(CANDLE_SCHEDULES['1m'].name, CANDLE_CLOSE_JOB, tickMs);
    const first = await w.waitOutcome((o) => o.eventId === id, 'the first attempt');
    expect(first.kind).toBe('defer');
    // a trade of the closing minute arriving within the delay still counts
    await trades(w, [trade('eth-usdt', 'late-2', minute + MINUTE - 1, '320000', '5')]);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the close');
    expect(Date.now()).toBeGreaterThanOrEqual(tickMs + 2_500);
    expect(await candle(w, '1m', 'eth-usdt')).toMatchObject({
      openTime: iso(minute),
      open: '310000',
      close: '320000',
      trades: 2,
    });
  });
});
