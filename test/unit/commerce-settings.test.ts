// The commerce pack's settings and catalogue: seed defaults, the retry table mapped onto each job, the 60 s timeout,
// overrides, bad variables named, flags, aliases, schedules and the declared priorities.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { commerceSettingsFrom, queueOptionsOf } from '../../src/jobs/commerce/commerce-settings.js';
import { COMMERCE_PRIORITIES, createCommercePack } from '../../src/jobs/commerce/pack.js';
import { COMMERCE_QUEUE_POLICIES } from '../../src/jobs/commerce/queue-policies.js';
import { scheduledSyncId } from '../../src/jobs/commerce/product-sync-schedule.js';

describe('commerce settings', () => {
  it('defaults to the seed: bases, provider order, 1 h fx cache, 45,000 URLs and 50 MB, 5 min domain checks', () => {
    const settings = commerceSettingsFrom({});
    expect(settings.FX_BASE_CURRENCIES).toEqual(['USD', 'EUR', 'GBP']);
    expect(settings.FX_PROVIDER_ORDER).toEqual(['openexchangerates', 'fixer']);
    expect(settings.FX_CACHE_TTL_MS).toBe(3_600_000);
    expect(settings.TRANSLATION_CACHE_TTL_MS).toBe(86_400_000);
    expect(settings.SITEMAP_MAX_URLS_PER_FILE).toBe(45_000);
    expect(settings.SITEMAP_MAX_FILE_BYTES).toBe(52_428_800);
    expect(settings.DOMAIN_VERIFICATION_EVERY_MS).toBe(300_000);
    expect(settings.COMMERCE_TIMEOUT_MS).toBe(60_000);
    expect(settings.PRODUCT_SYNC_CONFLICT_DEFAULT).toBe('flag_for_review');
  });

  it("maps the seed's retry table onto each job, with the 60 s timeout and COMMERCE_QUEUE_OPTIONS overrides", () => {
    const settings = commerceSettingsFrom({});
    expect(queueOptionsOf(settings, 'fx.refresh')).toEqual({
      retry: { maxAttempts: 3, backoff: { baseMs: 5000, maxMs: 60_000 } },
      timeoutMs: 60_000,
    });
    expect(queueOptionsOf(settings, 'translation.translate').retry).toEqual({
      maxAttempts: 3,
      backoff: { baseMs: 10_000, maxMs: 300_000 },
    });
    expect(queueOptionsOf(settings, 'product.sync').retry).toEqual({
      maxAttempts: 5,
      backoff: { baseMs: 30_000, maxMs: 600_000 },
    });
    expect(queueOptionsOf(settings, 'sitemap.generate').retry).toEqual({
      maxAttempts: 3,
      backoff: { baseMs: 60_000, maxMs: 600_000 },
    });
    expect(queueOptionsOf(settings, 'domain.verify').retry).toEqual({
      maxAttempts: 10,
      backoff: { baseMs: 60_000, maxMs: 3_600_000 },
    });
    // outside the table: the seed's default job options (3 attempts, 10 s), BACKOFF_MAX_MS caps
    expect(queueOptionsOf(settings, 'webhook.deliver').retry).toEqual({
      maxAttempts: 3,
      backoff: { baseMs: 10_000 },
    });
    const tuned = commerceSettingsFrom({
      COMMERCE_TIMEOUT_MS: '30000',
      COMMERCE_QUEUE_OPTIONS: JSON.stringify({
        '*': { maxAttempts: 4 },
        'sitemap.generate': { timeoutMs: 300_000, baseMs: 1000 },
      }),
    });
    expect(queueOptionsOf(tuned, 'sitemap.generate')).toEqual({
      retry: { maxAttempts: 4, backoff: { baseMs: 1000, maxMs: 600_000 } },
      timeoutMs: 300_000,
    });
    expect(queueOptionsOf(tuned, 'email.send').timeoutMs).toBe(30_000);
  });

  it('names every bad variable and never echoes a value', () => {
    let error: unknown;
    try {
      commerceSettingsFrom({
        FX_BASE_CURRENCIES: 'usd',
        SITEMAP_MAX_URLS_PER_FILE: '50000',
        COMMERCE_QUEUE_OPTIONS: '{"nope":{}}',
        DOMAIN_VERIFICATION_FILE_URL: 'https://example.com/file.txt',
        EMAIL_FROM: 'not-an-address',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of [
      'FX_BASE_CURRENCIES',
      'SITEMAP_MAX_URLS_PER_FILE',
      'COMMERCE_QUEUE_OPTIONS',
      'DOMAIN_VERIFICATION_FILE_URL',
      'EMAIL_FROM',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('usd');
    // the seed's .env leaves its keys blank: blank is unset, not an error
    const blank = commerceSettingsFrom({ FIXER_API_KEY: '', ANTHROPIC_API_KEY: ' ', FX_BASE_CURRENCIES: '' });
    expect(blank.FIXER_API_KEY).toBeUndefined();
    expect(blank.ANTHROPIC_API_KEY).toBeUndefined();
    expect(blank.FX_BASE_CURRENCIES).toEqual(['USD', 'EUR', 'GBP']);
  });
});

describe('commerce pack', () => {
  it('declares one job per queue (seed queue names as aliases), the three feeders with their CRON_* and flags', () => {
    const pack = createCommercePack({});
    const catalog = pack.jobs.map((job) => ({
      name: job.catalog.name,
      domain: job.catalog.domain,
      flag: job.catalog.enableFlag,
      aliases: job.catalog.aliases,
      schedules: job.schedules?.map((s) => [s.variable, s.defaultSpec]),
    }));
    expect(catalog).toEqual([
      {
        name: 'fx.refresh',
        domain: 'commerce',
        flag: 'ENABLE_FX_REFRESH',
        aliases: ['fx-refresh'],
        schedules: undefined,
      },
      {
        name: 'fx.refresh.schedule',
        domain: 'cron',
        flag: 'ENABLE_FX_REFRESH',
        aliases: ['commerce', 'fx-refresh'],
        schedules: [['CRON_FX_REFRESH', '*/15 * * * *']],
      },
      {
        name: 'translation.translate',
        domain: 'commerce',
        flag: 'ENABLE_TRANSLATION',
        aliases: ['translation'],
        schedules: undefined,
      },
      {
        name: 'product.sync',
        domain: 'commerce',
        flag: 'ENABLE_PRODUCT_SYNC',
        aliases: ['product-sync'],
        schedules: undefined,
      },
      {
        name: 'product.sync.schedule',
        domain: 'cron',
        flag: 'ENABLE_PRODUCT_SYNC',
        aliases: ['commerce', 'product-sync'],
        schedules: [['CRON_PRODUCT_SYNC', '0 */6 * * *']],
      },
      {
        name: 'sitemap.generate',
        domain: 'commerce',
        flag: 'ENABLE_SITEMAP_GENERATION',
        aliases: ['sitemap-generation'],
        schedules: undefined,
      },
      {
        name: 'sitemap.generate.schedule',
        domain: 'cron',
        flag: 'ENABLE_SITEMAP_GENERATION',
        aliases: ['commerce', 'sitemap-generation'],
        schedules: [['CRON_SITEMAP_GENERATION', 'TZ=UTC 0 3 * * *']],
      },
      {
        name: 'domain.verify',
        domain: 'commerce',
        flag: 'ENABLE_DOMAIN_VERIFICATION',
        aliases: ['domain-verification'],
        schedules: undefined,
      },
      {
        name: 'email.send',
        domain: 'commerce',
        flag: 'ENABLE_EMAIL',
        aliases: ['email'],
        schedules: undefined,
      },
      {
        name: 'notification.send',
        domain: 'commerce',
        flag: 'ENABLE_NOTIFICATION',
        aliases: ['notification'],
        schedules: undefined,
      },
      {
        name: 'webhook.deliver',
        domain: 'commerce',
        flag: 'ENABLE_WEBHOOK_DELIVERY',
        aliases: ['webhook-delivery'],
        schedules: undefined,
      },
    ]);
    expect(pack.jobs.every((job) => job.catalog.enabledByDefault === false)).toBe(true);
  });

  it('declares a priority for every queue, most urgent first for what people wait on', () => {
    expect(COMMERCE_PRIORITIES).toEqual({
      'notification.send': 1,
      'email.send': 2,
      'webhook.deliver': 3,
      'fx.refresh': 4,
      'domain.verify': 5,
      'translation.translate': 6,
      'product.sync': 7,
      'sitemap.generate': 9,
    });
    expect(Object.keys(COMMERCE_QUEUE_POLICIES)).toHaveLength(8);
  });

  it('derives the scheduled sync ids from the tick, tenant and source', () => {
    const id = scheduledSyncId('2026-11-23T12:00:00.000Z', 't1', 'shopify');
    expect(id).toMatch(/^delta_[0-9a-f]{32}$/);
    expect(scheduledSyncId('2026-11-23T12:00:00.000Z', 't1', 'shopify')).toBe(id);
    expect(scheduledSyncId('2026-11-23T18:00:00.000Z', 't1', 'shopify')).not.toBe(id);
  });
});
