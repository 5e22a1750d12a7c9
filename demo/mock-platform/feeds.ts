// Mock external feed/provider server (no service JWT: it stands for the outside world): a price API in JSON, news
// feeds as RSS 2.0, Atom and JSON Feed with ETags, and signed-URL object deletes; faults are scriptable like the rest.
import { createHash } from 'node:crypto';
import {
  errorAnswer,
  startPlatformService,
  type PlatformService,
  type ServiceAnswer,
} from './platform-service.js';
import { hash32 } from './seeded-random.js';
import { iso, toMs, type ServiceContext, type TimeInput } from './service-context.js';
import { DEFAULT_SYMBOLS, INTERVAL_MS, syntheticBar, syntheticPrice } from './synthetic-market.js';

export interface FeedItem {
  readonly id: string;
  readonly url: string;
  readonly title: string;
  readonly summary: string;
  readonly publishedAt: string;
  readonly symbols: readonly string[];
}

export interface FeedsOptions {
  /** Items every source starts with (10 minutes apart, before start-up); default 5. */
  readonly initialItems?: number;
  /** The provider name in price answers; default `mockx`. */
  readonly provider?: string;
}

export interface MockFeeds extends PlatformService {
  /** `http://localhost:<port>`: a named host, so the SSRF guard can allow it (EXTERNAL_ALLOW_LOOPBACK_HOSTS). */
  readonly url: string;
  /** Feed URL of a source: `<url>/feeds/<sourceId>.<rss|atom|json>`. */
  feedUrl(sourceId: string, format: 'rss' | 'atom' | 'json'): string;
  /**
   * A PRICE_PROVIDERS `url` for this server in a format of src/jobs/price/price-settings.ts: `ticks`
   * (`/prices/ticker`), `quotes` (`/prices/quotes`, `at` in epoch ms) or `bars` (`/prices/bars`, closed bars only).
   */
  providerUrl(format: 'ticks' | 'quotes' | 'bars', interval?: string): string;
  /** Publishes a new item at the top of a source's feed. */
  addFeedItem(
    sourceId: string,
    item?: { title?: string; summary?: string; symbols?: string[]; publishedAt?: TimeInput },
  ): FeedItem;
  feedItems(sourceId: string): FeedItem[];
  /** Object keys deleted through `DELETE /storage/...`. */
  deletedObjects(): string[];
}

const FEED_TYPES = {
  rss: 'application/rss+xml; charset=utf-8',
  atom: 'application/atom+xml; charset=utf-8',
  json: 'application/feed+json; charset=utf-8',
} as const;

export async function startMockFeeds(ctx: ServiceContext, options: FeedsOptions = {}): Promise<MockFeeds> {
  const initialItems = options.initialItems ?? 5;
  const provider = options.provider ?? 'mockx';
  const startedAt = ctx.clock.now();
  const feeds = new Map<string, FeedItem[]>();
  const deleted: string[] = [];

  function itemOf(sourceId: string, n: number, publishedAt: number, extra: Partial<FeedItem> = {}): FeedItem {
    const symbol =
      DEFAULT_SYMBOLS[hash32(ctx.seed, 'feed', sourceId, String(n)) % DEFAULT_SYMBOLS.length] ?? 'BTC/USDT';
    return {
      id: `${sourceId}-${n}`,
      url: `https://news.mock.test/${encodeURIComponent(sourceId)}/${n}`,
      title: extra.title ?? `${symbol} headline ${n} from ${sourceId}`,
      summary: extra.summary ?? `What moved ${symbol} (item ${n}).`,
      publishedAt: iso(publishedAt),
      symbols: extra.symbols ?? [symbol],
    };
  }

  /** Newest first; a source seen for the first time starts with its initial items. */
  function itemsOf(sourceId: string): FeedItem[] {
    let items = feeds.get(sourceId);
    if (items === undefined) {
      items = Array.from({ length: initialItems }, (_, i) =>
        itemOf(sourceId, initialItems - i, startedAt - (i + 1) * 600_000),
      );
      feeds.set(sourceId, items);
    }
    return items;
  }

  function withEtag(body: string, contentType: string, ifNoneMatch: string | undefined): ServiceAnswer {
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    if (ifNoneMatch === etag) return { status: 304, headers: { etag } };
    return { status: 200, body, headers: { 'content-type': contentType, etag } };
  }

  function symbolsOf(query: URLSearchParams): string[] | undefined {
    const symbols = (query.get('symbols') ?? DEFAULT_SYMBOLS.join(',')).split(',').filter((s) => s !== '');
    return symbols.length > 0 && symbols.length <= 100 ? symbols : undefined;
  }

  const service = await startPlatformService({
    ...ctx.server,
    auth: undefined,
    urlHost: 'localhost',
    name: 'feeds',
    random: ctx.random,
    routes: [
      {
        method: 'GET',
        path: '/feeds/*',
        handle: ({ path, headers }) => {
          const match = /^\/feeds\/([A-Za-z0-9_.:@-]{1,128})\.(rss|atom|json)$/.exec(path);
          if (match === null)
            return errorAnswer(404, 'NOT_FOUND', 'expected /feeds/<sourceId>.<rss|atom|json>');
          const [, sourceId = '', format = 'rss'] = match;
          const items = itemsOf(sourceId);
          const kind = format as keyof typeof FEED_TYPES;
          const body =
            kind === 'rss'
              ? rssOf(sourceId, items)
              : kind === 'atom'
                ? atomOf(sourceId, items)
                : JSON.stringify(jsonFeedOf(sourceId, items));
          const ifNoneMatch = headers['if-none-match'];
          return withEtag(body, FEED_TYPES[kind], typeof ifNoneMatch === 'string' ? ifNoneMatch : undefined);
        },
      },
      {
        method: 'GET',
        path: '/prices/ticker',
        handle: ({ query, now }) => {
          const symbols = symbolsOf(query);
          if (symbols === undefined) return errorAnswer(400, 'INVALID_REQUEST', 'expected 1-100 symbols');
          const minute = Math.floor(now / 60_000) * 60_000;
          return {
            status: 200,
            body: {
              provider,
              ticks: symbols.map((symbol) => ({
                symbol,
                price: syntheticPrice(ctx.seed, symbol, minute),
                size: ((hash32(ctx.seed, 'size', symbol, String(minute)) % 1000) / 100).toFixed(2),
                at: iso(minute),
                tradeId: `${symbol.replace(/\W/g, '')}-${minute / 60_000}`,
              })),
            },
          };
        },
      },
      {
        method: 'GET',
        path: '/prices/quotes',
        handle: ({ query, now }) => {
          const symbols = symbolsOf(query);
          if (symbols === undefined) return errorAnswer(400, 'INVALID_REQUEST', 'expected 1-100 symbols');
          const minute = Math.floor(now / 60_000) * 60_000;
          return {
            status: 200,
            body: {
              provider,
              quotes: symbols.map((symbol) => ({
                symbol,
                price: syntheticPrice(ctx.seed, symbol, minute),
                at: minute,
              })),
            },
          };
        },
      },
      {
        method: 'GET',
        path: '/prices/bars',
        handle: ({ query, now }) => {
          const symbols = symbolsOf(query);
          const interval = query.get('interval') ?? '1m';
          const intervalMs = INTERVAL_MS[interval];
          const limit = Number(query.get('limit') ?? '5');
          if (
            symbols === undefined ||
            intervalMs === undefined ||
            !(Number.isInteger(limit) && limit >= 1 && limit <= 100)
          )
            return errorAnswer(400, 'INVALID_REQUEST', 'expected symbols, interval (1m-1d) and limit 1-100');
          // closed bars only: the one still open would change between polls
          const lastOpen = Math.floor(now / intervalMs) * intervalMs - intervalMs;
          const bars = symbols.flatMap((symbol) =>
            Array.from({ length: limit }, (_, i) =>
              syntheticBar(ctx.seed, symbol, lastOpen - (limit - 1 - i) * intervalMs, intervalMs),
            ),
          );
          return { status: 200, body: { provider, interval, bars } };
        },
      },
      {
        method: 'DELETE',
        path: '/storage/*',
        handle: ({ path }) => {
          deleted.push(decodeURIComponent(path.slice('/storage/'.length)));
          return { status: 204, applied: true };
        },
      },
    ],
  });

  return {
    ...service,
    providerUrl: (format, interval = '1m') =>
      format === 'ticks'
        ? `${service.url}/prices/ticker?symbols={symbols}`
        : format === 'quotes'
          ? `${service.url}/prices/quotes?symbols={symbols}`
          : `${service.url}/prices/bars?symbols={symbols}&interval=${interval}&limit=5`,
    feedUrl: (sourceId, format) => `${service.url}/feeds/${encodeURIComponent(sourceId)}.${format}`,
    addFeedItem(sourceId, item = {}) {
      const items = itemsOf(sourceId);
      const n = items.length + 1;
      const publishedAt = item.publishedAt === undefined ? ctx.clock.now() : toMs(item.publishedAt);
      const added = itemOf(sourceId, n, publishedAt, {
        ...(item.title === undefined ? {} : { title: item.title }),
        ...(item.summary === undefined ? {} : { summary: item.summary }),
        ...(item.symbols === undefined ? {} : { symbols: item.symbols }),
      });
      items.unshift(added);
      return added;
    },
    feedItems: (sourceId) => [...itemsOf(sourceId)],
    deletedObjects: () => [...deleted],
  };
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function rssOf(sourceId: string, items: readonly FeedItem[]): string {
  const entries = items.map(
    (item) =>
      `<item><title>${xml(item.title)}</title><link>${xml(item.url)}</link>` +
      `<guid isPermaLink="false">${xml(item.id)}</guid><pubDate>${new Date(item.publishedAt).toUTCString()}</pubDate>` +
      `<description>${xml(item.summary)}</description>` +
      item.symbols.map((s) => `<category>${xml(s)}</category>`).join('') +
      `</item>`,
  );
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>` +
    `<title>${xml(sourceId)} news</title><link>https://news.mock.test/${xml(encodeURIComponent(sourceId))}</link>` +
    `<description>Mock news of ${xml(sourceId)}</description>${entries.join('')}</channel></rss>\n`
  );
}

function atomOf(sourceId: string, items: readonly FeedItem[]): string {
  const entries = items.map(
    (item) =>
      `<entry><title>${xml(item.title)}</title><id>urn:mock-news:${xml(item.id)}</id>` +
      `<link href="${xml(item.url)}"/><published>${item.publishedAt}</published><updated>${item.publishedAt}</updated>` +
      `<summary>${xml(item.summary)}</summary>` +
      item.symbols.map((s) => `<category term="${xml(s)}"/>`).join('') +
      `</entry>`,
  );
  const updated = items[0]?.publishedAt ?? new Date(0).toISOString();
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">` +
    `<title>${xml(sourceId)} news</title><id>urn:mock-news:${xml(sourceId)}</id><updated>${updated}</updated>` +
    `${entries.join('')}</feed>\n`
  );
}

function jsonFeedOf(sourceId: string, items: readonly FeedItem[]): Record<string, unknown> {
  return {
    version: 'https://jsonfeed.org/version/1.1',
    title: `${sourceId} news`,
    home_page_url: `https://news.mock.test/${encodeURIComponent(sourceId)}`,
    items: items.map((item) => ({
      id: item.id,
      url: item.url,
      title: item.title,
      summary: item.summary,
      date_published: item.publishedAt,
      tags: item.symbols,
    })),
  };
}
