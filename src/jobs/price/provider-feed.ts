// Normalizes what a price provider answered into the Price Service's ticks and bars: decimal strings, ISO times,
// market symbols; an item that cannot be normalized is skipped (and counted), never guessed at.
import type { z } from 'zod';
import { decimalString } from '../contract-fields.js';
import { priceBar, priceTick } from './api.js';
import type { PriceProvider } from './price-settings.js';

export type PriceTick = z.output<typeof priceTick>;
export type PriceBar = z.output<typeof priceBar>;

/** What one provider answer held: normalized items, and the ones skipped with why (a few, for the log). */
export interface NormalizedFeed<T> {
  readonly items: T[];
  readonly skipped: number;
  readonly problems: string[];
}

const MAX_PROBLEMS = 5;
/** Epoch milliseconds between 2000 and 2200: anything else is not a time we believe. */
const MIN_EPOCH_MS = 946_684_800_000;
const MAX_EPOCH_MS = 7_258_118_400_000;

/** A price or quantity as a decimal string: strings must already be one, numbers must print as one (no exponent). */
export function toDecimal(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  return decimalString.safeParse(trimmed).success ? trimmed : undefined;
}

/** ISO-8601 (with an offset or Z) or epoch milliseconds -> ISO UTC with milliseconds. */
export function toIsoTime(value: unknown): string | undefined {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})$/.test(value.trim())
  )
    ms = Date.parse(value.trim());
  else return undefined;
  if (!Number.isSafeInteger(ms) || ms < MIN_EPOCH_MS || ms > MAX_EPOCH_MS) return undefined;
  return new Date(ms).toISOString();
}

/** The provider's symbol for a market symbol (its symbolMap, else the market symbol itself). */
export function providerSymbol(provider: PriceProvider, symbol: string): string {
  return provider.symbolMap?.[symbol] ?? symbol;
}

/** Provider symbol (or market symbol) -> market symbol, for the configured symbols only. */
function symbolReader(provider: PriceProvider): (value: unknown) => string | undefined {
  const known = new Map<string, string>();
  for (const symbol of provider.symbols) {
    known.set(symbol, symbol);
    known.set(providerSymbol(provider, symbol), symbol);
  }
  return (value) => (typeof value === 'string' ? known.get(value.trim()) : undefined);
}

/** The item list of an answer: a bare array, or the array under `key`. */
function itemsOf(body: unknown, key: string): unknown[] | undefined {
  if (Array.isArray(body)) return body as unknown[];
  if (typeof body === 'object' && body !== null) {
    const list = (body as Record<string, unknown>)[key];
    if (Array.isArray(list)) return list as unknown[];
  }
  return undefined;
}

function collect<T>(
  list: unknown[],
  normalize: (item: Record<string, unknown>) => T | string,
): NormalizedFeed<T> {
  const items: T[] = [];
  const problems: string[] = [];
  let skipped = 0;
  list.forEach((item, index) => {
    const result =
      typeof item === 'object' && item !== null && !Array.isArray(item)
        ? normalize(item as Record<string, unknown>)
        : 'not an object';
    if (typeof result === 'string') {
      skipped += 1;
      if (problems.length < MAX_PROBLEMS) problems.push(`item ${index}: ${result}`);
    } else items.push(result);
  });
  return { items, skipped, problems };
}

/** An answer without the expected list is not a feed at all: the caller treats it as a bad answer. */
export class FeedShapeError extends Error {}

/** Ticks of a `ticks` or `quotes` provider (a quote is a tick without size or trade id). */
export function normalizeTicks(provider: PriceProvider, body: unknown): NormalizedFeed<PriceTick> {
  const key = provider.format === 'quotes' ? 'quotes' : 'ticks';
  const list = itemsOf(body, key);
  if (list === undefined) throw new FeedShapeError(`expected a JSON array or an object with "${key}"`);
  const symbolOf = symbolReader(provider);
  return collect(list, (item) => {
    const symbol = symbolOf(item['symbol']);
    if (symbol === undefined) return 'unknown or unconfigured symbol';
    const price = toDecimal(item['price']);
    if (price === undefined) return 'price is not a non-negative decimal';
    const at = toIsoTime(item['at']);
    if (at === undefined) return 'at is not an ISO-8601 time or epoch milliseconds';
    const tick: PriceTick = { symbol, price, at };
    if (provider.format === 'ticks') {
      if (item['size'] !== undefined) {
        const size = toDecimal(item['size']);
        if (size === undefined) return 'size is not a non-negative decimal';
        tick.size = size;
      }
      const tradeId = item['tradeId'];
      if (tradeId !== undefined) {
        const id = typeof tradeId === 'number' && Number.isSafeInteger(tradeId) ? String(tradeId) : tradeId;
        if (typeof id !== 'string' || id === '' || id.length > 128) return 'tradeId is not a short id';
        tick.tradeId = id;
      }
    }
    return priceTick.safeParse(tick).success ? tick : 'not a valid tick';
  });
}

/** Bars of a `bars` provider; high/low must bound open and close. */
export function normalizeBars(provider: PriceProvider, body: unknown): NormalizedFeed<PriceBar> {
  const list = itemsOf(body, 'bars');
  if (list === undefined) throw new FeedShapeError('expected a JSON array or an object with "bars"');
  const symbolOf = symbolReader(provider);
  return collect(list, (item) => {
    const symbol = symbolOf(item['symbol']);
    if (symbol === undefined) return 'unknown or unconfigured symbol';
    const openAt = toIsoTime(item['openAt']);
    if (openAt === undefined) return 'openAt is not an ISO-8601 time or epoch milliseconds';
    const values: Record<string, string> = {};
    for (const field of ['open', 'high', 'low', 'close', 'volume'] as const) {
      const value = toDecimal(item[field]);
      if (value === undefined) return `${field} is not a non-negative decimal`;
      values[field] = value;
    }
    const [open, high, low, close] = ['open', 'high', 'low', 'close'].map((f) => Number(values[f]));
    if (
      high === undefined ||
      low === undefined ||
      open === undefined ||
      close === undefined ||
      high < Math.max(open, close, low) ||
      low > Math.min(open, close)
    ) {
      return 'high/low do not bound open and close';
    }
    const bar = { symbol, openAt, ...values };
    const parsed = priceBar.safeParse(bar);
    return parsed.success ? parsed.data : 'not a valid bar';
  });
}

/** Dedupe inside one answer: the same trade (or the same quote time) of a symbol once, bars by (symbol, openAt). */
export function uniqueTicks(ticks: readonly PriceTick[]): PriceTick[] {
  const seen = new Set<string>();
  return ticks.filter((tick) => {
    const id = `${tick.symbol}\n${tick.tradeId ?? `${tick.at}\n${tick.price}`}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

export function uniqueBars(bars: readonly PriceBar[]): PriceBar[] {
  // a later item of the same bar is the provider's newer view of it
  const byBar = new Map<string, PriceBar>();
  for (const bar of bars) byBar.set(`${bar.symbol}\n${bar.openAt}`, bar);
  return [...byBar.values()];
}
