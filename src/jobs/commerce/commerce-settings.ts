// Settings of the commerce pack (seed 003) from environment variables: providers and their keys, limits of each queue,
// the retry overrides and the per-queue timeout; every bad variable is reported at once, values never echoed.
import { z } from 'zod';
import { integerVariable, jsonVariable, listVariable, parsePackSettings } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { conflictStrategy, currencyCode, fxProviderName, translationProviderName } from './events.js';
import { COMMERCE_QUEUE_POLICIES, retryOf } from './queue-policies.js';
import type { CommerceQueueJob } from './queue-policies.js';

/** A decimal variable with bounds: absent -> `fallback`. */
function numberVariable(fallback: number, min: number, max: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): number => {
      if (raw === undefined) return fallback;
      const value = /^\d+(?:\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
      if (!Number.isFinite(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `expected a number from ${min} to ${max}` });
        return z.NEVER;
      }
      return value;
    });
}

const httpUrl = (fallback: string) => z.url({ protocol: /^https?$/ }).default(fallback);
const optionalHttpUrl = z.url({ protocol: /^https?$/ }).optional();
const secret = z.string().min(1).max(4096).optional();

/** `https://{domain}/...`: a URL once `{domain}` is filled in. */
const domainUrlTemplate = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((url) => url.includes('{domain}'), 'expected a URL template containing {domain}')
    .refine(
      (url) => /^https?:\/\//.test(url) && URL.canParse(url.replaceAll('{domain}', 'example.com')),
      'expected an http(s) URL template',
    );

const queueOverride = z.strictObject({
  maxAttempts: z.number().int().min(1).max(100).optional(),
  baseMs: z.number().int().min(1).optional(),
  maxMs: z.number().int().min(1).optional(),
  timeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
});

const queueJobs = Object.keys(COMMERCE_QUEUE_POLICIES) as [CommerceQueueJob, ...CommerceQueueJob[]];

export const commerceSettingsSchema = z.looseObject({
  /** Seed 003 default `timeout: 60000`: the per-attempt timeout of every commerce job. */
  COMMERCE_TIMEOUT_MS: integerVariable(60_000, 1000, 600_000),
  /**
   * Overrides of the seed's retry table and of the timeout per queue job, e.g.
   * `{"sitemap.generate":{"timeoutMs":300000},"*":{"maxAttempts":5}}`; `*` applies to every queue job.
   */
  COMMERCE_QUEUE_OPTIONS: jsonVariable(z.partialRecord(z.enum([...queueJobs, '*']), queueOverride), {}),

  FX_BASE_CURRENCIES: listVariable(currencyCode).pipe(z.array(currencyCode).max(50)),
  /** Empty: every currency the provider quotes. */
  FX_TARGET_CURRENCIES: listVariable(currencyCode),
  /** The first is the primary, the rest fallbacks in order (seed: OpenExchangeRates, Fixer "Backup API key"). */
  FX_PROVIDER_ORDER: listVariable(fxProviderName),
  OPEN_EXCHANGE_RATES_APP_ID: secret,
  FIXER_API_KEY: secret,
  FX_OPENEXCHANGERATES_URL: httpUrl('https://openexchangerates.org/api/latest.json'),
  FX_FIXER_URL: httpUrl('https://data.fixer.io/api/latest'),
  FX_ECB_URL: httpUrl('https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml'),
  /** Seed 003 "Cache in Redis with 1-hour TTL". */
  FX_CACHE_TTL_MS: integerVariable(3_600_000, 1000),
  /** A request without forceRefresh is skipped while the cached rates are younger than this. */
  FX_MIN_REFRESH_MS: integerVariable(300_000, 0),
  /** One provider answer serves every base currency asking within this time (one call per tick, not per base). */
  FX_PROVIDER_REUSE_MS: integerVariable(60_000, 1000),
  FX_RATE_PER_SECOND: numberVariable(1, 0.001, 1000),
  FX_RATE_BURST: integerVariable(5, 1, 1000),

  ANTHROPIC_API_KEY: secret,
  OPENAI_API_KEY: secret,
  TRANSLATION_ANTHROPIC_URL: httpUrl('https://api.anthropic.com/v1/messages'),
  TRANSLATION_OPENAI_URL: httpUrl('https://api.openai.com/v1/chat/completions'),
  TRANSLATION_ANTHROPIC_MODEL: z.string().min(1).max(100).default('claude-sonnet-4-5'),
  TRANSLATION_OPENAI_MODEL: z.string().min(1).max(100).default('gpt-4o-mini'),
  /** One LLM call (its own fetcher: the EXTERNAL_TIMEOUT_MS default of 10 s is short for a model). */
  TRANSLATION_TIMEOUT_MS: integerVariable(45_000, 1000, 600_000),
  /** Translations scoring below this are saved flagged for review. */
  TRANSLATION_REVIEW_THRESHOLD: numberVariable(0.8, 0, 1),
  TRANSLATION_RATE_PER_SECOND: numberVariable(2, 0.001, 1000),
  TRANSLATION_RATE_BURST: integerVariable(5, 1, 1000),
  /** Seed 003 caches translations 24 h. */
  TRANSLATION_CACHE_TTL_MS: integerVariable(86_400_000, 1000),

  /** Strategy of a request that names none (the seed gives no default). */
  PRODUCT_SYNC_CONFLICT_DEFAULT: conflictStrategy.default('flag_for_review'),
  PRODUCT_SYNC_PAGE_SIZE: integerVariable(100, 1, 500),
  PRODUCT_SYNC_MAX_PAGES: integerVariable(1000, 1, 100_000),

  /** Seed 003 "Max 45,000 URLs per sitemap". */
  SITEMAP_MAX_URLS_PER_FILE: integerVariable(45_000, 1, 45_000),
  /** Seed 003 "Max 50MB file size". */
  SITEMAP_MAX_FILE_BYTES: integerVariable(50 * 1024 * 1024, 1024, 50 * 1024 * 1024),
  SITEMAP_PAGE_SIZE: integerVariable(1000, 1, 5000),
  /** Ping URL templates with `{sitemap}` (the index URL); Google and Bing retired theirs, so none by default. */
  SITEMAP_PING_URLS: listVariable(
    z
      .string()
      .refine(
        (url) => url.includes('{sitemap}') && /^https?:\/\//.test(url),
        'expected an http(s) URL with {sitemap}',
      ),
  ),
  /** Seed 003 sitemaps cache 24 h (the summary of the last generation per tenant). */
  SITEMAP_CACHE_TTL_MS: integerVariable(86_400_000, 1000),

  /** Seed 003 "Every 5 minutes (pending)": how often a pending domain is checked again. */
  DOMAIN_VERIFICATION_EVERY_MS: integerVariable(300_000, 1000),
  /** Checks stop this long after `requestedAt`; the domain is then marked failed. */
  DOMAIN_VERIFICATION_WINDOW_MS: integerVariable(259_200_000, 1000),
  DOMAIN_VERIFICATION_TXT_PREFIX: z
    .string()
    .regex(/^_?[a-z0-9-]{1,63}$/)
    .default('_broxiva-verification'),
  DOMAIN_VERIFICATION_CNAME_TARGET: z
    .string()
    .regex(/^[a-z0-9.-]{1,253}$/)
    .default('domains.broxiva.com'),
  DOMAIN_VERIFICATION_FILE_URL: domainUrlTemplate('https://{domain}/.well-known/broxiva-verification.txt'),
  DOMAIN_VERIFICATION_HOME_URL: domainUrlTemplate('https://{domain}/'),
  DOMAIN_VERIFICATION_META_NAME: z
    .string()
    .regex(/^[a-z0-9_-]{1,64}$/)
    .default('broxiva-verification'),

  EMAIL_PROVIDER_URL: optionalHttpUrl,
  EMAIL_PROVIDER_API_KEY: secret,
  EMAIL_FROM: z.email().optional(),
  EMAIL_RATE_PER_SECOND: numberVariable(10, 0.001, 10_000),
  EMAIL_RATE_BURST: integerVariable(20, 1, 10_000),

  NOTIFICATION_PROVIDER_URL: optionalHttpUrl,
  NOTIFICATION_PROVIDER_API_KEY: secret,
  NOTIFICATION_RATE_PER_SECOND: numberVariable(20, 0.001, 10_000),
  NOTIFICATION_RATE_BURST: integerVariable(50, 1, 10_000),

  /** One delivery attempt (its own fetcher, which never follows redirects). */
  WEBHOOK_TIMEOUT_MS: integerVariable(15_000, 1000, 120_000),
  /** Per endpoint unless the endpoint sets its own (bucket `webhook.<endpoint>` shared through Redis). */
  WEBHOOK_RATE_PER_SECOND: numberVariable(5, 0.001, 1000),
  WEBHOOK_RATE_BURST: integerVariable(10, 1, 1000),
  /** A delivery waits this long for its endpoint's token, then is deferred (not failed) and its slot freed. */
  WEBHOOK_RATE_WAIT_MS: integerVariable(2000, 0, 60_000),
  /** Per-endpoint circuit breaker: failures within the window open it; open for WEBHOOK_BREAKER_OPEN_MS. */
  WEBHOOK_BREAKER_FAILURES: integerVariable(5, 1, 1000),
  WEBHOOK_BREAKER_WINDOW_MS: integerVariable(60_000, 1000),
  WEBHOOK_BREAKER_OPEN_MS: integerVariable(60_000, 100),
  /** A delivery deferred (breaker open, rate limited) past this age goes to the DLQ. */
  WEBHOOK_MAX_AGE_MS: integerVariable(86_400_000, 1000),
});

export type CommerceSettings = z.output<typeof commerceSettingsSchema>;

/** Seed 003 §1 "Support multiple base currencies (USD, EUR, GBP, etc.)". */
export const DEFAULT_FX_BASES = ['USD', 'EUR', 'GBP'] as const;
/** Seed 003 §1: OpenExchangeRates first, Fixer as the backup. */
export const DEFAULT_FX_PROVIDER_ORDER = ['openexchangerates', 'fixer'] as const;
/** Seed 003 §2: Anthropic preferred, OpenAI the fallback. */
export const TRANSLATION_PROVIDER_ORDER = translationProviderName.options;

/**
 * The settings of `env`. A blank variable counts as unset: seed 003's .env lists OPEN_EXCHANGE_RATES_APP_ID=,
 * FIXER_API_KEY=, ANTHROPIC_API_KEY= and OPENAI_API_KEY= blank, and a worker running no commerce job must still start.
 */
export function commerceSettingsFrom(env: Environment): CommerceSettings {
  const given = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const settings = parsePackSettings(commerceSettingsSchema, given, 'commerce');
  return {
    ...settings,
    FX_BASE_CURRENCIES:
      settings.FX_BASE_CURRENCIES.length === 0 ? [...DEFAULT_FX_BASES] : settings.FX_BASE_CURRENCIES,
    FX_PROVIDER_ORDER:
      settings.FX_PROVIDER_ORDER.length === 0
        ? [...DEFAULT_FX_PROVIDER_ORDER]
        : [...new Set(settings.FX_PROVIDER_ORDER)],
  };
}

/** The `retry` and `timeoutMs` of one queue job: the seed's row and timeout, under COMMERCE_QUEUE_OPTIONS. */
export function queueOptionsOf(
  settings: CommerceSettings,
  job: CommerceQueueJob,
): { retry: ReturnType<typeof retryOf>; timeoutMs: number } {
  const override = { ...settings.COMMERCE_QUEUE_OPTIONS['*'], ...settings.COMMERCE_QUEUE_OPTIONS[job] };
  return {
    retry: retryOf(COMMERCE_QUEUE_POLICIES[job], override),
    timeoutMs: override.timeoutMs ?? settings.COMMERCE_TIMEOUT_MS,
  };
}
