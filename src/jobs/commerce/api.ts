// Commerce's internal endpoints the commerce jobs call (SVC_COMMERCE_URL): fx snapshots, translations, product sync,
// sitemap data and files, domain status, webhook endpoints. None is in the seeds (003 shows BullMQ processors with
// database access); paths and shapes are chosen here.
import { z } from 'zod';
import { decimalString, entityId, isoTimestamp, nextCursor } from '../contract-fields.js';
import { commonStatuses, mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';
import {
  conflictStrategy,
  currencyCode,
  domainName,
  fxProviderName,
  localeCode,
  productSource,
  productSyncMode,
  sitemapType,
  translationProviderName,
  verificationMethod,
} from './events.js';

// ---- fx.refresh ----

/** A durable snapshot (seed 003 §1 "Write durable snapshots to Postgres exchange_rate table"). */
export const fxSnapshotRequest = z.strictObject({
  baseCurrency: currencyCode,
  provider: fxProviderName,
  /** The provider's own time of the rates: with base and provider, the snapshot's identity. */
  asOf: isoTimestamp,
  rates: z.record(currencyCode, decimalString),
});

export const fxSnapshotResponse = z.object({ snapshotId: entityId });

export const commerceFxSnapshot = {
  service: 'commerce',
  method: 'POST',
  path: '/internal/v1/commerce/fx/snapshots',
  seed: '003 §1 durable snapshots; path not in the seeds: chosen here',
  idempotencyKey: { scope: 'fx.refresh', parts: ['baseCurrency', 'provider', 'asOf'] },
  request: fxSnapshotRequest,
  response: fxSnapshotResponse,
  statuses: { ...mutationStatuses, 200: { outcome: 'ack', meaning: 'stored', body: fxSnapshotResponse } },
} as const satisfies InternalEndpoint;

// ---- translation ----

/** Seed 003 §2 status lifecycle: DRAFT -> AUTO_TRANSLATED -> VENDOR_APPROVED -> PUBLISHED. */
export const translationStatus = z.enum(['DRAFT', 'AUTO_TRANSLATED', 'VENDOR_APPROVED', 'PUBLISHED']);

export const translationStatusQuery = z.strictObject({
  tenantId: entityId,
  entityId,
  fieldName: z.string().min(1).max(64),
  locale: localeCode,
});

/** The target field's state; `status` null = no translation row yet (treated as DRAFT). */
export const translationStatusResponse = z.object({
  status: translationStatus.nullable(),
  /** sha256 hex of the source text the current translation was made from. */
  sourceHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
});

export const commerceTranslationStatus = {
  service: 'commerce',
  method: 'GET',
  path: '/internal/v1/commerce/translations/status',
  seed: '003 §2 status lifecycle; path not in the seeds: chosen here',
  query: translationStatusQuery,
  response: translationStatusResponse,
  statuses: {
    ...commonStatuses,
    200: {
      outcome: 'ack',
      meaning:
        'VENDOR_APPROVED/PUBLISHED: a vendor owns the text, nothing to do; AUTO_TRANSLATED of the same source: done',
      body: translationStatusResponse,
    },
  },
} as const satisfies InternalEndpoint;

export const translationSaveRequest = z.strictObject({
  jobId: entityId,
  tenantId: entityId,
  entityId,
  fieldName: z.string().min(1).max(64),
  contentType: z.string().min(1).max(64),
  sourceLocale: localeCode,
  targetLocale: localeCode,
  sourceHash: z.string().regex(/^[0-9a-f]{64}$/),
  text: z.string().min(1),
  /** Always AUTO_TRANSLATED: the later steps are the vendor's. */
  status: z.literal('AUTO_TRANSLATED'),
  provider: translationProviderName,
  /** 0-1 (seed 003 §2 "Quality scoring"). */
  quality: z.number().min(0).max(1),
  /** Seed 003 §2 "review flagging". */
  flaggedForReview: z.boolean(),
  flags: z.array(z.string().max(64)).max(10),
});

export const translationSaveResponse = z.object({ status: translationStatus });

/** 409 TRANSLATION_LOCKED: the row moved past AUTO_TRANSLATED meanwhile (a vendor approved it); the job acks. */
export const TRANSLATION_LOCKED = 'TRANSLATION_LOCKED';

export const commerceTranslationSave = {
  service: 'commerce',
  method: 'POST',
  path: '/internal/v1/commerce/translations',
  seed: '003 §2 DRAFT -> AUTO_TRANSLATED; path not in the seeds: chosen here',
  idempotencyKey: { scope: 'translation', parts: ['jobId'] },
  request: translationSaveRequest,
  response: translationSaveResponse,
  statuses: {
    ...mutationStatuses,
    200: { outcome: 'ack', meaning: 'saved as AUTO_TRANSLATED', body: translationSaveResponse },
    409: {
      outcome: 'by-error-code',
      meaning: `${mutationStatuses[409].meaning}; ${TRANSLATION_LOCKED}: a vendor owns the text now, ack`,
    },
  },
} as const satisfies InternalEndpoint;

// ---- product.sync ----

/** A product as the commerce catalogue keeps it from any source (product-normalizer.ts builds it). */
export const normalizedProduct = z.strictObject({
  externalId: z.string().min(1).max(128),
  title: z.string().min(1).max(500),
  description: z.string().max(100_000).optional(),
  sku: z.string().max(128).optional(),
  /** Decimal string in the shop's currency (Commerce knows it per tenant); never a float. */
  price: decimalString.optional(),
  inventory: z.number().int().min(0).optional(),
  status: z.enum(['active', 'draft', 'archived']),
  updatedAt: isoTimestamp,
});

/** The local copy: `locallyModifiedAt` set = edited in Commerce since the last sync (a conflict candidate). */
export const localProduct = z.object({
  externalId: z.string().min(1).max(128),
  productId: entityId,
  /** Optimistic concurrency: the apply carries it back; 409 VERSION_CONFLICT when it moved meanwhile (retry). */
  version: z.number().int().min(0),
  product: normalizedProduct,
  locallyModifiedAt: isoTimestamp.nullable(),
});

export const productSourcesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500),
  cursor: z.string().min(1).max(512).optional(),
});

/** Connected sources (seed 003 §3 "Scheduled delta sync (every 6 hours)"), each with its tenant's strategy. */
export const productSourcesResponse = z.object({
  items: z
    .array(
      z.object({
        tenantId: entityId,
        source: productSource,
        conflictResolution: conflictStrategy.optional(),
      }),
    )
    .max(500),
  nextCursor,
});

export const commerceProductSources = {
  service: 'commerce',
  method: 'GET',
  path: '/internal/v1/commerce/product-sync/sources',
  seed: '003 §3 scheduled delta sync; path not in the seeds: chosen here',
  query: productSourcesQuery,
  response: productSourcesResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'a page of connected sources', body: productSourcesResponse },
  },
} as const satisfies InternalEndpoint;

export const productChangesQuery = z.strictObject({
  tenantId: entityId,
  source: productSource,
  mode: productSyncMode,
  limit: z.coerce.number().int().min(1).max(500),
  cursor: z.string().min(1).max(512).optional(),
});

/**
 * Changes at the source (Commerce's connector holds the merchant's credentials and calls Shopify & co.), each in the
 * source's own shape, with the local copy. Without a cursor: from the sync point the last apply committed, so a
 * sync that failed half-way resumes where it stopped.
 */
export const productChangesResponse = z.object({
  items: z.array(z.object({ external: z.unknown(), local: localProduct.nullable() })).max(500),
  nextCursor,
});

export const commerceProductChanges = {
  service: 'commerce',
  method: 'GET',
  path: '/internal/v1/commerce/product-sync/changes',
  seed: '003 §3 delta/full/inventory_only; path not in the seeds: chosen here',
  query: productChangesQuery,
  response: productChangesResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'a page of source changes', body: productChangesResponse },
  },
} as const satisfies InternalEndpoint;

export const productLookupQuery = z.strictObject({
  tenantId: entityId,
  source: productSource,
  /** Comma-separated, at most 100. */
  externalIds: z.string().min(1).max(13_000),
});

export const productLookupResponse = z.object({ items: z.array(localProduct).max(100) });

export const commerceProductLookup = {
  service: 'commerce',
  method: 'GET',
  path: '/internal/v1/commerce/products/by-external-id',
  seed: '003 §3 webhook-driven sync; path not in the seeds: chosen here',
  query: productLookupQuery,
  response: productLookupResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'the local copies that exist', body: productLookupResponse },
  },
} as const satisfies InternalEndpoint;

/** What the job decided for one product (product-conflicts.ts). */
export const productResolution = z.enum(['created', 'updated', 'source_wins', 'newest_wins', 'inventory']);

export const productApplyRequest = z.strictObject({
  syncId: entityId,
  tenantId: entityId,
  source: productSource,
  mode: productSyncMode,
  strategy: conflictStrategy,
  upserts: z
    .array(
      z.strictObject({
        externalId: z.string().min(1).max(128),
        /** The local version it was decided against; null = create. */
        expectedVersion: z.number().int().min(0).nullable(),
        resolution: productResolution,
        /** The whole product, or only `inventory` in inventory_only mode. */
        product: normalizedProduct.partial().extend({ externalId: z.string().min(1).max(128) }),
      }),
    )
    .max(500),
  /** Seed 003 §3 `flag_for_review`: marked as a conflict for manual resolution, nothing changed. */
  conflicts: z
    .array(
      z.strictObject({
        externalId: z.string().min(1).max(128),
        expectedVersion: z.number().int().min(0),
        external: normalizedProduct,
      }),
    )
    .max(500),
  /** Kept local edits (local_wins, or newest_wins with the newer local edit): counted only. */
  keptLocal: z.number().int().min(0),
  /**
   * Where the next page starts, committed as the source's sync point with this page (null: the run is complete);
   * absent for a webhook's products, which leave the sync point alone.
   */
  nextCursor: nextCursor.optional(),
});

export const productApplyResponse = z.object({
  applied: z.number().int().min(0),
  flagged: z.number().int().min(0),
});

export const commerceProductApply = {
  service: 'commerce',
  method: 'POST',
  path: '/internal/v1/commerce/product-sync/apply',
  seed: '003 §3 "Detect and resolve conflicts"; path not in the seeds: chosen here',
  idempotencyKey: { scope: 'product.sync', parts: ['syncId', 'digest(request)'] },
  request: productApplyRequest,
  response: productApplyResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'applied; the sync point moved to nextCursor',
      body: productApplyResponse,
    },
    409: {
      outcome: 'by-error-code',
      meaning: `${mutationStatuses[409].meaning}; VERSION_CONFLICT: a local copy changed since it was read, retry (re-read)`,
    },
  },
} as const satisfies InternalEndpoint;

// ---- sitemap.generate ----

export const sitemapTenantsQuery = productSourcesQuery;

/** Tenants with a storefront (seed 003 §4 "each tenant gets own sitemap"). */
export const sitemapTenantsResponse = z.object({
  items: z.array(z.object({ tenantId: entityId })).max(500),
  nextCursor,
});

export const commerceSitemapTenants = {
  service: 'commerce',
  method: 'GET',
  path: '/internal/v1/commerce/sitemap/tenants',
  seed: '003 §4 tenant-aware; path not in the seeds: chosen here',
  query: sitemapTenantsQuery,
  response: sitemapTenantsResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'a page of tenants', body: sitemapTenantsResponse },
  },
} as const satisfies InternalEndpoint;

export const sitemapConfigQuery = z.strictObject({ tenantId: entityId });

export const sitemapConfigResponse = z.object({
  tenantId: entityId,
  /** The storefront's origin, e.g. https://shop.example.com */
  baseUrl: z.url({ protocol: /^https?$/ }),
  locales: z.array(localeCode).min(1).max(100),
});

export const commerceSitemapConfig = {
  service: 'commerce',
  method: 'GET',
  path: '/internal/v1/commerce/sitemap/config',
  seed: '003 §4 per-locale; path not in the seeds: chosen here',
  query: sitemapConfigQuery,
  response: sitemapConfigResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: "the tenant's storefront and locales", body: sitemapConfigResponse },
  },
} as const satisfies InternalEndpoint;

export const sitemapUrlsQuery = z.strictObject({
  tenantId: entityId,
  locale: localeCode,
  type: sitemapType.exclude(['index']),
  limit: z.coerce.number().int().min(1).max(5000),
  cursor: z.string().min(1).max(512).optional(),
});

export const sitemapUrl = z.object({
  loc: z.url({ protocol: /^https?$/ }).max(2048),
  lastmod: isoTimestamp.optional(),
  changefreq: z.enum(['always', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'never']).optional(),
  priority: z.number().min(0).max(1).optional(),
});

export const sitemapUrlsResponse = z.object({ items: z.array(sitemapUrl).max(5000), nextCursor });

export const commerceSitemapUrls = {
  service: 'commerce',
  method: 'GET',
  path: '/internal/v1/commerce/sitemap/urls',
  seed: '003 §4 "Include products, categories, pages"; path not in the seeds: chosen here',
  query: sitemapUrlsQuery,
  response: sitemapUrlsResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'a page of public URLs', body: sitemapUrlsResponse },
  },
} as const satisfies InternalEndpoint;

export const sitemapFileRequest = z.strictObject({
  jobId: entityId,
  tenantId: entityId,
  /** `urlset` files first; the `index` upload makes this job's files the tenant's live sitemap. */
  kind: z.enum(['urlset', 'index']),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}\.xml$/),
  urlCount: z.number().int().min(0).max(50_000),
  bytes: z
    .number()
    .int()
    .min(1)
    .max(50 * 1024 * 1024),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The XML document. */
  content: z.string().min(1),
  /** Index only: every urlset file of the job, which Commerce keeps; older files of the tenant are dropped. */
  files: z.array(z.string()).max(50_000).optional(),
});

export const sitemapFileResponse = z.object({
  name: z.string(),
  /** Public URL of the stored file (seed 003 SITEMAP_STORAGE_URL + tenant + name). */
  url: z.url({ protocol: /^https?$/ }),
});

export const commerceSitemapFile = {
  service: 'commerce',
  method: 'POST',
  path: '/internal/v1/commerce/sitemap/files',
  seed: '003 §4 "Upload to S3/storage"; path not in the seeds: chosen here',
  idempotencyKey: { scope: 'sitemap.generate', parts: ['jobId', 'name', 'sha256'] },
  request: sitemapFileRequest,
  response: sitemapFileResponse,
  statuses: { ...mutationStatuses, 200: { outcome: 'ack', meaning: 'stored', body: sitemapFileResponse } },
} as const satisfies InternalEndpoint;

// ---- domain.verify ----

/** Seed 003 §5 "Update tenant_domains.status". */
export const domainStatusRequest = z.strictObject({
  domainId: entityId,
  tenantId: entityId,
  domain: domainName,
  method: verificationMethod,
  status: z.enum(['verified', 'failed']),
  /** Why it failed (the last check's finding); absent when verified. */
  reason: z.string().max(500).optional(),
});

export const domainStatusResponse = z.object({ status: z.enum(['pending', 'verified', 'failed']) });

export const commerceDomainStatus = {
  service: 'commerce',
  method: 'POST',
  path: '/internal/v1/commerce/domains/status',
  seed: '003 §5 "Update tenant_domains.status"; path not in the seeds: chosen here',
  idempotencyKey: { scope: 'domain.verify', parts: ['domainId', 'token', 'status'] },
  request: domainStatusRequest,
  response: domainStatusResponse,
  statuses: { ...mutationStatuses, 200: { outcome: 'ack', meaning: 'recorded', body: domainStatusResponse } },
} as const satisfies InternalEndpoint;

// ---- webhook.delivery ----

export const webhookEndpointQuery = z.strictObject({ endpointId: entityId });

/** A tenant's endpoint, read at every attempt so a disabled endpoint or a rotated secret counts at once. */
export const webhookEndpointResponse = z.object({
  endpointId: entityId,
  tenantId: entityId,
  url: z.url({ protocol: /^https?$/ }).max(2048),
  /** HMAC-SHA256 key of the signatures; never logged. */
  secret: z.string().min(16).max(256),
  status: z.enum(['active', 'disabled']),
  /** The endpoint's own rate limit, when the tenant set one (else WEBHOOK_RATE_PER_SECOND/BURST). */
  ratePerSecond: z.number().positive().max(1000).optional(),
  burst: z.number().int().min(1).max(1000).optional(),
});

export const commerceWebhookEndpoint = {
  service: 'commerce',
  method: 'GET',
  path: '/internal/v1/commerce/webhooks/endpoint',
  seed: 'not in the seeds: chosen here',
  query: webhookEndpointQuery,
  response: webhookEndpointResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'the endpoint and its secret', body: webhookEndpointResponse },
  },
} as const satisfies InternalEndpoint;
