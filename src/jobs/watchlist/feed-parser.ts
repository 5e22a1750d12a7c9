// Reads a curated source's document (RSS 2.0/1.0 and Atom with fast-xml-parser, JSON Feed with JSON.parse) and
// normalizes each entry into a Watchlist NewsItem; an entry that cannot be normalized is skipped and counted.
import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import type { z } from 'zod';
import { entityId } from '../contract-fields.js';
import { newsItem } from './api.js';

export type NewsItem = z.output<typeof newsItem>;
export type FeedFormat = 'auto' | 'rss' | 'atom' | 'json';

/** One entry as the feed has it, before normalization. */
export interface FeedEntry {
  readonly id: string | undefined;
  readonly link: string | undefined;
  readonly title: string | undefined;
  readonly summary: string | undefined;
  readonly published: string | undefined;
}

/** The document is not a feed of the expected format (malformed XML, HTML error page, wrong JSON). */
export class FeedFormatError extends Error {}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // dc:date -> date, content:encoded -> encoded, rdf:RDF -> RDF
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  htmlEntities: true,
  isArray: (name) => name === 'item' || name === 'entry' || name === 'link',
});

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of an element: a plain value, `#text` of an element with attributes, the first of repeated ones. */
function text(value: unknown): string | undefined {
  if (Array.isArray(value)) return text(value[0]);
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  if (typeof value === 'number') return String(value);
  if (isNode(value)) return text(value['#text']);
  return undefined;
}

function list(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined ? [] : [value];
}

/** RSS `<link>` is text; Atom's is `<link rel="alternate" href=...>` (rel defaults to alternate). */
function linkOf(value: unknown): string | undefined {
  const links = list(value);
  for (const link of links) {
    if (isNode(link) && typeof link['@_href'] === 'string') {
      const rel = link['@_rel'];
      if (rel === undefined || rel === 'alternate') return link['@_href'];
    } else {
      const href = text(link);
      if (href !== undefined) return href;
    }
  }
  const first = links.find((link) => isNode(link) && typeof link['@_href'] === 'string');
  return isNode(first) ? String(first['@_href']) : undefined;
}

function rssEntries(items: unknown[]): FeedEntry[] {
  return items.filter(isNode).map((item) => ({
    id: text(item['guid']),
    link: linkOf(item['link']),
    title: text(item['title']),
    summary: text(item['description']) ?? text(item['encoded']),
    published: text(item['pubDate']) ?? text(item['date']),
  }));
}

function atomEntries(entries: unknown[]): FeedEntry[] {
  return entries.filter(isNode).map((entry) => ({
    id: text(entry['id']),
    link: linkOf(entry['link']),
    title: text(entry['title']),
    summary: text(entry['summary']) ?? text(entry['content']),
    published: text(entry['published']) ?? text(entry['updated']),
  }));
}

function jsonEntries(document: unknown): FeedEntry[] {
  if (!isNode(document) || !Array.isArray(document['items'])) {
    throw new FeedFormatError('expected a JSON Feed: an object with an "items" array');
  }
  return document['items'].filter(isNode).map((item) => ({
    id: typeof item['id'] === 'string' || typeof item['id'] === 'number' ? String(item['id']) : undefined,
    link: text(item['url']) ?? text(item['external_url']),
    title: text(item['title']),
    summary: text(item['summary']) ?? text(item['content_text']) ?? text(item['content_html']),
    published: text(item['date_published']) ?? text(item['date_modified']),
  }));
}

/** The entries of a feed document; throws FeedFormatError when it is not one of `format`. */
export function parseFeed(body: string, format: FeedFormat): FeedEntry[] {
  const trimmed = body.trimStart();
  const kind =
    format === 'auto' ? (trimmed.startsWith('{') ? 'json' : 'xml') : format === 'json' ? 'json' : 'xml';
  if (kind === 'json') {
    let document: unknown;
    try {
      document = JSON.parse(trimmed);
    } catch {
      throw new FeedFormatError('the body is not JSON');
    }
    return jsonEntries(document);
  }
  // the parser is lenient (like feed readers are); what it cannot read at all is not a feed
  let document: unknown;
  try {
    document = xml.parse(trimmed);
  } catch (error) {
    throw new FeedFormatError(
      `the body is not XML: ${error instanceof Error ? error.message.slice(0, 200) : 'unreadable'}`,
    );
  }
  const root = isNode(document) ? document : {};
  const rss = isNode(root['rss']) ? root['rss']['channel'] : undefined;
  if (format !== 'atom' && isNode(rss)) return rssEntries(list(rss['item']));
  if (format !== 'atom' && isNode(root['RDF'])) return rssEntries(list(root['RDF']['item']));
  if (format !== 'rss' && isNode(root['feed'])) return atomEntries(list(root['feed']['entry']));
  throw new FeedFormatError(
    `expected ${format === 'auto' ? 'an RSS or Atom' : `an ${format.toUpperCase()}`} document`,
  );
}

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

/** Plain text of an HTML fragment (summaries often carry markup): no scripts, no tags, entities decoded. */
export function plainText(html: string): string {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity: string, name: string) => {
      if (name.startsWith('#')) {
        const code =
          name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? entity;
    })
    .replace(/\s+/g, ' ')
    .trim();
}

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1).trimEnd()}…`;
}

/** Dates from 2000 to 2200 only: anything else is a broken feed, not news. */
const MIN_MS = 946_684_800_000;
const MAX_MS = 7_258_118_400_000;

/**
 * A NewsItem from one entry, or why it was skipped. `id` is the entry's guid/id when it is a safe id, else a hash
 * of it (or of the link): stable across polls, so Watchlist and the dedupe recognise the entry again.
 */
export function toNewsItem(
  entry: FeedEntry,
  feedUrl: string,
  symbols: readonly string[] | undefined,
): NewsItem | string {
  let url: URL;
  try {
    if (entry.link === undefined) return 'no link';
    url = new URL(entry.link, feedUrl);
  } catch {
    return 'link is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'link is not http(s)';
  const title = entry.title === undefined ? '' : clip(plainText(entry.title), 500);
  if (title === '') return 'no title';
  const publishedMs = entry.published === undefined ? Number.NaN : Date.parse(entry.published);
  if (!Number.isFinite(publishedMs) || publishedMs < MIN_MS || publishedMs > MAX_MS) {
    return 'no readable publication date';
  }
  const raw = entry.id ?? url.href;
  const id = entityId.safeParse(raw).success
    ? raw
    : `h-${createHash('sha256').update(raw).digest('hex').slice(0, 40)}`;
  const summary = entry.summary === undefined ? '' : clip(plainText(entry.summary), 4000);
  const item: NewsItem = {
    id,
    url: url.href,
    title,
    publishedAt: new Date(publishedMs).toISOString(),
    ...(summary === '' ? {} : { summary }),
    ...(symbols === undefined || symbols.length === 0 ? {} : { symbols: [...symbols] }),
  };
  const parsed = newsItem.safeParse(item);
  return parsed.success
    ? parsed.data
    : `not a valid NewsItem (${parsed.error.issues[0]?.path.join('.') ?? ''})`;
}
