// Exact minor-unit arithmetic of the exchange jobs (bigint, never floats): the seed 002 balance unlock of an expired
// order, the 24 h price change and percentage, and quote volumes scaled from price x quantity.
import { ValidationError } from '../../errors.js';

/** 10^n as a bigint. */
export function pow10(n: number): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new ValidationError(`expected decimals >= 0, got ${n}`);
  return 10n ** BigInt(n);
}

/** ceil(a / b) for a >= 0, b > 0. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  if (a < 0n || b <= 0n) throw new ValidationError(`ceilDiv expects a >= 0 and b > 0, got ${a} / ${b}`);
  return (a + b - 1n) / b;
}

/** Parses integer minor units (a decimal string, at most 78 digits); anything else is a ValidationError. */
export function minorUnits(value: string, what: string): bigint {
  if (!/^-?\d{1,78}$/.test(value)) throw new ValidationError(`${what} is not integer minor units: ${value}`);
  return BigInt(value);
}

/** What the seed's formula needs of an order: the immutable order fields and its final book state. */
export interface UnlockInput {
  readonly side: 'BUY' | 'SELL';
  /** Minor units of the quote asset per one whole base unit. */
  readonly price: string;
  readonly baseDecimals: number;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  /** Minor units of the base asset still open when the order left the book. */
  readonly remainingQuantity: string;
  /** Minor units of the quote asset still reserved for fees. */
  readonly reservedFee: string;
}

export interface Unlock {
  readonly asset: string;
  readonly amount: bigint;
}

/**
 * Seed 002 §3 Balance Unlock Calculation. Buy: remaining quantity x price + fee, in the quote asset, where
 * remaining x price is `ceil(remaining * price / 10^baseDecimals)` (the exchange locks that rounded up, and keeps
 * `locked = ceil(remaining * price / 10^baseDecimals) + reservedFee` as fills consume it), so the unlock releases
 * exactly what is still locked. Sell: the remaining quantity, in the base asset (a sell reserves no quote fee).
 */
export function orderUnlock(order: UnlockInput): Unlock {
  const remaining = minorUnits(order.remainingQuantity, 'remainingQuantity');
  if (remaining < 0n) throw new ValidationError(`remainingQuantity is negative: ${order.remainingQuantity}`);
  if (order.side === 'SELL') return { asset: order.baseAsset, amount: remaining };
  const price = minorUnits(order.price, 'price');
  const fee = minorUnits(order.reservedFee, 'reservedFee');
  if (price < 0n || fee < 0n) throw new ValidationError('price and reservedFee must not be negative');
  return {
    asset: order.quoteAsset,
    amount: ceilDiv(remaining * price, pow10(order.baseDecimals)) + fee,
  };
}

/** The 24 h change of `last` against `open`: minor units, and the percentage with 2 decimals (half away from 0). */
export function priceChange(
  open: string | null,
  last: string | null,
): { readonly change: string | null; readonly percent: string | null } {
  if (open === null || last === null) return { change: null, percent: null };
  const from = minorUnits(open, 'open');
  const change = minorUnits(last, 'last') - from;
  if (from === 0n) return { change: change.toString(), percent: null };
  // hundredths of a percent: change * 10000 / open, rounded half away from zero
  const scaled = change * 10_000n;
  const negative = scaled < 0n;
  const magnitude = negative ? -scaled : scaled;
  const rounded = (magnitude * 2n + from) / (2n * from);
  const whole = rounded / 100n;
  const cents = (rounded % 100n).toString().padStart(2, '0');
  const sign = negative && rounded !== 0n ? '-' : '';
  return { change: change.toString(), percent: `${sign}${whole}.${cents}` };
}

/** Quote minor units of a bar's Σ price x quantity: divided by 10^baseDecimals, rounded down (a volume figure). */
export function quoteVolume(rawPriceTimesQuantity: string, baseDecimals: number): string {
  return (minorUnits(rawPriceTimesQuantity, 'quoteVolume') / pow10(baseDecimals)).toString();
}
