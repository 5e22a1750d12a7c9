// sitemap.generate in a worker: the daily feeder publishes one request per tenant; each tenant's URLs become
// per-locale, per-type files within the URL and byte limits, stored through Commerce with the index last; retries
// store nothing twice; a dry run stores nothing; the summary is cached 24 h; pings are best effort.
import { describe, expect, it } from 'vitest';
import { useCommerceWorker } from '../support/commerce-worker.js';
import { STORAGE_BASE, commerceEvent } from '../support/mock-commerce.js';

const cw = useCommerceWorker({
  url: import.meta.url,
  env: { ENABLE_SITEMAP_GENERATION: 'true', SITEMAP_PAGE_SIZE: '2' },
});
const { db, start } = cw;
const JOB = 'sitemap.generate';
const FILES = 'POST /internal/v1/commerce/sitemap/files';
const T0 = Date.parse('2026-11-24T03:00:00.000Z');

const urls = (locale: string, type: string, n: number, pad = 0) =>
  Array.from({ length: n }, (_, i) => ({
    loc: `https://shop.example/${locale}/${type}/${'x'.repeat(pad)}item-${i + 1}?a=1&b=2`,
    lastmod: '2026-11-20T10:00:00.000Z',
  }));

function tenant(id: string, locales: string[]): void {
  cw.commerce.sitemapTenants.push(id);
  cw.commerce.sitemapConfigs.set(id, { baseUrl: 'https://shop.example', locales });
}

const filesOf = (tenantId: string) =>
  [...cw.commerce.files.values()].filter((f) => f.tenantId === tenantId).map((f) => f.name);

describe('sitemap.generate', () => {
  it('splits each locale and type into files of the URL limit, stores the index last, caches the summary', async () => {
    tenant('tenant-s', ['en', 'de']);
    cw.commerce.sitemapUrls.set('tenant-s|en|products', urls('en', 'products', 5));
    cw.commerce.sitemapUrls.set('tenant-s|en|categories', urls('en', 'categories', 2));
    cw.commerce.sitemapUrls.set('tenant-s|de|products', urls('de', 'products', 3));
    const w = await start({
      SITEMAP_MAX_URLS_PER_FILE: '2',
      SITEMAP_PING_URLS: `${cw.external.url}/ping?sitemap={sitemap}`,
    });
    expect(w.worker.jobs).toEqual(['sitemap.generate', 'sitemap.generate.schedule']);
    await w.tick('sitemap.generation', 'sitemap.generate.schedule', T0);
    await w.waitOutcome((o) => o.job === JOB && o.kind === 'ack', 'the tenant sitemap');

    const names = [
      'sitemap-products-en-1.xml',
      'sitemap-products-en-2.xml',
      'sitemap-products-en-3.xml',
      'sitemap-categories-en-1.xml',
      'sitemap-products-de-1.xml',
      'sitemap-products-de-2.xml',
    ];
    const stored = cw.commerce.requestsTo(FILES).map((r) => (r.body as { name: string }).name);
    expect(stored).toEqual([...names, 'sitemap-index.xml']);
    expect(cw.commerce.liveSitemaps.get('tenant-s')).toEqual(names);
    const first = cw.commerce.files.get('tenant-s/sitemap-products-en-1.xml');
    expect(first?.urlCount).toBe(2);
    expect(first?.content).toContain('<loc>https://shop.example/en/products/item-1?a=1&amp;b=2</loc>');
    expect(first?.content.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<urlset')).toBe(true);
    expect(cw.commerce.files.get('tenant-s/sitemap-products-en-3.xml')?.urlCount).toBe(1);
    const index = cw.commerce.files.get('tenant-s/sitemap-index.xml');
    expect(index?.kind).toBe('index');
    expect(index?.content).toContain(`<loc>${STORAGE_BASE}/tenant-s/sitemap-products-de-2.xml</loc>`);
    expect(index?.urlCount).toBe(6);

    const summary = JSON.parse((await db.redis.get(w.keys.cache('sitemap', 'tenant-s'))) ?? '{}') as {
      files: { name: string }[];
      indexUrl: string;
    };
    expect(summary.files.map((f) => f.name)).toEqual(names);
    expect(summary.indexUrl).toBe(`${STORAGE_BASE}/tenant-s/sitemap-index.xml`);
    const ttl = await db.redis.pttl(w.keys.cache('sitemap', 'tenant-s'));
    expect(ttl).toBeGreaterThan(86_000_000);
    // the ping got the index URL; its 404 was logged, not retried
    const [ping] = cw.external.requestsTo('GET /ping');
    expect(ping?.query.get('sitemap')).toBe(summary.indexUrl);
    expect(w.outcomesOf(JOB).map((o) => o.kind)).toEqual(['ack']);
  });

  it('keeps every file under the byte limit, and stores nothing twice when a listing and an upload fail', async () => {
    tenant('tenant-b', ['en']);
    cw.commerce.sitemapUrls.set('tenant-b|en|pages', urls('en', 'pages', 5, 300));
    cw.commerce.script('GET /internal/v1/commerce/sitemap/urls', [
      { pass: true },
      { status: 503, body: { error: { code: 'UNAVAILABLE', message: 'down' } } },
    ]);
    cw.commerce.script(FILES, [
      { pass: true },
      { status: 500, body: { error: { code: 'INTERNAL', message: 'x' } } },
    ]);
    const w = await start({ SITEMAP_MAX_FILE_BYTES: '1024' });
    const event = commerceEvent('sitemap.generation_requested', 'tenant-b', {
      jobId: 'sm-b',
      tenantId: 'tenant-b',
    });
    await w.publish(event);
    await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', 'the sitemap');
    expect(w.outcomesOf(JOB).map((o) => o.kind)).toEqual(['retry', 'retry', 'ack']);
    const files = [...cw.commerce.files.values()].filter((f) => f.kind === 'urlset');
    expect(files.map((f) => f.urlCount)).toEqual([2, 2, 1]);
    for (const file of files) expect(file.bytes).toBeLessThanOrEqual(1024);
    // the first file was stored by the first attempt and replayed (same key, same content) by the others
    expect(cw.commerce.appliedTwice()).toBe(0);
    expect(filesOf('tenant-b')).toHaveLength(4);
  });

  it('makes a dry run without storing anything, and dead-letters a tenant Commerce does not know', async () => {
    tenant('tenant-d', ['fr']);
    cw.commerce.sitemapUrls.set('tenant-d|fr|products', urls('fr', 'products', 3));
    const w = await start();
    const dry = commerceEvent('sitemap.generation_requested', 'tenant-d', {
      jobId: 'sm-dry',
      tenantId: 'tenant-d',
      types: ['products', 'index'],
      uploadToStorage: false,
    });
    await w.publish(dry);
    await w.waitOutcome((o) => o.eventId === dry.id && o.kind === 'ack', 'the dry run');
    expect(cw.commerce.requestsTo(FILES)).toHaveLength(0);
    const summary = JSON.parse((await db.redis.get(w.keys.cache('sitemap', 'tenant-d'))) ?? '{}') as {
      uploaded: boolean;
      files: { name: string; urlCount: number }[];
    };
    expect(summary.uploaded).toBe(false);
    expect(summary.files).toMatchObject([{ name: 'sitemap-products-fr-1.xml', urlCount: 3 }]);

    const unknown = commerceEvent('sitemap.generation_requested', 'nobody', {
      jobId: 'sm-x',
      tenantId: 'nobody',
    });
    await w.publish(unknown);
    expect(await w.waitOutcome((o) => o.eventId === unknown.id, 'the unknown tenant')).toMatchObject({
      kind: 'dead',
    });
  });
});
