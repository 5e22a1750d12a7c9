// Commerce's event contracts (seed 003's queues as facts) on the `commerce` streams: one request type per queue.
import { z } from 'zod';
import type { EventRegistry } from '../../events/registry.js';
import { entityId, isoTimestamp } from '../contract-fields.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts, EventDataMap } from '../event-contract.js';

export const COMMERCE_DOMAIN = 'commerce';

/** ISO 4217 currency code, e.g. `USD`. */
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code');

/** BCP 47 locale, e.g. `en`, `de-DE`, `zh-Hant-TW`. */
// not in the seeds: chosen here
export const localeCode = z
  .string()
  .regex(/^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}$/, 'expected a BCP 47 locale like en or de-DE');

/** A host name of a tenant's custom domain (no scheme, port or path), e.g. `shop.example.com`. */
export const domainName = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'expected a lower-case host name',
  );

/** Seed 003 §1 `provider?: 'openexchangerates' | 'ecb' | 'fixer'`. */
export const fxProviderName = z.enum(['openexchangerates', 'fixer', 'ecb']);
/** Seed 003 §2 `provider?: 'anthropic' | 'openai'`. */
export const translationProviderName = z.enum(['anthropic', 'openai']);
/** Seed 003 §3 sources. */
export const productSource = z.enum(['shopify', 'woocommerce', 'bigcommerce', 'custom']);
/** Seed 003 §3 modes. */
export const productSyncMode = z.enum(['full', 'delta', 'inventory_only']);
/** Seed 003 §3 "Conflict Resolution Strategies" (the job data type lists three; the strategy list adds the fourth). */
export const conflictStrategy = z.enum(['source_wins', 'local_wins', 'newest_wins', 'flag_for_review']);
/** Seed 003 §4 sitemap types. */
export const sitemapType = z.enum(['products', 'categories', 'pages', 'index']);
/** Seed 003 §5 verification methods. */
export const verificationMethod = z.enum(['dns_txt', 'dns_cname', 'http_file', 'meta_tag']);

/** A refresh of one base currency's rates (seed 003 §1 FxRefreshJobData); fx.refresh.schedule publishes one per base. */
export const fxRefreshRequestedData = z.strictObject({
  baseCurrency: currencyCode,
  targetCurrencies: z.array(currencyCode).min(1).max(200).optional(),
  /** Provider tried first; the others of FX_PROVIDER_ORDER follow as fallbacks. */
  provider: fxProviderName.optional(),
  /** Fetch even when the cached rates are younger than FX_MIN_REFRESH_MS. */
  forceRefresh: z.boolean().optional(),
});

/** One field of one entity to translate (seed 003 §2 TranslationJobData); a batch is many events published at once. */
export const translationRequestedData = z.strictObject({
  jobId: entityId,
  tenantId: entityId,
  sourceLocale: localeCode,
  targetLocale: localeCode,
  content: z.strictObject({
    // the seed's list ends in `...`: any snake_case content type
    type: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a snake_case content type'),
    entityId,
    fieldName: z.string().regex(/^[A-Za-z][A-Za-z0-9_.]{0,63}$/, 'expected a field name'),
    // not in the seeds: chosen here (the bound keeps one event under EVENT_MAX_BYTES)
    sourceText: z.string().min(1).max(20_000),
  }),
  provider: translationProviderName.optional(),
});

/** A product sync of one tenant's source (seed 003 §3 ProductSyncJobData): a webhook's product or a page-wise delta. */
export const productSyncRequestedData = z.strictObject({
  syncId: entityId,
  tenantId: entityId,
  source: productSource,
  mode: productSyncMode,
  conflictResolution: conflictStrategy.optional(),
  /** The source's product payload as its webhook delivered it (Shopify, WooCommerce, BigCommerce or custom shape). */
  webhookData: z.unknown().optional(),
});

/** Sitemaps of one tenant (seed 003 §4 SitemapJobData); sitemap.schedule publishes one per tenant daily. */
export const sitemapGenerationRequestedData = z.strictObject({
  jobId: entityId,
  tenantId: entityId,
  types: z.array(sitemapType).min(1).max(4).optional(),
  locales: z.array(localeCode).min(1).max(100).optional(),
  /** false: a dry run (generated, counted and cached, not stored). Default true. */
  uploadToStorage: z.boolean().optional(),
  pingSearchEngines: z.boolean().optional(),
});

/** A custom domain to verify (seed 003 §5), published by Commerce when a tenant adds or re-checks one. */
export const domainVerificationRequestedData = z.strictObject({
  domainId: entityId,
  tenantId: entityId,
  domain: domainName,
  method: verificationMethod,
  // not in the seeds: chosen here
  token: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'expected a verification token of 16-128 chars'),
  /** Start of the verification window (DOMAIN_VERIFICATION_WINDOW_MS). */
  requestedAt: isoTimestamp,
  /** Who is told of the result (notification.requested); none = nobody. */
  notifyUserId: entityId.optional(),
});

/** An email (seed 003 queue `email`); the provider renders the template. */
// not in the seeds: chosen here (the fields)
export const emailRequestedData = z.strictObject({
  messageId: entityId,
  tenantId: entityId.optional(),
  to: z.array(z.email().max(254)).min(1).max(50),
  template: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a template id'),
  locale: localeCode.optional(),
  subject: z.string().min(1).max(300).optional(),
  variables: z
    .record(z.string().max(64), z.union([z.string().max(2000), z.number(), z.boolean()]))
    .optional(),
});

/** A push notification to one user (seed 003 queue `notification`). */
// not in the seeds: chosen here (the fields)
export const notificationRequestedData = z.strictObject({
  notificationId: entityId,
  tenantId: entityId,
  userId: entityId,
  title: z.string().min(1).max(200),
  body: z.string().min(1).max(2000),
  data: z.record(z.string().max(64), z.string().max(1000)).optional(),
});

/** One webhook event for one tenant endpoint (seed 003 queue `webhook-delivery`); Commerce publishes one per endpoint. */
// not in the seeds: chosen here (the fields)
export const webhookDeliveryRequestedData = z.strictObject({
  deliveryId: entityId,
  endpointId: entityId,
  tenantId: entityId,
  eventType: z.string().regex(/^[a-z0-9_]+(?:\.[a-z0-9_]+)+$/, 'expected an event type like order.created'),
  payload: z.record(z.string(), z.unknown()),
});

export const commerceEvents = {
  'fx.refresh_requested': {
    schema: fxRefreshRequestedData,
    producer: 'commerce',
    key: 'baseCurrency',
    seed: '003 §1 FX Refresh Worker (FxRefreshJobData); fx.refresh.schedule publishes it every 15 min',
  },
  'translation.requested': {
    schema: translationRequestedData,
    producer: 'commerce',
    key: 'jobId',
    seed: '003 §2 Translation Worker (TranslationJobData)',
  },
  'product.sync_requested': {
    schema: productSyncRequestedData,
    producer: 'commerce',
    key: 'tenantId',
    seed: '003 §3 Product Sync Worker (ProductSyncJobData); product.sync.schedule publishes the 6-hourly deltas',
  },
  'sitemap.generation_requested': {
    schema: sitemapGenerationRequestedData,
    producer: 'commerce',
    key: 'tenantId',
    seed: '003 §4 Sitemap Generator Worker (SitemapJobData); sitemap.schedule publishes them daily at 03:00 UTC',
  },
  'domain.verification_requested': {
    schema: domainVerificationRequestedData,
    producer: 'commerce',
    key: 'domainId',
    seed: '003 §5 Domain Verification Worker; the fields are not in the seeds: chosen here',
  },
  'email.requested': {
    schema: emailRequestedData,
    producer: 'commerce',
    key: 'messageId',
    seed: '003 queue email ("Email dispatch"); the fields are not in the seeds: chosen here',
  },
  'notification.requested': {
    schema: notificationRequestedData,
    producer: 'commerce',
    key: 'notificationId',
    seed: '003 queue notification ("Push notifications"), and §5 "Send notification on success/failure"',
  },
  'webhook.delivery_requested': {
    schema: webhookDeliveryRequestedData,
    producer: 'commerce',
    key: 'endpointId',
    seed: '003 queue webhook-delivery ("Webhook event delivery"); the fields are not in the seeds: chosen here',
  },
} as const satisfies EventContracts;

export type CommerceEventMap = EventDataMap<typeof commerceEvents>;

export function registerCommerceEvents(registry: EventRegistry): void {
  registerEventContracts(registry, COMMERCE_DOMAIN, commerceEvents);
}
