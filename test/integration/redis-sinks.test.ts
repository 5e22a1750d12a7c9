// The Redis sinks on a real redis-server: the cache writer (value + TTL) and the OHLCV bar writer (one script per
// bar, exact integer arithmetic, out-of-order and repeated trades, UTC bar boundaries of every interval).
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { ScriptError, ValidationError } from '../../src/errors.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { runScript } from '../../src/streams/scripts.js';
import {
  BAR_INTERVALS,
  barEnd,
  barStart,
  createBarWriter,
  type Bar,
  type BarInterval,
  type Trade,
} from '../../src/sinks/bar-writer.js';
import { createCacheWriter } from '../../src/sinks/cache-writer.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const env = useRedisPerFile();
const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
const cache = () => createCacheWriter({ redis: env.redis, keys });
const bars = () => createBarWriter({ redis: env.redis, keys });

/** Keys of this file's prefix holding anything about a symbol (bars and trade-id sets). */
async function symbolKeys(symbol: string): Promise<string[]> {
  return env.redis.keys(`{${keys.prefix}:bars:${symbol}}*`);
}

describe('cache writer', () => {
  it('stores a JSON value with its TTL and reads it back', async () => {
    const writer = cache();
    const ticker = { last: '6412.50', volume: 1234, change: -0.5 };
    await writer.put('ticker', 'BTC/USDT', ticker, 5_000);
    expect(await writer.get('ticker', 'BTC/USDT')).toEqual(ticker);
    const pttl = await env.redis.pttl(keys.cache('ticker', 'BTC/USDT'));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(5_000);
    expect(await writer.get('ticker', 'ETH/USDT')).toBeUndefined();
  });

  it('writes many values in one pipeline, each with its own TTL', async () => {
    const writer = cache();
    await writer.putMany([
      { namespace: 'candles', id: 'BTC/USDT:1m', value: [1, 2, 3], ttlMs: 60_000 },
      { namespace: 'candles', id: 'ETH/USDT:1m', value: { open: '1' }, ttlMs: 30_000 },
      { namespace: 'ticker', id: 'SOL/USDT', value: null, ttlMs: 5_000 },
    ]);
    expect(await writer.get('candles', 'BTC/USDT:1m')).toEqual([1, 2, 3]);
    expect(await writer.get('candles', 'ETH/USDT:1m')).toEqual({ open: '1' });
    expect(await writer.get('ticker', 'SOL/USDT')).toBeNull();
    const ttls = await Promise.all(
      [
        ['candles', 'BTC/USDT:1m'],
        ['candles', 'ETH/USDT:1m'],
        ['ticker', 'SOL/USDT'],
      ].map(([namespace, id]) => env.redis.pttl(keys.cache(namespace!, id!))),
    );
    expect(ttls[0]).toBeGreaterThan(30_000);
    expect(ttls[1]).toBeGreaterThan(5_000);
    expect(ttls[1]).toBeLessThanOrEqual(30_000);
    expect(ttls[2]).toBeGreaterThan(0);
    expect(ttls[2]).toBeLessThanOrEqual(5_000);
    await writer.putMany([]);
  });

  it('refuses a TTL <= 0, values that are not JSON and bad names, writing nothing', async () => {
    const writer = cache();
    for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(writer.put('ticker', 'BAD/TTL', 1, ttl)).rejects.toThrow(ValidationError);
    }
    await expect(writer.put('ticker', 'BAD/VALUE', undefined, 1_000)).rejects.toThrow(ValidationError);
    await expect(writer.put('ticker', 'BAD/VALUE', 10n, 1_000)).rejects.toThrow(ValidationError);
    await expect(writer.put('tick:er', 'X', 1, 1_000)).rejects.toThrow(ValidationError);
    await expect(writer.put('ticker', '{X}', 1, 1_000)).rejects.toThrow(ValidationError);
    await expect(
      writer.putMany([
        { namespace: 'ticker', id: 'GOOD', value: 1, ttlMs: 1_000 },
        { namespace: 'ticker', id: 'BAD', value: 1, ttlMs: 0 },
      ]),
    ).rejects.toThrow(ValidationError);
    expect(await env.redis.keys(`${keys.prefix}:cache:ticker:BAD*`)).toEqual([]);
    expect(await writer.get('ticker', 'GOOD')).toBeUndefined();
  });
});

const utc = (iso: string): number => DateTime.fromISO(iso, { zone: 'utc' }).toMillis();

describe('bar boundaries (UTC)', () => {
  it('puts a time in the bar of each interval', () => {
    // 2024-03-10 is a Sunday; 2024 is a leap year
    const ts = utc('2024-03-10T13:47:56.789Z');
    const expected: Record<BarInterval, string> = {
      '1m': '2024-03-10T13:47:00.000Z',
      '5m': '2024-03-10T13:45:00.000Z',
      '15m': '2024-03-10T13:45:00.000Z',
      '30m': '2024-03-10T13:30:00.000Z',
      '1h': '2024-03-10T13:00:00.000Z',
      '4h': '2024-03-10T12:00:00.000Z',
      '1d': '2024-03-10T00:00:00.000Z',
      '1w': '2024-03-04T00:00:00.000Z',
      '1M': '2024-03-01T00:00:00.000Z',
    };
    for (const interval of BAR_INTERVALS) {
      expect(new Date(barStart(interval, ts)).toISOString(), interval).toBe(expected[interval]);
    }
    expect(new Date(barEnd('1M', utc('2024-02-01T00:00:00Z'))).toISOString()).toBe(
      '2024-03-01T00:00:00.000Z',
    );
    expect(new Date(barEnd('1M', utc('2024-12-01T00:00:00Z'))).toISOString()).toBe(
      '2025-01-01T00:00:00.000Z',
    );
    expect(new Date(barStart('1w', utc('2024-03-11T00:00:00Z'))).toISOString()).toBe(
      '2024-03-11T00:00:00.000Z',
    );
    expect(new Date(barStart('1w', utc('2024-03-10T23:59:59.999Z'))).toISOString()).toBe(
      '2024-03-04T00:00:00.000Z',
    );
    // ISO week 1 of 2025 starts on Monday 2024-12-30
    expect(new Date(barStart('1w', utc('2025-01-01T10:00:00Z'))).toISOString()).toBe(
      '2024-12-30T00:00:00.000Z',
    );
    expect(new Date(barStart('4h', utc('2024-03-10T03:59:59.999Z'))).toISOString()).toBe(
      '2024-03-10T00:00:00.000Z',
    );
  });

  it('agrees with luxon (UTC) at and around every boundary', () => {
    const luxonUnit = {
      '1d': 'day',
      '1w': 'week',
      '1M': 'month',
    } as const;
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const from = utc('2023-01-01T00:00:00Z');
    const span = utc('2026-01-01T00:00:00Z') - from;
    for (let i = 0; i < 300; i++) {
      const ts = from + Math.floor(random() * span);
      for (const interval of BAR_INTERVALS) {
        const start = barStart(interval, ts);
        const end = barEnd(interval, start);
        expect(start).toBeLessThanOrEqual(ts);
        expect(ts).toBeLessThan(end);
        // the last ms of a bar belongs to it, the next ms opens the next bar
        expect(barStart(interval, end - 1)).toBe(start);
        expect(barStart(interval, end)).toBe(end);
        if (interval in luxonUnit) {
          const unit = luxonUnit[interval as keyof typeof luxonUnit];
          expect(start, `${interval} ${ts}`).toBe(
            DateTime.fromMillis(ts, { zone: 'utc' }).startOf(unit).toMillis(),
          );
        }
      }
    }
  });

  it('writes trades on either side of each boundary to different bars', async () => {
    const writer = bars();
    const ttlFor = (): number => 60_000;
    const boundaryOf: Record<BarInterval, string> = {
      '1m': '2024-03-10T13:48:00Z',
      '5m': '2024-03-10T13:50:00Z',
      '15m': '2024-03-10T14:00:00Z',
      '30m': '2024-03-10T13:30:00Z',
      '1h': '2024-03-10T13:00:00Z',
      '4h': '2024-03-10T16:00:00Z',
      '1d': '2024-03-10T00:00:00Z',
      '1w': '2024-03-11T00:00:00Z',
      '1M': '2024-03-01T00:00:00Z',
    };
    for (const interval of BAR_INTERVALS) {
      const boundary = utc(boundaryOf[interval]);
      const symbol = `EDGE-${interval}`;
      const [before] = await writer.applyTrade(
        symbol,
        [interval],
        { id: 'a', ts: boundary - 1, price: 10, qty: 1 },
        ttlFor,
      );
      const [after] = await writer.applyTrade(
        symbol,
        [interval],
        { id: 'b', ts: boundary, price: 20, qty: 2 },
        ttlFor,
      );
      expect(after?.barStart, interval).toBe(boundary);
      expect(before?.barStart, interval).toBeLessThan(boundary);
      expect(barEnd(interval, before!.barStart), interval).toBe(boundary);
      expect(await writer.readBar(symbol, interval, before!.barStart)).toMatchObject({
        trades: 1,
        open: '10',
      });
      expect(await writer.readBar(symbol, interval, boundary)).toMatchObject({ trades: 1, open: '20' });
    }
  });
});

interface TradeRow {
  readonly id: string;
  readonly ts: number;
  readonly price: bigint;
  readonly qty: bigint;
}

/** Shortlex (shorter first, then byte-wise): numeric order for decimal ids. */
function idLess(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0;
}

function expectedBar(symbol: string, interval: BarInterval, trades: readonly TradeRow[]): Bar {
  const byTime = [...trades].sort((x, y) => (x.ts !== y.ts ? x.ts - y.ts : idLess(x.id, y.id) ? -1 : 1));
  const first = byTime[0]!;
  const last = byTime[byTime.length - 1]!;
  const prices = trades.map((t) => t.price);
  return {
    symbol,
    interval,
    start: barStart(interval, first.ts),
    open: first.price.toString(),
    high: prices.reduce((a, b) => (b > a ? b : a)).toString(),
    low: prices.reduce((a, b) => (b < a ? b : a)).toString(),
    close: last.price.toString(),
    volume: trades.reduce((sum, t) => sum + t.qty, 0n).toString(),
    quoteVolume: trades.reduce((sum, t) => sum + t.price * t.qty, 0n).toString(),
    trades: trades.length,
    openTs: first.ts,
    openId: first.id,
    closeTs: last.ts,
    closeId: last.id,
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const asTrade = (row: TradeRow): Trade => ({
  id: row.id,
  ts: row.ts,
  price: row.price.toString(),
  qty: row.qty,
});

describe('bar writer', () => {
  const minute = utc('2024-03-10T13:47:00Z');
  // ties on ts (ids 9 and 10, 100 and 99) check the id tie-break in numeric order, not "10" < "9"
  const trades: TradeRow[] = [
    { id: '10', ts: minute + 5_000, price: 64_120_00n, qty: 3n },
    { id: '9', ts: minute + 5_000, price: 64_118_50n, qty: 1n },
    { id: '11', ts: minute + 1_000, price: 64_130_00n, qty: 7n },
    { id: '12', ts: minute + 59_999, price: 64_090_00n, qty: 2n },
    { id: '99', ts: minute + 59_999, price: 64_095_00n, qty: 5n },
    { id: '100', ts: minute + 59_999, price: 64_101_00n, qty: 4n },
    { id: '13', ts: minute + 30_000, price: 64_200_00n, qty: 9n },
    { id: '14', ts: minute + 30_001, price: 63_999_99n, qty: 6n },
  ];
  const intervals: BarInterval[] = ['1m', '1h', '1d', '1M'];
  const ttlFor = (interval: BarInterval): number => (interval === '1m' ? 120_000 : 3_600_000);

  it('gives the same bar whatever order trades arrive in', async () => {
    const writer = bars();
    for (const seed of [1, 2, 3, 4]) {
      const symbol = `ORDER-${seed}`;
      for (const row of shuffled(trades, seed)) {
        const updates = await writer.applyTrade(symbol, intervals, asTrade(row), ttlFor);
        expect(updates.map((u) => u.applied)).toEqual([true, true, true, true]);
      }
      for (const interval of intervals) {
        const bar = await writer.readBar(symbol, interval, barStart(interval, minute));
        expect(bar, `${symbol} ${interval}`).toEqual(expectedBar(symbol, interval, trades));
      }
    }
    const bar = await writer.readBar('ORDER-1', '1m', minute);
    expect(bar).toMatchObject({ open: '6413000', close: '6410100', high: '6420000', low: '6399999' });
  });

  it('applies a repeated trade id once, even with other content', async () => {
    const writer = bars();
    const symbol = 'REPEAT';
    for (const row of trades) await writer.applyTrade(symbol, intervals, asTrade(row), ttlFor);
    for (const row of shuffled(trades, 7)) {
      const updates = await writer.applyTrade(symbol, intervals, asTrade(row), ttlFor);
      expect(updates.map((u) => u.applied)).toEqual([false, false, false, false]);
    }
    const replayed = await writer.applyTrade(
      symbol,
      intervals,
      { id: '13', ts: minute + 2, price: 1, qty: 1_000_000 },
      ttlFor,
    );
    expect(replayed.every((u) => !u.applied)).toBe(true);
    expect(await writer.readBar(symbol, '1m', minute)).toEqual(expectedBar(symbol, '1m', trades));
    expect(await env.redis.scard(keys.bar(symbol, '1m', minute).appliedTrades)).toBe(trades.length);
  });

  it('keeps volumes exact beyond 2^53 and prices up to 30 digits', async () => {
    const writer = bars();
    const symbol = 'BIG';
    const rows: TradeRow[] = [
      { id: '1', ts: minute, price: 999_999_999_999_999_999_999_999_999_999n, qty: 9_007_199_254_740_991n },
      { id: '2', ts: minute + 1, price: 1n, qty: 9_007_199_254_740_991n },
      {
        id: '3',
        ts: minute + 2,
        price: 123_456_789_012_345_678_901n,
        qty: 999_999_999_999_999_999_999_999_999_999n,
      },
    ];
    for (const row of rows) await writer.applyTrade(symbol, ['1m'], asTrade(row), ttlFor);
    const bar = await writer.readBar(symbol, '1m', minute);
    expect(bar).toEqual(expectedBar(symbol, '1m', rows));
    expect(bar?.volume).toBe('1000000000000018014398509481981');
  });

  it('gives each bar and its trade-id set the TTL of its interval', async () => {
    const writer = bars();
    const symbol = 'TTL';
    await writer.applyTrade(symbol, intervals, asTrade(trades[0]!), ttlFor);
    for (const interval of intervals) {
      const barKeys = keys.bar(symbol, interval, barStart(interval, minute));
      for (const key of [barKeys.bar, barKeys.appliedTrades]) {
        const pttl = await env.redis.pttl(key);
        expect(pttl, key).toBeGreaterThan(ttlFor(interval) - 60_000);
        expect(pttl, key).toBeLessThanOrEqual(ttlFor(interval));
      }
    }
  });

  it('refuses bad trades, intervals and TTLs before writing anything', async () => {
    const writer = bars();
    const symbol = 'REFUSED';
    const good: Trade = { id: 't1', ts: minute, price: '100', qty: '2' };
    const bad: Trade[] = [
      { ...good, price: '0100' },
      { ...good, price: '-1' },
      { ...good, price: '1.5' },
      { ...good, price: 1.5 },
      { ...good, price: 2 ** 53 },
      { ...good, qty: -1n },
      { ...good, qty: 10n ** 30n },
      { ...good, qty: '1'.repeat(31) },
      { ...good, ts: -1 },
      { ...good, ts: 1.5 },
      { ...good, id: '' },
      { ...good, id: 'x'.repeat(129) },
    ];
    for (const trade of bad) {
      await expect(
        writer.applyTrade(symbol, ['1m'], trade, ttlFor),
        JSON.stringify(trade, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
      ).rejects.toThrow(ValidationError);
    }
    await expect(writer.applyTrade(symbol, ['2m' as BarInterval], good, ttlFor)).rejects.toThrow(
      ValidationError,
    );
    await expect(writer.applyTrade(symbol, [], good, ttlFor)).rejects.toThrow(ValidationError);
    await expect(
      writer.applyTrade(symbol, ['1m', '1h'], good, (i) => (i === '1h' ? 0 : 1_000)),
    ).rejects.toThrow(ValidationError);
    await expect(writer.applyTrade('BAD{SYMBOL}', ['1m'], good, ttlFor)).rejects.toThrow(ValidationError);
    expect(await symbolKeys(symbol)).toEqual([]);

    // the script's own checks, for callers that bypass the writer
    const barKeys = keys.bar(symbol, '1m', minute);
    for (const args of [
      ['t1', minute, '0100', '1', 1_000],
      ['t1', minute, '100', '1.5', 1_000],
      ['t1', '-5', '100', '1', 1_000],
      ['t1', '9007199254740993', '100', '1', 1_000],
      ['t1', minute, '100', '1', 0],
      ['t1', minute, '100', '1', 1e20],
      ['', minute, '100', '1', 1_000],
    ]) {
      await expect(
        runScript(env.redis, 'barUpdate', [barKeys.bar, barKeys.appliedTrades], args),
      ).rejects.toThrow(ScriptError);
    }
    expect(await symbolKeys(symbol)).toEqual([]);
    // a good trade still applies after all the refusals
    expect(await writer.applyTrade(symbol, ['1m'], good, ttlFor)).toEqual([
      { interval: '1m', barStart: minute, applied: true },
    ]);
  });
});
