// Product sync: the four source shapes normalized into one product, and the seed's conflict strategies.
import { describe, expect, it } from 'vitest';
import { resolveProducts } from '../../src/jobs/commerce/product-conflicts.js';
import type { LocalProduct } from '../../src/jobs/commerce/product-conflicts.js';
import {
  normalizeProduct,
  priceOf,
  timeOf,
  webhookProducts,
} from '../../src/jobs/commerce/product-normalizer.js';
import type { NormalizedProduct } from '../../src/jobs/commerce/product-normalizer.js';

const product = (fields: Partial<NormalizedProduct> = {}): NormalizedProduct => ({
  externalId: '7',
  title: 'Lamp',
  price: '40',
  inventory: 3,
  status: 'active',
  updatedAt: '2026-11-22T10:00:00.000Z',
  ...fields,
});

const local = (fields: Partial<NormalizedProduct>, locallyModifiedAt: string | null): LocalProduct => ({
  externalId: '7',
  productId: 'prod_7',
  version: 2,
  product: product(fields),
  locallyModifiedAt,
});

describe('product normalizer', () => {
  it('reads Shopify, WooCommerce, BigCommerce and custom products', () => {
    expect(
      normalizeProduct('shopify', {
        id: 632910392,
        title: 'IPod Nano',
        body_html: '<p>It is music.</p>',
        status: 'archived',
        updated_at: '2026-11-20T12:00:00-05:00',
        variants: [
          { sku: 'IPOD-1', price: '199.00', inventory_quantity: 10 },
          { sku: 'IPOD-2', price: '199.00', inventory_quantity: 5 },
        ],
      }),
    ).toEqual({
      externalId: '632910392',
      title: 'IPod Nano',
      description: '<p>It is music.</p>',
      sku: 'IPOD-1',
      price: '199.00',
      inventory: 15,
      status: 'archived',
      updatedAt: '2026-11-20T17:00:00.000Z',
    });
    expect(
      normalizeProduct('woocommerce', {
        id: 794,
        name: 'Premium Quality',
        status: 'draft',
        sku: '',
        price: '',
        regular_price: '21.99',
        stock_quantity: null,
        date_modified_gmt: '2026-11-20T10:00:00',
      }),
    ).toEqual({
      externalId: '794',
      title: 'Premium Quality',
      price: '21.99',
      status: 'draft',
      updatedAt: '2026-11-20T10:00:00.000Z',
    });
    expect(
      normalizeProduct('bigcommerce', {
        id: 111,
        name: 'Towel',
        price: 9.95,
        inventory_level: 4,
        is_visible: false,
        date_modified: 'Tue, 20 Nov 2026 00:00:00 +0000',
      }),
    ).toMatchObject({
      externalId: '111',
      price: '9.95',
      inventory: 4,
      status: 'draft',
      updatedAt: '2026-11-20T00:00:00.000Z',
    });
    expect(normalizeProduct('custom', product())).toEqual(product());
  });

  it('says why a product cannot be read instead of guessing', () => {
    expect(normalizeProduct('shopify', { id: 1, updated_at: '2026-11-20T00:00:00Z' })).toMatch(
      /^not a valid product \(title/,
    );
    expect(normalizeProduct('woocommerce', 'text')).toBe('not an object');
    expect(normalizeProduct('custom', { ...product(), price: 1.5 })).toMatch(/price/);
    expect(priceOf(0.1 + 0.2)).toBe('0.3');
    expect(priceOf('-1')).toBeUndefined();
    expect(timeOf('yesterday')).toBeUndefined();
    expect(webhookProducts({ products: [1, 2] })).toEqual([1, 2]);
    expect(webhookProducts([3])).toEqual([3]);
    expect(webhookProducts({ id: 4 })).toEqual([{ id: 4 }]);
    expect(webhookProducts(undefined)).toEqual([]);
  });
});

describe('conflict strategies', () => {
  const external = product({ title: 'Lamp v2', updatedAt: '2026-11-22T10:00:00.000Z' });
  const editedBefore = local({ title: 'Our lamp' }, '2026-11-21T10:00:00.000Z');
  const editedAfter = local({ title: 'Our lamp' }, '2026-11-23T10:00:00.000Z');

  it('creates new products, updates unedited ones and skips identical ones whatever the strategy', () => {
    const decision = resolveProducts(
      [
        { external, local: null },
        {
          external: product({ externalId: '8' }),
          local: { ...local({}, null), externalId: '8', product: product({ externalId: '8' }) },
        },
        {
          external: product({ externalId: '9', price: '41' }),
          local: { ...local({ externalId: '9' }, null), externalId: '9' },
        },
      ],
      'local_wins',
      'delta',
    );
    expect(decision.upserts.map((u) => [u.externalId, u.resolution, u.expectedVersion])).toEqual([
      ['7', 'created', null],
      ['9', 'updated', 2],
    ]);
    expect(decision.unchanged).toBe(1);
  });

  it('resolves a local edit by source_wins, local_wins, newest_wins and flag_for_review', () => {
    const one = (strategy: Parameters<typeof resolveProducts>[1], edit = editedBefore) =>
      resolveProducts([{ external, local: edit }], strategy, 'full');
    expect(one('source_wins').upserts).toEqual([
      { externalId: '7', expectedVersion: 2, resolution: 'source_wins', product: external },
    ]);
    expect(one('local_wins')).toMatchObject({ upserts: [], conflicts: [], keptLocal: 1 });
    expect(one('newest_wins').upserts[0]?.resolution).toBe('newest_wins');
    expect(one('newest_wins', editedAfter)).toMatchObject({ upserts: [], keptLocal: 1 });
    // a tie goes to the source
    expect(one('newest_wins', local({ title: 'Our lamp' }, external.updatedAt)).upserts).toHaveLength(1);
    expect(one('flag_for_review')).toMatchObject({
      upserts: [],
      conflicts: [{ externalId: '7', expectedVersion: 2, external }],
      keptLocal: 0,
    });
  });

  it('takes only stock in inventory_only mode, and never creates from it', () => {
    const decision = resolveProducts(
      [
        { external: product({ inventory: 0, title: 'Renamed' }), local: editedAfter },
        { external: product({ externalId: '8' }), local: null },
        {
          external: product({ externalId: '9', inventory: 3 }),
          local: { ...local({ externalId: '9' }, null), externalId: '9' },
        },
      ],
      'flag_for_review',
      'inventory_only',
    );
    expect(decision.upserts).toEqual([
      {
        externalId: '7',
        expectedVersion: 2,
        resolution: 'inventory',
        product: { externalId: '7', inventory: 0 },
      },
    ]);
    expect(decision.conflicts).toEqual([]);
    expect(decision.unchanged).toBe(2);
  });
});
