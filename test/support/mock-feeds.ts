// A loopback mock of external providers and feeds (price APIs, RSS, Atom, JSON Feed, signed storage URLs) on
// listen(0): per-path default answers, one-shot scripted answers (fail, hang, reset, 429), and a request log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One answer; a string body is sent as is (with `contentType`), anything else as JSON. */
export interface FeedAnswer {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Never answer (the client's timeout or abort ends the call). */
  readonly hang?: boolean;
  /** Destroy the socket without answering. */
  readonly reset?: boolean;
}

export interface FeedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Time of arrival (Date.now()). */
  readonly at: number;
}

export interface MockFeeds {
  /** Base URL through the named loopback host, e.g. http://localhost:41234 (what the SSRF guard lets through). */
  readonly url: string;
  /** The same server by IP literal, e.g. http://127.0.0.1:41234 (what the SSRF guard refuses). */
  readonly ipUrl: string;
  readonly requests: readonly FeedRequest[];
  requestsTo(path: string): FeedRequest[];
  /** The answer of every request to `path` once its script is used up; unknown paths answer 404. */
  serve(path: string, answer: FeedAnswer): void;
  /** One-shot answers to `path`, used in order before its default answer. */
  script(path: string, answers: readonly FeedAnswer[]): void;
  close(): Promise<void>;
}

export async function startMockFeeds(): Promise<MockFeeds> {
  const defaults = new Map<string, FeedAnswer>();
  const scripts = new Map<string, FeedAnswer[]>();
  const requests: FeedRequest[] = [];

  function answer(req: IncomingMessage, res: ServerResponse): void {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    requests.push({ method: req.method ?? 'GET', path, query, headers: { ...req.headers }, at: Date.now() });
    const step = scripts.get(path)?.shift() ?? defaults.get(path);
    if (step === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    if (step.hang === true) return;
    if (step.reset === true) {
      req.socket.destroy();
      return;
    }
    const text =
      step.body === undefined ? '' : typeof step.body === 'string' ? step.body : JSON.stringify(step.body);
    const type = step.contentType ?? (typeof step.body === 'string' ? 'text/plain' : 'application/json');
    res.writeHead(step.status ?? 200, { ...(text === '' ? {} : { 'content-type': type }), ...step.headers });
    res.end(text);
  }

  const server: Server = createServer((req, res) => {
    req.resume();
    req.once('end', () => answer(req, res));
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://localhost:${port}`,
    ipUrl: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    serve: (path, step) => defaults.set(path, step),
    script(path, steps) {
      scripts.set(path, [...(scripts.get(path) ?? []), ...steps]);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export interface FeedEntry {
  readonly id?: string;
  readonly title?: string;
  readonly link?: string;
  readonly summary?: string;
  /** ISO-8601; rendered in each format's own date style (RFC 822 in RSS). */
  readonly published?: string;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An RSS 2.0 document. */
export function rssFeed(entries: readonly FeedEntry[], title = 'Mock news'): string {
  const items = entries.map((e) =>
    [
      '<item>',
      e.title === undefined ? '' : `<title>${xml(e.title)}</title>`,
      e.link === undefined ? '' : `<link>${xml(e.link)}</link>`,
      e.id === undefined ? '' : `<guid isPermaLink="false">${xml(e.id)}</guid>`,
      e.summary === undefined ? '' : `<description>${xml(e.summary)}</description>`,
      e.published === undefined ? '' : `<pubDate>${new Date(e.published).toUTCString()}</pubDate>`,
      '</item>',
    ].join(''),
  );
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>' +
    `<title>${xml(title)}</title><link>https://news.example/</link><description>mock</description>` +
    '<atom:link href="https://news.example/rss" rel="self" type="application/rss+xml"/>' +
    `${items.join('\n')}</channel></rss>`
  );
}

/** An Atom 1.0 document. */
export function atomFeed(entries: readonly FeedEntry[], title = 'Mock news'): string {
  const items = entries.map((e) =>
    [
      '<entry>',
      e.title === undefined ? '' : `<title type="text">${xml(e.title)}</title>`,
      e.link === undefined ? '' : `<link rel="alternate" href="${xml(e.link)}"/>`,
      e.id === undefined ? '' : `<id>${xml(e.id)}</id>`,
      e.summary === undefined ? '' : `<summary type="html">${xml(e.summary)}</summary>`,
      e.published === undefined
        ? ''
        : `<published>${e.published}</published><updated>${e.published}</updated>`,
      '</entry>',
    ].join(''),
  );
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">' +
    `<title>${xml(title)}</title><id>urn:mock:feed</id><updated>2026-01-01T00:00:00Z</updated>` +
    `${items.join('\n')}</feed>`
  );
}

/** A JSON Feed 1.1 document. */
export function jsonFeed(entries: readonly FeedEntry[], title = 'Mock news'): object {
  return {
    version: 'https://jsonfeed.org/version/1.1',
    title,
    items: entries.map((e) => ({
      ...(e.id === undefined ? {} : { id: e.id }),
      ...(e.link === undefined ? {} : { url: e.link }),
      ...(e.title === undefined ? {} : { title: e.title }),
      ...(e.summary === undefined ? {} : { summary: e.summary }),
      ...(e.published === undefined ? {} : { date_published: e.published }),
    })),
  };
}
