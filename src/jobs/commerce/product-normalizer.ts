// Seed 003 §3 "Normalize product data from different sources": Shopify, WooCommerce, BigCommerce and custom product
// payloads (REST shapes, as their webhooks and APIs send them) -> one NormalizedProduct, or why one cannot be read.
import type { z } from 'zod';
import { decimalString } from '../contract-fields.js';
import { normalizedProduct } from './api.js';

export type NormalizedProduct = z.output<typeof normalizedProduct>;
export type ProductSourceName = 'shopify' | 'woocommerce' | 'bigcommerce' | 'custom';

type Raw = Record<string, unknown>;

function isRaw(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^[A-Za-z0-9_.:/-]{1,128}$/.test(value)) return value;
  return undefined;
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A price as a decimal string: strings as they are (if decimal), numbers printed without float noise. */
export function priceOf(value: unknown): string | undefined {
  let text: string | undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    text = value.toFixed(4).replace(/\.?0+$/, '');
  } else if (typeof value === 'string') text = value.trim();
  return text !== undefined && decimalString.safeParse(text).success ? text : undefined;
}

function countOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? Math.max(0, value) : undefined;
}

/** ISO-8601 with an offset, WooCommerce's `*_gmt` without one (UTC), or an RFC 2822 date (BigCommerce). */
export function timeOf(value: unknown, assumeUtc = false): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  const iso =
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/.test(text) && assumeUtc ? `${text}Z` : text;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

function build(fields: Partial<NormalizedProduct>): NormalizedProduct | string {
  const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  const parsed = normalizedProduct.safeParse(defined);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return `not a valid product (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`;
}

function shopify(raw: Raw): NormalizedProduct | string {
  const variants = Array.isArray(raw['variants']) ? raw['variants'].filter(isRaw) : [];
  const first = variants[0];
  const inventories = variants.map((v) => countOf(v['inventory_quantity']));
  const status = textOf(raw['status']);
  return build({
    externalId: idOf(raw['id']),
    title: textOf(raw['title']),
    description: textOf(raw['body_html']),
    sku: textOf(first?.['sku']),
    price: priceOf(first?.['price']),
    inventory:
      inventories.every((n) => n !== undefined) && inventories.length > 0
        ? inventories.reduce<number>((sum, n) => sum + (n ?? 0), 0)
        : undefined,
    status: status === 'draft' || status === 'archived' ? status : 'active',
    updatedAt: timeOf(raw['updated_at']),
  });
}

function woocommerce(raw: Raw): NormalizedProduct | string {
  const status = textOf(raw['status']);
  return build({
    externalId: idOf(raw['id']),
    title: textOf(raw['name']),
    description: textOf(raw['description']),
    sku: textOf(raw['sku']),
    price: priceOf(raw['price']) ?? priceOf(raw['regular_price']),
    inventory: countOf(raw['stock_quantity']),
    status: status === 'publish' ? 'active' : status === 'trash' ? 'archived' : 'draft',
    updatedAt: timeOf(raw['date_modified_gmt'], true) ?? timeOf(raw['date_modified'], true),
  });
}

function bigcommerce(raw: Raw): NormalizedProduct | string {
  return build({
    externalId: idOf(raw['id']),
    title: textOf(raw['name']),
    description: textOf(raw['description']),
    sku: textOf(raw['sku']),
    price: priceOf(raw['price']),
    inventory: countOf(raw['inventory_level']),
    status: raw['is_visible'] === false ? 'draft' : 'active',
    updatedAt: timeOf(raw['date_modified']),
  });
}

/** One product of a source, or why it cannot be normalized (the caller skips it and logs). */
export function normalizeProduct(source: ProductSourceName, raw: unknown): NormalizedProduct | string {
  if (!isRaw(raw)) return 'not an object';
  switch (source) {
    case 'shopify':
      return shopify(raw);
    case 'woocommerce':
      return woocommerce(raw);
    case 'bigcommerce':
      return bigcommerce(raw);
    case 'custom':
      return build(raw);
  }
}

/** The products of a webhook payload: one product, an array of them, or `{ products: [...] }` (at most 100). */
export function webhookProducts(webhookData: unknown): unknown[] {
  if (Array.isArray(webhookData)) return webhookData.slice(0, 100);
  if (isRaw(webhookData) && Array.isArray(webhookData['products']))
    return webhookData['products'].slice(0, 100);
  return webhookData === undefined ? [] : [webhookData];
}
