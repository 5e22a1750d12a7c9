// The watchlist pack in a worker: watchlist.ingest fetches RSS, Atom and JSON Feed sources through the SSRF guard
// (one schedule each), skips bad entries, posts new NewsItems once with a batch-digest key, reports source health,
// honours 429 and refuses private addresses and documents that are not feeds.
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseFeed } from '../../src/jobs/watchlist/feed-parser.js';
import { createWatchlistPack } from '../../src/jobs/watchlist/pack.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { NEVER, startPackWorker, startServiceMock, type PackWorker } from '../support/job-pack-worker.js';
import { atomFeed, jsonFeed, rssFeed, startMockFeeds, type MockFeeds } from '../support/mock-feeds.js';
import type { MockService, MockStep } from '../support/mock-service.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let feeds: MockFeeds;
let watchlist: MockService;
let running: PackWorker | undefined;
let run = 0;

const INGEST = 'POST /internal/v1/watchlist/ingest';
const INGESTED: MockStep = { body: { accepted: 1, duplicates: 0 } };
const T0 = Date.parse('2026-11-23T15:00:00.000Z');

beforeAll(async () => {
  feeds = await startMockFeeds();
});
afterAll(async () => {
  await feeds.close();
});
beforeEach(async () => {
  watchlist = await startServiceMock('watchlist');
  watchlist.script(
    INGEST,
    Array.from({ length: 10 }, () => INGESTED),
  );
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await watchlist.close();
});

async function start(sources: object[], env: Record<string, string> = {}): Promise<PackWorker> {
  run += 1;
  const full = {
    SVC_WATCHLIST_URL: watchlist.url,
    ENABLE_WATCHLIST_INGEST: 'true',
    WATCHLIST_SOURCES: JSON.stringify(sources),
    ...env,
  };
  running = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: `${prefix}-${run}`,
    pack: createWatchlistPack(full),
    env: full,
  });
  return running;
}

const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');
const postsOf = (sourceId: string) =>
  watchlist.requestsTo(INGEST).filter((r) => (r.body as { sourceId: string }).sourceId === sourceId);
const itemsOf = (sourceId: string, n = 0) =>
  (postsOf(sourceId)[n]?.body as { items: { id: string }[] }).items;

describe('watchlist.ingest', () => {
  it('ingests an RSS source on its schedule: bad entries skipped, HTML stripped, each item posted once', async () => {
    feeds.serve('/rss', {
      contentType: 'application/rss+xml',
      body: rssFeed([
        {
          id: 'post-1',
          title: 'BTC &amp; ETH rally',
          link: 'https://news.example/1',
          summary: '<p>Prices <b>rose</b>&nbsp;today</p><script>alert(1)</script>',
          published: '2026-11-23T14:00:00Z',
        },
        { id: 'post-2', title: 'No date here', link: 'https://news.example/2' },
        {
          id: 'https://news.example/3?ref=rss',
          title: 'Third',
          link: '/3',
          published: '2026-11-23T14:30:00Z',
        },
      ]),
    });
    const w = await start([{ id: 'daily', url: `${feeds.url}/rss`, format: 'rss', symbols: ['BTC/USDT'] }], {
      CRON_WATCHLIST_INGEST_DAILY: '1s',
    });
    expect(w.worker.jobs).toEqual(['watchlist.ingest']);
    await waitFor(
      () => w.outcomesOf('watchlist.ingest').filter((o) => o.kind === 'ack').length >= 2,
      'two polls',
    );
    expect(postsOf('daily')).toHaveLength(1);
    const items = itemsOf('daily');
    expect(items).toEqual([
      {
        id: 'post-1',
        url: 'https://news.example/1',
        title: 'BTC & ETH rally',
        summary: 'Prices rose today',
        publishedAt: '2026-11-23T14:00:00.000Z',
        symbols: ['BTC/USDT'],
      },
      {
        id: `h-${createHash('sha256').update('https://news.example/3?ref=rss').digest('hex').slice(0, 40)}`,
        url: `${feeds.url}/3`,
        title: 'Third',
        publishedAt: '2026-11-23T14:30:00.000Z',
        symbols: ['BTC/USDT'],
      },
    ]);
    expect(postsOf('daily')[0]?.idempotencyKey).toBe(
      idempotencyKey('watchlist.ingest', 'daily', digest(items)),
    );
    expect(w.polls.every((p) => p.provider === 'watchlist.daily' && p.up)).toBe(true);
  });

  it('reads Atom and JSON Feed sources on their own schedules, posting only entries not seen before', async () => {
    const entry = (n: number) => ({
      id: `urn:entry:${n}`,
      title: `Entry ${n}`,
      link: `https://blog.example/${n}`,
      summary: `Summary ${n}`,
      published: `2026-11-23T1${n}:00:00Z`,
    });
    feeds.serve('/atom', { contentType: 'application/atom+xml', body: atomFeed([entry(1), entry(2)]) });
    feeds.serve('/feed.json', { contentType: 'application/feed+json', body: jsonFeed([entry(3)]) });
    const w = await start(
      [
        { id: 'atom', url: `${feeds.url}/atom` },
        { id: 'jf', url: `${feeds.url}/feed.json`, format: 'json' },
      ],
      { CRON_WATCHLIST_INGEST_ATOM: NEVER, CRON_WATCHLIST_INGEST_JF: NEVER },
    );
    for (const [schedule, tick] of [
      ['watchlist.ingest.atom', T0],
      ['watchlist.ingest.jf', T0],
    ] as const) {
      const id = await w.tick(schedule, 'watchlist.ingest', tick);
      await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', schedule);
    }
    expect(itemsOf('atom').map((i) => i.id)).toEqual(['urn:entry:1', 'urn:entry:2']);
    expect(itemsOf('jf')).toEqual([
      {
        id: 'urn:entry:3',
        url: 'https://blog.example/3',
        title: 'Entry 3',
        summary: 'Summary 3',
        publishedAt: '2026-11-23T13:00:00.000Z',
      },
    ]);
    feeds.serve('/atom', {
      contentType: 'application/atom+xml',
      body: atomFeed([entry(4), entry(1), entry(2)]),
    });
    const id = await w.tick('watchlist.ingest.atom', 'watchlist.ingest', T0 + 300_000);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the second atom poll');
    expect(postsOf('atom')).toHaveLength(2);
    expect(itemsOf('atom', 1).map((i) => i.id)).toEqual(['urn:entry:4']);
  });

  it('retries a source that is down, with its health down, and honours a 429 Retry-After', async () => {
    feeds.script('/flaky', [{ status: 503 }, { status: 429, headers: { 'retry-after': '1' } }]);
    feeds.serve('/flaky', {
      body: jsonFeed([
        { id: 'x1', title: 'Back', link: 'https://x.example/1', published: '2026-11-23T14:00:00Z' },
      ]),
    });
    const w = await start([{ id: 'flaky', url: `${feeds.url}/flaky` }], {
      CRON_WATCHLIST_INGEST_FLAKY: NEVER,
    });
    const id = await w.tick('watchlist.ingest.flaky', 'watchlist.ingest', T0);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the tick');
    const outcomes = w.outcomesOf('watchlist.ingest');
    expect(outcomes.map((o) => o.kind)).toEqual(['retry', 'retry', 'ack']);
    expect(outcomes[1]?.delayMs).toBe(1000);
    const [, limited, ok] = feeds.requestsTo('/flaky');
    expect((ok?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(w.polls.map((p) => p.up)).toEqual([false, false, true]);
    expect(itemsOf('flaky').map((i) => i.id)).toEqual(['x1']);
  });

  it('refuses a source on a private address (SSRF guard) and a document that is not a feed', async () => {
    feeds.serve('/broken', { contentType: 'text/html', body: '<html><body>Service unavailable' });
    const before = feeds.requestsTo('/private').length;
    const w = await start(
      [
        { id: 'private', url: `${feeds.ipUrl}/private` },
        { id: 'broken', url: `${feeds.url}/broken` },
      ],
      { CRON_WATCHLIST_INGEST_PRIVATE: NEVER, CRON_WATCHLIST_INGEST_BROKEN: NEVER },
    );
    const blocked = await w.tick('watchlist.ingest.private', 'watchlist.ingest', T0);
    const broken = await w.tick('watchlist.ingest.broken', 'watchlist.ingest', T0);
    expect(await w.waitOutcome((o) => o.eventId === blocked, 'the private source')).toMatchObject({
      kind: 'dead',
      reason: 'ssrf_blocked',
    });
    expect(await w.waitOutcome((o) => o.eventId === broken, 'the broken source')).toMatchObject({
      kind: 'dead',
      reason: 'permanent',
    });
    expect(feeds.requestsTo('/private').length).toBe(before);
    expect(w.polls).toContainEqual({ provider: 'watchlist.private', up: false });
    expect(w.polls).toContainEqual({ provider: 'watchlist.broken', up: false });
    expect(watchlist.requestsTo(INGEST)).toHaveLength(0);
  });

  it('parses RSS 1.0 (RDF) and rejects bad WATCHLIST_SOURCES naming the variable', () => {
    const rdf =
      '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" ' +
      'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>x</title></channel>' +
      '<item><title>One</title><link>https://r.example/1</link><dc:date>2026-11-23T10:00:00Z</dc:date></item></rdf:RDF>';
    expect(parseFeed(rdf, 'auto')).toEqual([
      {
        id: undefined,
        link: 'https://r.example/1',
        title: 'One',
        summary: undefined,
        published: '2026-11-23T10:00:00Z',
      },
    ]);
    expect(() => createWatchlistPack({ WATCHLIST_SOURCES: '{' })).toThrow(
      /WATCHLIST_SOURCES: is not valid JSON/,
    );
    expect(() =>
      createWatchlistPack({ WATCHLIST_SOURCES: JSON.stringify([{ id: 'UPPER', url: 'x' }]) }),
    ).toThrow(/WATCHLIST_SOURCES\.0\.id/);
  });
});
