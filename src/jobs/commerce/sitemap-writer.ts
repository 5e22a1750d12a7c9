// Sitemap XML (sitemaps.org 0.9): URL entries streamed into files of at most SITEMAP_MAX_URLS_PER_FILE URLs and
// SITEMAP_MAX_FILE_BYTES bytes (seed 003: 45,000 URLs, 50 MB), and the index that lists the files.
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { sitemapUrl } from './api.js';

export type SitemapUrl = z.output<typeof sitemapUrl>;

export interface SitemapFile {
  readonly name: string;
  readonly content: string;
  readonly urlCount: number;
  /** UTF-8 size of `content`. */
  readonly bytes: number;
  readonly sha256: string;
}

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const URLSET_OPEN = `${XML_HEAD}<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n`;
const URLSET_CLOSE = '</urlset>\n';
const INDEX_OPEN = `${XML_HEAD}<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n`;
const INDEX_CLOSE = '</sitemapindex>\n';
/** The sitemaps.org limit of files listed by one index. */
export const MAX_INDEX_ENTRIES = 50_000;

export function xmlEscape(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

export function urlEntry(url: SitemapUrl): string {
  const lastmod = url.lastmod === undefined ? '' : `<lastmod>${url.lastmod}</lastmod>`;
  const changefreq = url.changefreq === undefined ? '' : `<changefreq>${url.changefreq}</changefreq>`;
  const priority = url.priority === undefined ? '' : `<priority>${url.priority.toFixed(1)}</priority>`;
  return `  <url><loc>${xmlEscape(url.loc)}</loc>${lastmod}${changefreq}${priority}</url>\n`;
}

function fileOf(name: string, content: string, urlCount: number): SitemapFile {
  return {
    name,
    content,
    urlCount,
    bytes: Buffer.byteLength(content, 'utf8'),
    sha256: createHash('sha256').update(content).digest('hex'),
  };
}

export interface SitemapChunker {
  /** Adds one URL; returns the file it completed, when the URL did not fit into it (the URL starts the next one). */
  add(url: SitemapUrl): SitemapFile | undefined;
  /** The last, partly filled file (undefined when empty). */
  finish(): SitemapFile | undefined;
  /** URLs left out because their entry alone exceeds the byte limit. */
  readonly oversized: number;
}

/** Fills files in order, named by `nameOf(0)`, `nameOf(1)`, ...; limits include the XML head and close. */
export function createSitemapChunker(options: {
  readonly maxUrls: number;
  readonly maxBytes: number;
  readonly nameOf: (index: number) => string;
}): SitemapChunker {
  const overhead = Buffer.byteLength(URLSET_OPEN) + Buffer.byteLength(URLSET_CLOSE);
  let entries: string[] = [];
  let bytes = overhead;
  let files = 0;
  let oversized = 0;

  function flush(): SitemapFile | undefined {
    if (entries.length === 0) return undefined;
    const file = fileOf(
      options.nameOf(files),
      `${URLSET_OPEN}${entries.join('')}${URLSET_CLOSE}`,
      entries.length,
    );
    files += 1;
    entries = [];
    bytes = overhead;
    return file;
  }

  return {
    add(url) {
      const entry = urlEntry(url);
      const size = Buffer.byteLength(entry);
      if (overhead + size > options.maxBytes) {
        oversized += 1;
        return undefined;
      }
      const completed =
        entries.length >= options.maxUrls || bytes + size > options.maxBytes ? flush() : undefined;
      entries.push(entry);
      bytes += size;
      return completed;
    },
    finish: flush,
    get oversized() {
      return oversized;
    },
  };
}

/** The index listing every file by its public URL. */
export function sitemapIndex(
  name: string,
  files: readonly { readonly url: string; readonly lastmod?: string }[],
): SitemapFile {
  const entries = files.map((file) => {
    const lastmod = file.lastmod === undefined ? '' : `<lastmod>${file.lastmod}</lastmod>`;
    return `  <sitemap><loc>${xmlEscape(file.url)}</loc>${lastmod}</sitemap>\n`;
  });
  return fileOf(name, `${INDEX_OPEN}${entries.join('')}${INDEX_CLOSE}`, files.length);
}
