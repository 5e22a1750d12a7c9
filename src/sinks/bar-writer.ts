// The OHLCV bar sink: applies a trade to its bar of every interval (1m .. 1M, UTC) in one pipeline; each bar is
// updated by one script, atomically, once per trade id, and the same whatever order trades arrive in.
import { z } from 'zod';
import { describeIssues, zodIssues } from '../events/envelope.js';
import { ScriptError, ValidationError } from '../errors.js';
import type { KeyBuilder } from '../streams/keys.js';
import { checkScriptResult, defineScripts, pipelineResults, queueScript } from '../streams/scripts.js';
import type { RedisClient } from '../streams/scripts.js';

export const BAR_INTERVALS = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w', '1M'] as const;
export type BarInterval = (typeof BAR_INTERVALS)[number];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** 1970-01-01 was a Thursday; ISO weeks start on the Monday 3 days earlier. */
const ISO_WEEK_OFFSET = 3 * DAY;

const FIXED_LENGTH: Readonly<Record<Exclude<BarInterval, '1w' | '1M'>, number>> = {
  '1m': MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': HOUR,
  '4h': 4 * HOUR,
  '1d': DAY,
};

function floorMod(value: number, size: number): number {
  return ((value % size) + size) % size;
}

/** Start (ms, UTC) of the bar holding `ts`: multiples of the length from midnight UTC, Monday weeks, calendar months. */
export function barStart(interval: BarInterval, ts: number): number {
  if (interval === '1M') {
    const date = new Date(ts);
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  }
  if (interval === '1w') return ts - floorMod(ts + ISO_WEEK_OFFSET, WEEK);
  return ts - floorMod(ts, FIXED_LENGTH[interval]);
}

/** Start of the next bar (exclusive end of the bar starting at `start`). */
export function barEnd(interval: BarInterval, start: number): number {
  if (interval === '1M') {
    const date = new Date(start);
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  }
  return start + (interval === '1w' ? WEEK : FIXED_LENGTH[interval]);
}

const MAX_DIGITS = 30;
const MINOR_UNITS = new RegExp(`^(0|[1-9][0-9]{0,${MAX_DIGITS - 1}})$`);
const MAX_MINOR_UNITS = 10n ** BigInt(MAX_DIGITS) - 1n;

/** An amount in integer minor units: a decimal string, a safe integer or a bigint, at most 30 digits. */
const minorUnits = z
  .union([
    z.string().regex(MINOR_UNITS, 'integer minor units without leading zeros, at most 30 digits'),
    z.number().int().min(0),
    z.bigint().min(0n).max(MAX_MINOR_UNITS),
  ])
  .transform((value) => (typeof value === 'string' ? value : value.toString()));

export const tradeSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .refine((id) => Buffer.byteLength(id) <= 128, 'at most 128 bytes')
    .describe('trade id, unique per symbol: a repeat is applied once'),
  ts: z.number().int().min(0).describe('trade time, ms since the epoch'),
  price: minorUnits.describe('price in integer minor units (e.g. quote-currency cents)'),
  qty: minorUnits.describe('quantity in integer minor units of the base asset'),
});

export type Trade = z.input<typeof tradeSchema>;

/** A bar as stored; amounts are decimal strings of integer minor units (exact beyond 2^53). */
export interface Bar {
  readonly symbol: string;
  readonly interval: BarInterval;
  readonly start: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  /** Sum of quantities. */
  readonly volume: string;
  /** Sum of price x quantity (minor units of price times minor units of quantity). */
  readonly quoteVolume: string;
  readonly trades: number;
  readonly openTs: number;
  readonly openId: string;
  readonly closeTs: number;
  readonly closeId: string;
}

/** What one trade did to one interval's bar. */
export interface BarUpdate {
  readonly interval: BarInterval;
  readonly barStart: number;
  /** False when this trade id was already applied to the bar (nothing changed). */
  readonly applied: boolean;
}

/** TTL in ms of the bars of an interval (and of their applied trade-id sets); refreshed on every applied trade. */
export type BarTtl = (interval: BarInterval) => number;

export interface BarWriterDeps {
  redis: RedisClient;
  keys: KeyBuilder;
}

export interface BarWriter {
  /**
   * Applies a trade to the bar of each interval in one pipeline. Safe to repeat (each bar applies a trade id
   * once), so a failed call is retried whole. The TTL must outlast redeliveries: after a bar expires, a late
   * repeat of one of its trades starts a new bar.
   */
  applyTrade(
    symbol: string,
    intervals: readonly BarInterval[],
    trade: Trade,
    ttlFor: BarTtl,
  ): Promise<BarUpdate[]>;
  readBar(symbol: string, interval: BarInterval, start: number): Promise<Bar | undefined>;
}

const INTERVALS = new Set<string>(BAR_INTERVALS);

function checkIntervals(intervals: readonly BarInterval[]): BarInterval[] {
  const unknown = intervals.filter((interval) => !INTERVALS.has(interval));
  if (unknown.length > 0 || intervals.length === 0) {
    throw new ValidationError(
      `bar intervals must be a non-empty list of ${BAR_INTERVALS.join(', ')}; got ${JSON.stringify(intervals)}`,
      [{ path: 'intervals', message: 'unknown or empty' }],
    );
  }
  return [...new Set(intervals)];
}

function checkTtl(interval: BarInterval, ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new ValidationError(`bar TTL of ${interval} must be an integer > 0 ms, got ${ttlMs}`, [
      { path: `ttl.${interval}`, message: 'must be an integer > 0' },
    ]);
  }
  return ttlMs;
}

export function createBarWriter(deps: BarWriterDeps): BarWriter {
  const { redis, keys } = deps;

  return {
    async applyTrade(symbol, intervals, trade, ttlFor) {
      const parsed = tradeSchema.safeParse(trade);
      if (!parsed.success) {
        const issues = zodIssues(parsed.error, 'trade');
        throw new ValidationError(`invalid trade for ${symbol}: ${describeIssues(issues)}`, issues);
      }
      const { id, ts, price, qty } = parsed.data;
      // every check before the first command, so a refused trade writes nothing
      const updates = checkIntervals(intervals).map((interval) => {
        const start = barStart(interval, ts);
        return {
          interval,
          start,
          ttlMs: checkTtl(interval, ttlFor(interval)),
          bar: keys.bar(symbol, interval, start),
        };
      });
      defineScripts(redis);
      const pipeline = redis.pipeline();
      for (const update of updates) {
        queueScript(
          pipeline,
          'barUpdate',
          [update.bar.bar, update.bar.appliedTrades],
          [id, ts, price, qty, update.ttlMs],
        );
      }
      const replies = pipelineResults(await pipeline.exec());
      return updates.map((update, i) => {
        const reply = checkScriptResult('barUpdate', replies[i]);
        if (reply !== 0 && reply !== 1) {
          throw new ScriptError('barUpdate', 0, `unexpected reply ${JSON.stringify(reply)}`);
        }
        return { interval: update.interval, barStart: update.start, applied: reply === 1 };
      });
    },

    async readBar(symbol, interval, start) {
      checkIntervals([interval]);
      const fields = await redis.hgetall(keys.bar(symbol, interval, start).bar);
      if (fields['trades'] === undefined) return undefined;
      const field = (name: string): string => {
        const value = fields[name];
        if (value === undefined)
          throw new ScriptError('barUpdate', 0, `bar of ${symbol} ${interval} lacks ${name}`);
        return value;
      };
      return {
        symbol,
        interval,
        start,
        open: field('open'),
        high: field('high'),
        low: field('low'),
        close: field('close'),
        volume: field('volume'),
        quoteVolume: field('quoteVolume'),
        trades: Number(field('trades')),
        openTs: Number(field('openTs')),
        openId: field('openId'),
        closeTs: Number(field('closeTs')),
        closeId: field('closeId'),
      };
    },
  };
}
