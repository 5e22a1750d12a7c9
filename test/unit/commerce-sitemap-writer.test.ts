// Sitemap files: URL entries escaped, files split at the URL and byte limits (head and close included), the index.
import { describe, expect, it } from 'vitest';
import {
  createSitemapChunker,
  sitemapIndex,
  urlEntry,
  xmlEscape,
} from '../../src/jobs/commerce/sitemap-writer.js';
import type { SitemapFile } from '../../src/jobs/commerce/sitemap-writer.js';

const url = (n: number, pad = 0) => ({ loc: `https://shop.example/p/${'y'.repeat(pad)}${n}` });

function fill(chunker: ReturnType<typeof createSitemapChunker>, count: number, pad = 0): SitemapFile[] {
  const files: SitemapFile[] = [];
  for (let i = 1; i <= count; i += 1) {
    const done = chunker.add(url(i, pad));
    if (done) files.push(done);
  }
  const last = chunker.finish();
  if (last) files.push(last);
  return files;
}

describe('sitemap writer', () => {
  it('escapes URLs and writes the optional fields', () => {
    expect(xmlEscape(`a&b<c>"d'`)).toBe('a&amp;b&lt;c&gt;&quot;d&apos;');
    expect(
      urlEntry({
        loc: 'https://s.example/?a=1&b=2',
        lastmod: '2026-11-20T00:00:00.000Z',
        changefreq: 'daily',
        priority: 0.8,
      }),
    ).toBe(
      '  <url><loc>https://s.example/?a=1&amp;b=2</loc><lastmod>2026-11-20T00:00:00.000Z</lastmod>' +
        '<changefreq>daily</changefreq><priority>0.8</priority></url>\n',
    );
  });

  it('starts a new file at the URL limit', () => {
    const files = fill(
      createSitemapChunker({ maxUrls: 45_000, maxBytes: 50 * 1024 * 1024, nameOf: (i) => `f${i}.xml` }),
      90_001,
    );
    expect(files.map((f) => [f.name, f.urlCount])).toEqual([
      ['f0.xml', 45_000],
      ['f1.xml', 45_000],
      ['f2.xml', 1],
    ]);
    expect(files[0]?.content.endsWith('</urlset>\n')).toBe(true);
    expect(files[0]?.bytes).toBe(Buffer.byteLength(files[0]?.content ?? ''));
  });

  it('starts a new file before the byte limit, and leaves out a URL too big for any file', () => {
    const chunker = createSitemapChunker({ maxUrls: 1000, maxBytes: 1024, nameOf: (i) => `b${i}.xml` });
    const files = fill(chunker, 7, 200);
    expect(files.every((f) => f.bytes <= 1024)).toBe(true);
    expect(files.reduce((n, f) => n + f.urlCount, 0)).toBe(7);
    expect(files.length).toBeGreaterThan(1);
    expect(chunker.add({ loc: `https://shop.example/${'z'.repeat(1000)}` })).toBeUndefined();
    expect(chunker.oversized).toBe(1);
    expect(chunker.finish()).toBeUndefined();
  });

  it('writes an index of the files with the same content for the same input', () => {
    const index = sitemapIndex('index.xml', [
      { url: 'https://cdn.example/a.xml', lastmod: '2026-11-20T00:00:00.000Z' },
    ]);
    expect(index.content).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' +
        '  <sitemap><loc>https://cdn.example/a.xml</loc><lastmod>2026-11-20T00:00:00.000Z</lastmod></sitemap>\n</sitemapindex>\n',
    );
    expect(
      sitemapIndex('index.xml', [{ url: 'https://cdn.example/a.xml', lastmod: '2026-11-20T00:00:00.000Z' }])
        .sha256,
    ).toBe(index.sha256);
  });
});
