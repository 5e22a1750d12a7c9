// Deterministic synthetic market data for the mock Price service and the mock provider: a price per symbol and
// minute that depends only on the seed, so two polls in the same minute return the same data.
import { shareOf } from './seeded-random.js';

export const DEFAULT_SYMBOLS: readonly string[] = ['BTC/USDT', 'ETH/USDT', 'TON/USDT'];

const BASE_PRICES: Readonly<Record<string, number>> = { BTC: 64_000, ETH: 3_200, TON: 5.2, SOL: 150 };
const MINUTE_MS = 60_000;

export const INTERVAL_MS: Readonly<Record<string, number>> = {
  '1m': MINUTE_MS,
  '5m': 5 * MINUTE_MS,
  '15m': 15 * MINUTE_MS,
  '1h': 60 * MINUTE_MS,
  '4h': 240 * MINUTE_MS,
  '1d': 1440 * MINUTE_MS,
};

function priceNumber(seed: string | number, symbol: string, minute: number): number {
  const base = BASE_PRICES[symbol.split(/[/_-]/)[0] ?? symbol] ?? 100;
  const hourDrift = shareOf(seed, 'hour', symbol, String(Math.floor(minute / 60))) - 0.5;
  const minuteNoise = shareOf(seed, 'minute', symbol, String(minute)) - 0.5;
  return base * (1 + 0.02 * hourDrift + 0.002 * minuteNoise);
}

function decimal(value: number, reference: number): string {
  return value.toFixed(reference >= 100 ? 2 : 4);
}

/** The price of a symbol during the minute holding `atMs`, as a decimal string. */
export function syntheticPrice(seed: string | number, symbol: string, atMs: number): string {
  const minute = Math.floor(atMs / MINUTE_MS);
  const price = priceNumber(seed, symbol, minute);
  return decimal(price, price);
}

/** The OHLCV bar of `symbol` opening at `openAtMs` (aligned by the caller) for an interval of `intervalMs`. */
export function syntheticBar(
  seed: string | number,
  symbol: string,
  openAtMs: number,
  intervalMs: number,
): {
  symbol: string;
  openAt: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
} {
  const first = Math.floor(openAtMs / MINUTE_MS);
  const minutes = Math.max(1, Math.round(intervalMs / MINUTE_MS));
  const prices = Array.from({ length: minutes + 1 }, (_, i) => priceNumber(seed, symbol, first + i));
  const open = prices[0] ?? 0;
  const close = prices.at(-1) ?? open;
  const volume = (shareOf(seed, 'volume', symbol, String(first)) * 100 * minutes).toFixed(3);
  return {
    symbol,
    openAt: new Date(openAtMs).toISOString(),
    open: decimal(open, open),
    high: decimal(Math.max(...prices) * 1.0005, open),
    low: decimal(Math.min(...prices) * 0.9995, open),
    close: decimal(close, open),
    volume,
  };
}
