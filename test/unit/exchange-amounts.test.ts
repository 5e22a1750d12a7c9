// Exact minor-unit arithmetic of the exchange pack: the seed 002 unlock formula (buy: remaining x price + fee,
// rounded up like the lock; sell: remaining), against a lock kept through random partial fills; the 24 h change
// and percentage; quote volumes; and which bar a candle close tick closes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { closedBarStart } from '../../src/jobs/exchange/candle-close.js';
import { ceilDiv, orderUnlock, priceChange, quoteVolume } from '../../src/jobs/exchange/exchange-amounts.js';

const order = {
  price: '6425012',
  baseDecimals: 8,
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
};

describe('orderUnlock (seed 002 Balance Unlock Calculation)', () => {
  it('unlocks remaining quantity x price + fee in the quote asset for a buy, rounded up to a whole minor unit', () => {
    // 0.37654321 BTC x 64,250.12 USDT = 24,192.9464… USDT -> 2,419,295 cents (rounded up), + 1,000 cents fee
    expect(
      orderUnlock({ ...order, side: 'BUY', remainingQuantity: '37654321', reservedFee: '1000' }),
    ).toEqual({ asset: 'USDT', amount: 2_419_295n + 1_000n });
    expect(orderUnlock({ ...order, side: 'BUY', remainingQuantity: '100000000', reservedFee: '0' })).toEqual({
      asset: 'USDT',
      amount: 6_425_012n,
    });
  });

  it('unlocks the remaining quantity in the base asset for a sell, whatever fee it carries', () => {
    expect(orderUnlock({ ...order, side: 'SELL', remainingQuantity: '70000000', reservedFee: '55' })).toEqual(
      {
        asset: 'BTC',
        amount: 70_000_000n,
      },
    );
    expect(orderUnlock({ ...order, side: 'SELL', remainingQuantity: '0', reservedFee: '0' }).amount).toBe(0n);
  });

  it('stays exact far beyond 2^53', () => {
    const unlock = orderUnlock({
      ...order,
      side: 'BUY',
      price: '123456789012345678901234567890',
      baseDecimals: 18,
      remainingQuantity: '987654321098765432109876543210',
      reservedFee: '1',
    });
    const product = 123456789012345678901234567890n * 987654321098765432109876543210n;
    expect(unlock.amount).toBe((product + 10n ** 18n - 1n) / 10n ** 18n + 1n);
  });

  it('refuses what is not integer minor units', () => {
    expect(() => orderUnlock({ ...order, side: 'BUY', remainingQuantity: '1.5', reservedFee: '0' })).toThrow(
      ValidationError,
    );
    expect(() => ceilDiv(1n, 0n)).toThrow(ValidationError);
  });

  it('releases exactly what is still locked after any partial fills (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        fc.integer({ min: 0, max: 18 }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.array(fc.double({ min: 0, max: 0.5, noNaN: true }), { maxLength: 6 }),
        (quantity, price, baseDecimals, fee, fills) => {
          const scale = 10n ** BigInt(baseDecimals);
          // the exchange's lock: ceil(remaining x price / 10^d) + the fee share of the remainder, rounded up
          const lockOf = (remaining: bigint): bigint =>
            (remaining * price + scale - 1n) / scale + (fee * remaining + quantity - 1n) / quantity;
          let remaining = quantity;
          let locked = lockOf(quantity);
          for (const share of fills) {
            const filled = BigInt(Math.floor(Number(remaining) * share));
            const before = lockOf(remaining);
            remaining -= filled;
            locked -= before - lockOf(remaining); // what the fill consumed
          }
          const unlock = orderUnlock({
            side: 'BUY',
            price: price.toString(),
            baseDecimals,
            baseAsset: 'B',
            quoteAsset: 'Q',
            remainingQuantity: remaining.toString(),
            reservedFee: ((fee * remaining + quantity - 1n) / quantity).toString(),
          });
          expect(unlock.amount).toBe(locked);
        },
      ),
    );
  });
});

describe('priceChange', () => {
  it('gives the change in minor units and the percentage with 2 decimals, half away from zero', () => {
    expect(priceChange('6000000', '6150075')).toEqual({ change: '150075', percent: '2.50' });
    expect(priceChange('300000', '297000')).toEqual({ change: '-3000', percent: '-1.00' });
    expect(priceChange('800', '801')).toEqual({ change: '1', percent: '0.13' }); // 0.125 -> 0.13
    expect(priceChange('800', '799')).toEqual({ change: '-1', percent: '-0.13' });
    expect(priceChange('100000', '100001')).toEqual({ change: '1', percent: '0.00' });
    expect(priceChange('100000', '99999')).toEqual({ change: '-1', percent: '0.00' });
    expect(priceChange('3', '7')).toEqual({ change: '4', percent: '133.33' });
  });

  it('has no change without both prices, and no percentage of a zero open', () => {
    expect(priceChange(null, '5')).toEqual({ change: null, percent: null });
    expect(priceChange('5', null)).toEqual({ change: null, percent: null });
    expect(priceChange('0', '5')).toEqual({ change: '5', percent: null });
  });
});

describe('quoteVolume', () => {
  it('scales Σ price x quantity by 10^baseDecimals, rounding down', () => {
    expect(quoteVolume('224050000006420000', 8)).toBe('2240500000');
    expect(quoteVolume('99', 2)).toBe('0');
    expect(quoteVolume('12345', 0)).toBe('12345');
  });
});

describe('closedBarStart', () => {
  const at = (text: string): number => Date.parse(text);
  it('closes the bar that just ended on a boundary, or the last one ended before an off-boundary tick', () => {
    expect(closedBarStart('1m', at('2026-10-26T12:01:00Z'))).toBe(at('2026-10-26T12:00:00Z'));
    expect(closedBarStart('1m', at('2026-10-26T12:01:30Z'))).toBe(at('2026-10-26T12:00:00Z'));
    expect(closedBarStart('4h', at('2026-10-26T16:00:00Z'))).toBe(at('2026-10-26T12:00:00Z'));
    // a day boundary of another zone (a CRON_* with TZ=Europe/Berlin) still closes a whole UTC day
    expect(closedBarStart('1d', at('2026-10-26T23:00:00Z'))).toBe(at('2026-10-25T00:00:00Z'));
    expect(closedBarStart('1w', at('2026-11-02T00:00:00Z'))).toBe(at('2026-10-26T00:00:00Z'));
    expect(closedBarStart('1M', at('2026-03-01T00:00:00Z'))).toBe(at('2026-02-01T00:00:00Z'));
  });
});
