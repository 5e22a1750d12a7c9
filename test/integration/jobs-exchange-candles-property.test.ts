// Property: whatever trades arrive (out of order within a bar, the same trade twice under other event ids, the same
// event twice), the bars exchange.candles builds for every interval (1m .. 1M) equal a reference computed here from
// the distinct trades alone, with bar starts, open/close order and sums derived independently of the bar writer.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { derivedEventId } from '../../src/jobs/due-sweeper.js';
import { CANDLE_TRADES_JOB } from '../../src/jobs/exchange/candle-trades.js';
import { createExchangePack } from '../../src/jobs/exchange/pack.js';
import { BAR_INTERVALS, createBarWriter, type BarInterval } from '../../src/sinks/bar-writer.js';
import { startPackWorker, type PackWorker } from '../support/job-pack-worker.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let w: PackWorker;
let caseNumber = 0;

const MINUTE = 60_000;
/** Trades cluster around a month end and a Monday midnight, so bars of every interval start and end among them. */
const ANCHORS = [Date.parse('2026-10-01T00:00:00.000Z'), Date.parse('2026-10-05T00:00:00.000Z')];
const iso = (ms: number): string => new Date(ms).toISOString();

beforeAll(async () => {
  const env = { PROCESSORS: CANDLE_TRADES_JOB };
  w = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix,
    pack: createExchangePack(env),
    env,
  });
});
afterAll(async () => {
  await w.stop();
});

interface TestTrade {
  readonly id: string;
  readonly ts: number;
  readonly price: bigint;
  readonly qty: bigint;
}

/** Reference bar start, UTC: fixed lengths from the epoch, weeks from Monday, calendar months. */
function referenceStart(interval: BarInterval, ts: number): number {
  const date = new Date(ts);
  if (interval === '1M') return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  if (interval === '1w') {
    const sinceMonday = (date.getUTCDay() + 6) % 7;
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - sinceMonday);
  }
  const minutes = { '1m': 1, '5m': 5, '15m': 15, '30m': 30, '1h': 60, '4h': 240, '1d': 1440 }[interval];
  return Math.floor(ts / (minutes * MINUTE)) * minutes * MINUTE;
}

/** Trades in time order; equal times in trade-id order (ids are decimals: numeric order). */
const earlier = (a: TestTrade, b: TestTrade): boolean =>
  a.ts !== b.ts ? a.ts < b.ts : BigInt(a.id) < BigInt(b.id);

function referenceBars(trades: readonly TestTrade[]): Map<string, Record<string, string | number>> {
  const bars = new Map<string, TestTrade[]>();
  for (const interval of BAR_INTERVALS) {
    for (const trade of trades) {
      const key = `${interval}|${referenceStart(interval, trade.ts)}`;
      bars.set(key, [...(bars.get(key) ?? []), trade]);
    }
  }
  const result = new Map<string, Record<string, string | number>>();
  for (const [key, members] of bars) {
    const first = members.reduce((a, b) => (earlier(b, a) ? b : a));
    const last = members.reduce((a, b) => (earlier(a, b) ? b : a));
    const prices = members.map((t) => t.price);
    result.set(key, {
      open: first.price.toString(),
      close: last.price.toString(),
      high: prices.reduce((a, b) => (b > a ? b : a)).toString(),
      low: prices.reduce((a, b) => (b < a ? b : a)).toString(),
      volume: members.reduce((sum, t) => sum + t.qty, 0n).toString(),
      quoteVolume: members.reduce((sum, t) => sum + t.qty * t.price, 0n).toString(),
      trades: members.length,
      openId: first.id,
      closeId: last.id,
    });
  }
  return result;
}

/** One trade; `spread` (30 s steps either side of an anchor) decides how often trades share a time. */
const tradeArbitrary = (spread: number) =>
  fc.record({
    // ids of every length: ties must be broken in numeric (shortlex) order, not as text ("12" before "100")
    id: fc
      .oneof(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 10, max: 999 }),
        fc.integer({ min: 1000, max: 99_999 }),
      )
      .map(String),
    ts: fc
      .tuple(fc.constantFrom(...ANCHORS), fc.integer({ min: -spread, max: spread }))
      .map(([anchor, step]) => anchor + step * 30_000),
    price: fc.bigInt({ min: 1n, max: 10n ** 15n }),
    qty: fc.bigInt({ min: 0n, max: 10n ** 12n }),
  });

const caseArbitrary = fc
  // a narrow spread makes many trades share a time (ties); a wide one spreads them over many bars
  .constantFrom(1, 3, 20, 200)
  .chain((spread) =>
    fc.uniqueArray(tradeArbitrary(spread), { minLength: 1, maxLength: 40, selector: (t) => t.id }),
  )
  .chain((trades) =>
    fc.record({
      trades: fc.constant(trades),
      // the same trade again under another event id (a producer retry with a new id)
      replayed: fc.subarray(trades),
      // the same event published twice
      republished: fc.subarray(trades),
      order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
        minLength: trades.length * 3,
        maxLength: trades.length * 3,
      }),
    }),
  );

function tradeEvent(pairId: string, trade: TestTrade, copy: string): EventEnvelope {
  return {
    id: derivedEventId(trade.ts, pairId, trade.id, copy),
    type: 'trade.executed',
    key: pairId,
    occurredAt: iso(trade.ts),
    source: 'exchange',
    schemaVersion: 1,
    data: {
      tradeId: trade.id,
      pairId,
      price: trade.price.toString(),
      quantity: trade.qty.toString(),
      executedAt: iso(trade.ts),
    },
  };
}

describe('exchange.candles property', () => {
  it('builds, for every interval, the bars a reference computes from the distinct trades', async () => {
    const bars = createBarWriter({ redis: db.redis, keys: w.keys });
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async ({ trades, replayed, republished, order }) => {
        caseNumber += 1;
        const pairId = `prop-${caseNumber}`;
        const events = [
          ...trades.map((t) => tradeEvent(pairId, t, 'first')),
          ...replayed.map((t) => tradeEvent(pairId, t, 'replayed')),
          ...republished.map((t) => tradeEvent(pairId, t, 'first')),
        ];
        // any arrival order
        const shuffled = events
          .map((event, i) => ({ event, rank: order[i] ?? 0 }))
          .sort((a, b) => a.rank - b.rank)
          .map(({ event }) => event);
        for (const event of shuffled) await w.publish(event);
        const ids = new Set(events.map((e) => e.id));
        await waitFor(
          () =>
            w.outcomes.filter((o) => o.job === CANDLE_TRADES_JOB && ids.has(o.eventId ?? '')).length >=
            ids.size,
          `the ${ids.size} trade events of ${pairId}`,
        );

        const expected = referenceBars(trades);
        for (const [key, want] of expected) {
          const [interval, start] = key.split('|') as [BarInterval, string];
          const bar = await bars.readBar(pairId, interval, Number(start));
          expect(bar, `${pairId} ${interval} ${iso(Number(start))}`).toMatchObject(want);
        }
        // and no other bar exists for the pair
        const stored = await db.redis.keys(`${w.keys.bar(pairId, '1m', 0).tag}:*`);
        const barKeys = stored.filter((key) => !key.endsWith(':trades'));
        expect(barKeys).toHaveLength(expected.size);
      }),
      { numRuns: 50 },
    );
  });
});
