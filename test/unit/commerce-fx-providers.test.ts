// The fx providers' answers parsed into one quote shape, provider errors mapped, and cross rates for any base.
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.js';
import {
  FxRateLimitedError,
  crossRates,
  formatRate,
  fxProviderUrl,
  parseEcb,
  parseFixer,
  parseOpenExchangeRates,
} from '../../src/jobs/commerce/fx-providers.js';
import { commerceSettingsFrom } from '../../src/jobs/commerce/commerce-settings.js';

describe('fx providers', () => {
  it('parses OpenExchangeRates and Fixer answers, keeping only sane rates', () => {
    expect(
      parseOpenExchangeRates({
        timestamp: 1_763_900_000,
        base: 'USD',
        rates: { EUR: 0.9, BAD: 'x', xx: 1, GBP: 0 },
      }),
    ).toEqual({
      provider: 'openexchangerates',
      base: 'USD',
      asOf: '2025-11-23T12:13:20.000Z',
      rates: { EUR: 0.9, USD: 1 },
    });
    expect(
      parseFixer({ success: true, timestamp: 1_763_900_000, base: 'EUR', rates: { USD: 1.1 } }),
    ).toMatchObject({
      provider: 'fixer',
      base: 'EUR',
      rates: { USD: 1.1, EUR: 1 },
    });
    expect(() => parseOpenExchangeRates({ base: 'USD', rates: { EUR: 0.9 } })).toThrow(PermanentError);
    expect(() => parseOpenExchangeRates([])).toThrow(/not a JSON object/);
  });

  it('maps Fixer refusals: quota and rate limits are transient (the fallback serves), bad keys permanent', () => {
    const limited = (() => {
      try {
        parseFixer({ success: false, error: { code: 104, type: 'usage_limit_reached' } });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(limited).toBeInstanceOf(FxRateLimitedError);
    expect((limited as FxRateLimitedError).retryAfterMs).toBe(3_600_000);
    expect(() => parseFixer({ success: false, error: { code: 101, type: 'invalid_access_key' } })).toThrow(
      /fixer refused: 101 invalid_access_key/,
    );
  });

  it('parses the ECB daily XML against EUR', () => {
    const xml =
      '<?xml version="1.0"?><gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" ' +
      'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube><Cube time="2026-11-20">' +
      '<Cube currency="USD" rate="1.0812"/><Cube currency="JPY" rate="162.5"/></Cube></Cube></gesmes:Envelope>';
    expect(parseEcb(xml)).toEqual({
      provider: 'ecb',
      base: 'EUR',
      asOf: '2026-11-20T00:00:00.000Z',
      rates: { EUR: 1, USD: 1.0812, JPY: 162.5 },
    });
    expect(() => parseEcb('<html>nope</html>')).toThrow(/no daily Cube/);
  });

  it('computes cross rates for any quoted base as plain decimal strings', () => {
    const quote = {
      provider: 'fixer' as const,
      base: 'EUR',
      asOf: '',
      rates: { EUR: 1, USD: 1.1, JPY: 165, BTC: 0.0000105 },
    };
    expect(crossRates(quote, 'USD')).toEqual({
      BTC: '0.000009545454545',
      EUR: '0.9090909091',
      JPY: '150',
    });
    expect(crossRates(quote, 'EUR', ['USD', 'CHF'])).toEqual({ USD: '1.1' });
    expect(crossRates(quote, 'CHF')).toBeUndefined();
    expect(formatRate(1)).toBe('1');
    expect(formatRate(123456.789)).toBe('123456.789');
    expect(formatRate(0)).toBeUndefined();
    expect(formatRate(Number.NaN)).toBeUndefined();
  });

  it('builds provider URLs with their keys, and leaves a provider without a key out', () => {
    const settings = commerceSettingsFrom({ OPEN_EXCHANGE_RATES_APP_ID: 'app id' });
    expect(fxProviderUrl('openexchangerates', settings)).toBe(
      'https://openexchangerates.org/api/latest.json?app_id=app+id',
    );
    expect(fxProviderUrl('fixer', settings)).toBeUndefined();
    expect(fxProviderUrl('ecb', settings)).toBe(
      'https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml',
    );
  });
});
