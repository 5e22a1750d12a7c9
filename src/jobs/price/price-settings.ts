// Settings of the price pack: the approved providers (PRICE_PROVIDERS) polled by price.ingest, and what the CFB
// sampler reads (CFB_PRICE_SAMPLE_*). Each provider gets its own cron schedule `price.ingest.<id>`.
import { z } from 'zod';
import { marketSymbol } from '../contract-fields.js';
import { integerVariable, jsonVariable, listVariable, parsePackSettings } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { barInterval } from './api.js';

/** Provider ids end up in schedule names, rate-limit keys and Idempotency-Keys. */
export const providerId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected a provider id of 1-32 chars [a-z0-9_-]');

/**
 * One approved provider. `url` may hold `{symbols}` (the provider symbols, comma-separated: one request) or
 * `{symbol}` (one request per symbol). Formats (the JSON each answers, normalized by provider-feed.ts):
 * `ticks` `{ ticks: [{ symbol, price, size?, at, tradeId? }] }`, `quotes` `{ quotes: [{ symbol, price, at }] }`,
 * `bars` `{ bars: [{ symbol, openAt, open, high, low, close, volume }] }` (or a bare array of the items);
 * prices as decimal strings or plain numbers, times as ISO-8601 or epoch milliseconds.
 */
// not in the seeds: chosen here (000 §3.1 says only "poll approved providers")
export const priceProviderSchema = z.strictObject({
  id: providerId,
  format: z.enum(['ticks', 'quotes', 'bars']),
  url: z
    .string()
    .refine(
      (url) => URL.canParse(url.replaceAll('{symbols}', 'X').replaceAll('{symbol}', 'X')),
      'expected a URL',
    )
    .refine((url) => /^https?:\/\//i.test(url), 'expected an http(s) URL'),
  symbols: z.array(marketSymbol).min(1).max(100),
  /** Market symbol -> the provider's spelling (`BTC/USDT` -> `BTCUSDT`); unmapped symbols are sent as they are. */
  symbolMap: z.record(marketSymbol, z.string().regex(/^[A-Za-z0-9/_.:-]{1,32}$/)).optional(),
  /** Bar interval of a `bars` provider. */
  interval: barInterval.default('1m'),
  /** The provider's rate limit, shared by every worker through Redis (bucket `price.<id>`). */
  perSecond: z.number().positive().max(10_000).default(5),
  burst: z.number().int().min(1).max(10_000).default(5),
  /** Sent with every request (e.g. an API key header); keep PRICE_PROVIDERS in the secret manager then. */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(1024)).optional(),
});

export type PriceProvider = z.output<typeof priceProviderSchema>;

export const priceSettingsSchema = z
  .looseObject({
    PRICE_PROVIDERS: jsonVariable(z.array(priceProviderSchema).max(50), []),
    /** Symbols cfb.price.sample writes minute bars for; required when the sampler runs. */
    CFB_PRICE_SAMPLE_SYMBOLS: listVariable(marketSymbol),
    /** Provider (a PRICE_PROVIDERS id of format `quotes`) the sampler reads when SVC_PRICE_URL is not set. */
    CFB_PRICE_SAMPLE_PROVIDER: providerId.optional(),
    /** Decimals kept when a price becomes integer minor units in the bars (8: 64250.12 -> 6425012000000). */
    CFB_PRICE_SAMPLE_DECIMALS: integerVariable(8, 0, 18),
    /** Lifetime of the sampler's bars in Redis. */
    CFB_PRICE_SAMPLE_BAR_TTL_MS: integerVariable(172_800_000, 60_000),
  })
  .superRefine((env, ctx) => {
    const ids = env.PRICE_PROVIDERS.map((p) => p.id);
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (twice.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['PRICE_PROVIDERS'],
        message: `provider ids must be unique, ${twice.join(', ')} appear more than once`,
      });
    }
    const sampler = env.CFB_PRICE_SAMPLE_PROVIDER;
    if (sampler !== undefined) {
      const provider = env.PRICE_PROVIDERS.find((p) => p.id === sampler);
      if (provider?.format !== 'quotes') {
        ctx.addIssue({
          code: 'custom',
          path: ['CFB_PRICE_SAMPLE_PROVIDER'],
          message: `expected the id of a PRICE_PROVIDERS entry of format "quotes", got ${sampler}`,
        });
      }
    }
  });

export interface PriceSettings {
  readonly providers: readonly PriceProvider[];
  readonly sampler: {
    readonly symbols: readonly string[];
    readonly provider: PriceProvider | undefined;
    readonly decimals: number;
    readonly barTtlMs: number;
  };
}

export function priceSettingsFrom(env: Environment): PriceSettings {
  const parsed = parsePackSettings(priceSettingsSchema, env, 'price');
  return {
    providers: parsed.PRICE_PROVIDERS,
    sampler: {
      symbols: parsed.CFB_PRICE_SAMPLE_SYMBOLS,
      provider: parsed.PRICE_PROVIDERS.find((p) => p.id === parsed.CFB_PRICE_SAMPLE_PROVIDER),
      decimals: parsed.CFB_PRICE_SAMPLE_DECIMALS,
      barTtlMs: parsed.CFB_PRICE_SAMPLE_BAR_TTL_MS,
    },
  };
}

/** `price.ingest.<provider id>`: the schedule (CRON_PRICE_INGEST_<ID>) whose ticks poll one provider. */
export function priceIngestSchedule(provider: string): string {
  return `price.ingest.${provider}`;
}
