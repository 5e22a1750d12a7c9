// product.sync in a worker: the 6-hourly feeder publishes one delta per connected source; products of Shopify,
// WooCommerce, BigCommerce and custom sources are normalized, resolved against local edits under each strategy and
// applied page by page (a failed run resumes from the committed sync point); webhooks and inventory_only runs too.
import { describe, expect, it } from 'vitest';
import { useCommerceWorker } from '../support/commerce-worker.js';
import { commerceEvent } from '../support/mock-commerce.js';
import { waitFor } from '../support/streams-fixture.js';

const cw = useCommerceWorker({
  url: import.meta.url,
  env: { ENABLE_PRODUCT_SYNC: 'true', PRODUCT_SYNC_PAGE_SIZE: '2' },
  resetExternal: false,
});
const { start } = cw;
const JOB = 'product.sync';
const APPLY = 'POST /internal/v1/commerce/product-sync/apply';
const CHANGES = 'GET /internal/v1/commerce/product-sync/changes';
const T0 = Date.parse('2026-11-23T12:00:00.000Z');

interface Fields {
  readonly title: string;
  readonly price: string;
  readonly inventory: number;
  readonly updatedAt: string;
}

/** The product in the source's own shape. */
function raw(source: string, id: number, f: Fields): unknown {
  switch (source) {
    case 'shopify':
      return {
        id,
        title: f.title,
        status: 'active',
        updated_at: f.updatedAt.replace('Z', '+00:00'),
        variants: [{ sku: `SKU-${id}`, price: f.price, inventory_quantity: f.inventory }],
      };
    case 'woocommerce':
      return {
        id,
        name: f.title,
        status: 'publish',
        sku: `SKU-${id}`,
        price: f.price,
        stock_quantity: f.inventory,
        date_modified_gmt: f.updatedAt.replace('.000Z', ''),
      };
    case 'bigcommerce':
      return {
        id,
        name: f.title,
        sku: `SKU-${id}`,
        price: Number(f.price),
        inventory_level: f.inventory,
        is_visible: true,
        date_modified: new Date(f.updatedAt).toUTCString().replace('GMT', '+0000'),
      };
    default:
      return {
        externalId: String(id),
        title: f.title,
        sku: `SKU-${id}`,
        price: f.price,
        inventory: f.inventory,
        status: 'active',
        updatedAt: f.updatedAt,
      };
  }
}

const normalized = (id: number, f: Fields) => ({
  externalId: String(id),
  title: f.title,
  sku: `SKU-${id}`,
  price: f.price,
  inventory: f.inventory,
  status: 'active',
  updatedAt: f.updatedAt,
});

const v1: Fields = { title: 'Mug', price: '12.5', inventory: 10, updatedAt: '2026-11-20T10:00:00.000Z' };
const edited: Fields = { ...v1, title: 'Mug (local name)' };
const sourceNewer: Fields = { ...v1, title: 'Mug v2', price: '13', updatedAt: '2026-11-22T10:00:00.000Z' };

/** Three changes at the source: a new product, a product edited locally (a conflict), one already in sync. */
function seed(tenantId: string, source: string, localEditAt: string): void {
  cw.commerce.sourceChanges.set(`${tenantId}|${source}`, [
    raw(source, 1, v1),
    raw(source, 2, sourceNewer),
    raw(source, 3, v1),
  ]);
  cw.commerce.products.set(`${tenantId}|${source}|2`, {
    externalId: '2',
    productId: 'prod_2',
    version: 4,
    product: normalized(2, edited),
    locallyModifiedAt: localEditAt,
  });
  cw.commerce.products.set(`${tenantId}|${source}|3`, {
    externalId: '3',
    productId: 'prod_3',
    version: 1,
    product: normalized(3, v1),
    locallyModifiedAt: null,
  });
}

describe('product.sync', () => {
  it('runs the 6-hourly delta of every source under its strategy, page by page, for all four source shapes', async () => {
    seed('tenant-a', 'shopify', '2026-11-21T10:00:00.000Z');
    seed('tenant-b', 'woocommerce', '2026-11-21T10:00:00.000Z');
    // the local edit is newer than the source's change: newest_wins keeps it
    seed('tenant-c', 'bigcommerce', '2026-11-23T10:00:00.000Z');
    seed('tenant-d', 'custom', '2026-11-21T10:00:00.000Z');
    cw.commerce.productSources.push(
      { tenantId: 'tenant-a', source: 'shopify', conflictResolution: 'source_wins' },
      { tenantId: 'tenant-b', source: 'woocommerce', conflictResolution: 'local_wins' },
      { tenantId: 'tenant-c', source: 'bigcommerce', conflictResolution: 'newest_wins' },
      // no strategy: PRODUCT_SYNC_CONFLICT_DEFAULT (flag_for_review)
      { tenantId: 'tenant-d', source: 'custom' },
    );
    const w = await start();
    expect(w.worker.jobs).toEqual(['product.sync', 'product.sync.schedule']);
    await w.tick('product.sync', 'product.sync.schedule', T0);
    await waitFor(() => w.outcomesOf(JOB).filter((o) => o.kind === 'ack').length === 4, 'four syncs');

    for (const [tenant, source] of [
      ['tenant-a', 'shopify'],
      ['tenant-b', 'woocommerce'],
      ['tenant-c', 'bigcommerce'],
      ['tenant-d', 'custom'],
    ] as const) {
      // two pages of two and one, each committing its sync point; the run ends at the last change
      expect(cw.commerce.applies.filter((a) => a['tenantId'] === tenant)).toHaveLength(2);
      expect(cw.commerce.syncPoints.get(`${tenant}|${source}`)).toBe(3);
      expect(cw.commerce.products.get(`${tenant}|${source}|1`)?.product).toEqual(normalized(1, v1));
      expect(cw.commerce.products.get(`${tenant}|${source}|3`)?.version).toBe(1);
    }
    const mug = (tenant: string, source: string) => cw.commerce.products.get(`${tenant}|${source}|2`);
    expect(mug('tenant-a', 'shopify')?.product).toEqual(normalized(2, sourceNewer));
    expect(mug('tenant-a', 'shopify')?.version).toBe(5);
    expect(mug('tenant-b', 'woocommerce')?.product['title']).toBe('Mug (local name)');
    expect(mug('tenant-c', 'bigcommerce')?.product['title']).toBe('Mug (local name)');
    expect(mug('tenant-d', 'custom')?.product['title']).toBe('Mug (local name)');
    expect(cw.commerce.productConflicts).toEqual([
      { externalId: '2', expectedVersion: 4, external: normalized(2, sourceNewer) },
    ]);
    const first = cw.commerce.applies.find((a) => a['tenantId'] === 'tenant-a');
    expect(first).toMatchObject({ mode: 'delta', strategy: 'source_wins', nextCursor: '2' });
    expect(cw.commerce.appliedTwice()).toBe(0);
  });

  it('resumes a run that failed half-way from the committed sync point, and re-reads after a version conflict', async () => {
    seed('tenant-r', 'shopify', '2026-11-21T10:00:00.000Z');
    cw.commerce.script(APPLY, [
      { status: 409, body: { error: { code: 'VERSION_CONFLICT', message: 'edited meanwhile' } } },
    ]);
    const w = await start();
    const first = commerceEvent('product.sync_requested', 'tenant-r', {
      syncId: 'sync-r1',
      tenantId: 'tenant-r',
      source: 'shopify',
      mode: 'delta',
      conflictResolution: 'source_wins',
    });
    await w.publish(first);
    await w.waitOutcome((o) => o.eventId === first.id && o.kind === 'ack', 'the first run');
    // 409 VERSION_CONFLICT on page 1 -> retry; the retry applies both pages
    expect(w.outcomesOf(JOB).map((o) => o.kind)).toEqual(['retry', 'ack']);
    expect(cw.commerce.syncPoints.get('tenant-r|shopify')).toBe(3);

    // new changes; page 2's apply fails once: the retry starts at the sync point page 1 committed
    cw.commerce.sourceChanges
      .get('tenant-r|shopify')
      ?.push(raw('shopify', 4, v1), raw('shopify', 5, v1), raw('shopify', 6, v1));
    cw.commerce.script(APPLY, [
      { pass: true },
      { status: 503, body: { error: { code: 'UNAVAILABLE', message: 'down' } } },
    ]);
    const before = cw.commerce.requestsTo(CHANGES).length;
    const second = commerceEvent('product.sync_requested', 'tenant-r', {
      syncId: 'sync-r2',
      tenantId: 'tenant-r',
      source: 'shopify',
      mode: 'delta',
    });
    await w.publish(second);
    await w.waitOutcome((o) => o.eventId === second.id && o.kind === 'ack', 'the second run');
    const reads = cw.commerce.requestsTo(CHANGES).slice(before);
    // run 1: from the sync point (no cursor), then cursor 5; run 2 (retry): from the new sync point (no cursor)
    expect(reads.map((r) => r.query.get('cursor'))).toEqual([null, '5', null]);
    expect(cw.commerce.syncPoints.get('tenant-r|shopify')).toBe(6);
    expect(['4', '5', '6'].map((id) => cw.commerce.products.has(`tenant-r|shopify|${id}`))).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('applies a webhook product without moving the sync point, and only stock in inventory_only mode', async () => {
    seed('tenant-w', 'woocommerce', '2026-11-21T10:00:00.000Z');
    cw.commerce.syncPoints.set('tenant-w|woocommerce', 1);
    const w = await start();
    const hook = commerceEvent('product.sync_requested', 'tenant-w', {
      syncId: 'hook-1',
      tenantId: 'tenant-w',
      source: 'woocommerce',
      mode: 'delta',
      conflictResolution: 'newest_wins',
      webhookData: raw('woocommerce', 2, sourceNewer),
    });
    await w.publish(hook);
    await w.waitOutcome((o) => o.eventId === hook.id && o.kind === 'ack', 'the webhook');
    // the source's change (22 Nov) is newer than the local edit (21 Nov)
    expect(cw.commerce.products.get('tenant-w|woocommerce|2')?.product).toEqual(normalized(2, sourceNewer));
    expect(cw.commerce.applies[0]).not.toHaveProperty('nextCursor');
    expect(cw.commerce.syncPoints.get('tenant-w|woocommerce')).toBe(1);

    const stock = commerceEvent('product.sync_requested', 'tenant-w', {
      syncId: 'stock-1',
      tenantId: 'tenant-w',
      source: 'woocommerce',
      mode: 'inventory_only',
      webhookData: {
        products: [raw('woocommerce', 3, { ...v1, title: 'Ignored', inventory: 2 }), { id: 'x' }],
      },
    });
    await w.publish(stock);
    await w.waitOutcome((o) => o.eventId === stock.id && o.kind === 'ack', 'the stock update');
    expect(cw.commerce.products.get('tenant-w|woocommerce|3')?.product).toMatchObject({
      title: 'Mug',
      inventory: 2,
    });
    expect(cw.commerce.applies[1]).toMatchObject({
      mode: 'inventory_only',
      upserts: [{ externalId: '3', resolution: 'inventory', product: { externalId: '3', inventory: 2 } }],
    });

    const junk = commerceEvent('product.sync_requested', 'tenant-w', {
      syncId: 'junk-1',
      tenantId: 'tenant-w',
      source: 'shopify',
      mode: 'delta',
      webhookData: { hello: 'world' },
    });
    await w.publish(junk);
    expect(await w.waitOutcome((o) => o.eventId === junk.id, 'the unreadable webhook')).toMatchObject({
      kind: 'dead',
      reason: 'permanent',
    });
  });
});
