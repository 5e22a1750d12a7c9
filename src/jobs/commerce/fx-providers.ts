// The fx providers of seed 003 (OpenExchangeRates, Fixer, ECB): their request URLs, their answers parsed into one
// quote shape, provider-side errors mapped to transient (rate limits) or permanent, and cross rates for any base.
import { XMLParser } from 'fast-xml-parser';
import { PermanentError, TransientError } from '../../errors.js';
import type { CommerceSettings } from './commerce-settings.js';

export type FxProvider = 'openexchangerates' | 'fixer' | 'ecb';

/** Rates of one provider answer: 1 `base` = rates[X] X; the base itself is 1. */
export interface FxQuote {
  readonly provider: FxProvider;
  readonly base: string;
  /** The provider's time of the rates (ISO UTC). */
  readonly asOf: string;
  readonly rates: Readonly<Record<string, number>>;
}

/** The provider refused for quota or rate reasons: try the fallback now, this one after `retryAfterMs`. */
export class FxRateLimitedError extends TransientError {}

const CURRENCY = /^[A-Z]{3}$/;

/** The request URL of a provider, or undefined when it lacks its key (it is then left out of the order). */
export function fxProviderUrl(provider: FxProvider, settings: CommerceSettings): string | undefined {
  switch (provider) {
    case 'openexchangerates': {
      if (settings.OPEN_EXCHANGE_RATES_APP_ID === undefined) return undefined;
      const url = new URL(settings.FX_OPENEXCHANGERATES_URL);
      url.searchParams.set('app_id', settings.OPEN_EXCHANGE_RATES_APP_ID);
      return url.href;
    }
    case 'fixer': {
      if (settings.FIXER_API_KEY === undefined) return undefined;
      const url = new URL(settings.FX_FIXER_URL);
      url.searchParams.set('access_key', settings.FIXER_API_KEY);
      return url.href;
    }
    case 'ecb':
      return settings.FX_ECB_URL;
  }
}

function ratesOf(value: unknown, provider: string): Record<string, number> {
  if (typeof value !== 'object' || value === null) throw new PermanentError(`${provider}: no rates object`);
  const rates: Record<string, number> = {};
  for (const [code, rate] of Object.entries(value as Record<string, unknown>)) {
    if (CURRENCY.test(code) && typeof rate === 'number' && Number.isFinite(rate) && rate > 0)
      rates[code] = rate;
  }
  if (Object.keys(rates).length === 0)
    throw new PermanentError(`${provider}: the answer holds no usable rate`);
  return rates;
}

function isoOfSeconds(value: unknown, provider: string): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new PermanentError(`${provider}: no timestamp in the answer`);
  }
  return new Date(value * 1000).toISOString();
}

function record(body: unknown, provider: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PermanentError(`${provider}: the answer is not a JSON object`);
  }
  return body as Record<string, unknown>;
}

/** OpenExchangeRates `latest.json`: `{ timestamp, base, rates }` (errors come as HTTP 4xx, mapped by the fetcher). */
export function parseOpenExchangeRates(body: unknown): FxQuote {
  const answer = record(body, 'openexchangerates');
  const base = answer['base'];
  if (typeof base !== 'string' || !CURRENCY.test(base))
    throw new PermanentError('openexchangerates: no base');
  return {
    provider: 'openexchangerates',
    base,
    asOf: isoOfSeconds(answer['timestamp'], 'openexchangerates'),
    rates: { ...ratesOf(answer['rates'], 'openexchangerates'), [base]: 1 },
  };
}

/** Fixer error codes that mean "not now" (monthly quota, rate limit); the others are configuration problems. */
const FIXER_LIMIT_CODES = new Set([104, 106, 429]);
/** Fixer does not say when its quota comes back: the provider cools down this long. */
export const FIXER_LIMIT_COOLDOWN_MS = 3_600_000;

/** Fixer `latest`: `{ success, timestamp, base, rates }`, or HTTP 200 with `{ success: false, error: { code, type } }`. */
export function parseFixer(body: unknown): FxQuote {
  const answer = record(body, 'fixer');
  if (answer['success'] !== true) {
    const error = answer['error'];
    const code =
      typeof error === 'object' && error !== null ? (error as Record<string, unknown>)['code'] : undefined;
    const type =
      typeof error === 'object' && error !== null ? (error as Record<string, unknown>)['type'] : undefined;
    const what =
      `fixer refused: ${typeof code === 'number' ? code : '?'} ${typeof type === 'string' ? type : ''}`.trim();
    if (typeof code === 'number' && FIXER_LIMIT_CODES.has(code)) {
      throw new FxRateLimitedError(what, FIXER_LIMIT_COOLDOWN_MS);
    }
    throw new PermanentError(what);
  }
  const base = answer['base'];
  if (typeof base !== 'string' || !CURRENCY.test(base)) throw new PermanentError('fixer: no base');
  return {
    provider: 'fixer',
    base,
    asOf: isoOfSeconds(answer['timestamp'], 'fixer'),
    rates: { ...ratesOf(answer['rates'], 'fixer'), [base]: 1 },
  };
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseAttributeValue: false,
  isArray: (name) => name === 'Cube',
});

/** ECB `eurofxref-daily.xml`: `<Cube><Cube time><Cube currency rate/>...` against EUR, published on working days. */
export function parseEcb(body: string): FxQuote {
  let document: unknown;
  try {
    document = xml.parse(body);
  } catch {
    throw new PermanentError('ecb: the answer is not XML');
  }
  const envelope = (document as Record<string, unknown> | undefined)?.['Envelope'] as
    Record<string, unknown> | undefined;
  const outer = (envelope?.['Cube'] as Record<string, unknown>[] | undefined)?.[0];
  const daily = (outer?.['Cube'] as Record<string, unknown>[] | undefined)?.[0];
  const time = daily?.['@_time'];
  if (typeof time !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(time)) {
    throw new PermanentError('ecb: no daily Cube with a time');
  }
  const rates: Record<string, number> = { EUR: 1 };
  for (const cube of (daily?.['Cube'] as Record<string, unknown>[] | undefined) ?? []) {
    const code = cube['@_currency'];
    const rate = Number(cube['@_rate']);
    if (typeof code === 'string' && CURRENCY.test(code) && Number.isFinite(rate) && rate > 0)
      rates[code] = rate;
  }
  if (Object.keys(rates).length === 1) throw new PermanentError('ecb: the answer holds no usable rate');
  return { provider: 'ecb', base: 'EUR', asOf: `${time}T00:00:00.000Z`, rates };
}

/** A rate as a plain decimal string with 10 significant digits (no exponent, no float noise). */
export function formatRate(rate: number): string | undefined {
  if (!Number.isFinite(rate) || rate <= 0 || rate >= 1e15) return undefined;
  const digits = Math.min(18, Math.max(0, 9 - Math.floor(Math.log10(rate))));
  const text = rate
    .toFixed(digits)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
  return text === '0' ? undefined : text;
}

/**
 * Rates for `base` computed from a quote in any base (cross rates: X per base = X per quote base / base per quote
 * base), so one provider answer serves every base currency; undefined when the provider does not quote `base`.
 * `targets` keeps only those currencies (those the provider lacks are left out).
 */
export function crossRates(
  quote: FxQuote,
  base: string,
  targets?: readonly string[],
): Record<string, string> | undefined {
  const pivot = quote.rates[base];
  if (pivot === undefined) return undefined;
  const wanted = targets === undefined || targets.length === 0 ? Object.keys(quote.rates) : targets;
  const rates: Record<string, string> = {};
  for (const code of [...wanted].sort()) {
    const rate = quote.rates[code];
    if (code === base || rate === undefined) continue;
    const text = formatRate(rate / pivot);
    if (text !== undefined) rates[code] = text;
  }
  return rates;
}
