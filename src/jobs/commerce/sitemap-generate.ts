// sitemap.generate (seed 003 §4): per-locale, per-type sitemaps of one tenant from Commerce's URL listings, split
// into files of at most 45,000 URLs and 50 MB, each stored through Commerce; the index stored last makes the set live.
// The summary is cached 24 h under `sitemap:<tenant>`; search engines are pinged at the optional SITEMAP_PING_URLS.
import { PermanentError, errorMessage } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import type { CallScope } from '../../sinks/http-sink.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import {
  commerceSitemapConfig,
  commerceSitemapFile,
  commerceSitemapUrls,
  sitemapConfigResponse,
  sitemapFileResponse,
  sitemapUrlsResponse,
} from './api.js';
import { queueOptionsOf } from './commerce-settings.js';
import type { CommerceSettings } from './commerce-settings.js';
import type { CommerceEventMap } from './events.js';
import { CACHE } from './key-conventions.js';
import { COMMERCE_QUEUE_POLICIES, SITEMAP_GENERATE } from './queue-policies.js';
import { MAX_INDEX_ENTRIES, createSitemapChunker, sitemapIndex } from './sitemap-writer.js';
import type { SitemapFile } from './sitemap-writer.js';

export { SITEMAP_GENERATE };
export const SITEMAP_PRIORITY = COMMERCE_QUEUE_POLICIES[SITEMAP_GENERATE].priority;

type SitemapRequest = CommerceEventMap['sitemap.generation_requested'];
type UrlType = 'products' | 'categories' | 'pages';

const URL_TYPES: readonly UrlType[] = ['products', 'categories', 'pages'];
export const SITEMAP_INDEX_NAME = 'sitemap-index.xml';
/** Listing pages per (locale, type): far above 45,000 URLs x many files at the largest page size. */
const MAX_LISTING_PAGES = 100_000;

/** One stored (or, in a dry run, generated) file, as the cache summary and the index list it. */
export interface StoredSitemap {
  readonly name: string;
  readonly url: string;
  readonly urlCount: number;
  readonly bytes: number;
  readonly sha256: string;
}

export function sitemapFileName(type: UrlType, locale: string, index: number): string {
  return `sitemap-${type}-${locale.toLowerCase()}-${index + 1}.xml`;
}

export function sitemapGenerateJob(
  context: PackContext,
  settings: CommerceSettings,
): JobDefinition<SitemapRequest> {
  const sink = serviceSinkFor(context, SITEMAP_GENERATE, 'commerce');
  const logger = context.logger.child({ job: SITEMAP_GENERATE });

  async function store(
    data: SitemapRequest,
    file: SitemapFile,
    kind: 'urlset' | 'index',
    scope: CallScope,
    files?: readonly string[],
  ): Promise<string> {
    const stored = await sink.fetchJson(
      {
        service: 'commerce',
        path: commerceSitemapFile.path,
        body: {
          jobId: data.jobId,
          tenantId: data.tenantId,
          kind,
          name: file.name,
          urlCount: file.urlCount,
          bytes: file.bytes,
          sha256: file.sha256,
          content: file.content,
          ...(files === undefined ? {} : { files }),
        },
        // the content's hash is part of the key: a retry that finds other URLs stores a new version of the file
        idempotencyKey: idempotencyKey(
          commerceSitemapFile.idempotencyKey.scope,
          data.jobId,
          file.name,
          file.sha256,
        ),
        responseSchema: sitemapFileResponse,
      },
      scope,
    );
    if (stored === undefined)
      throw new PermanentError(`commerce stored ${file.name} without answering its URL`);
    return stored.url;
  }

  async function generate(event: EventEnvelope<SitemapRequest>, job: JobContext): Promise<Outcome> {
    const data = event.data;
    const scope = { event, signal: job.signal };
    const upload = data.uploadToStorage ?? true;
    const config = await sink.fetchJson(
      {
        service: 'commerce',
        method: 'GET',
        path: `${commerceSitemapConfig.path}?${new URLSearchParams({ tenantId: data.tenantId }).toString()}`,
        responseSchema: sitemapConfigResponse,
      },
      scope,
    );
    if (config === undefined) throw new PermanentError(`commerce has no sitemap config for ${data.tenantId}`);
    const locales = data.locales ?? config.locales;
    const wanted = data.types ?? ['products', 'categories', 'pages', 'index'];
    const types = URL_TYPES.filter((type) => wanted.includes(type));
    const stored: StoredSitemap[] = [];
    let oversized = 0;

    const keep = async (file: SitemapFile): Promise<void> => {
      const url = upload ? await store(data, file, 'urlset', scope) : new URL(file.name, config.baseUrl).href;
      stored.push({ name: file.name, url, urlCount: file.urlCount, bytes: file.bytes, sha256: file.sha256 });
    };

    for (const locale of locales) {
      for (const type of types) {
        const chunker = createSitemapChunker({
          maxUrls: settings.SITEMAP_MAX_URLS_PER_FILE,
          maxBytes: settings.SITEMAP_MAX_FILE_BYTES,
          nameOf: (index) => sitemapFileName(type, locale, index),
        });
        let cursor: string | null = null;
        for (let pages = 0; pages < MAX_LISTING_PAGES; pages += 1) {
          const query = new URLSearchParams({
            tenantId: data.tenantId,
            locale,
            type,
            limit: String(settings.SITEMAP_PAGE_SIZE),
          });
          if (cursor !== null) query.set('cursor', cursor);
          const page = await sink.fetchJson(
            {
              service: 'commerce',
              method: 'GET',
              path: `${commerceSitemapUrls.path}?${query.toString()}`,
              responseSchema: sitemapUrlsResponse,
            },
            scope,
          );
          if (page === undefined) break;
          for (const url of page.items) {
            const completed = chunker.add(url);
            if (completed !== undefined) await keep(completed);
          }
          cursor = page.nextCursor;
          if (cursor === null) break;
        }
        const last = chunker.finish();
        if (last !== undefined) await keep(last);
        oversized += chunker.oversized;
      }
    }
    if (oversized > 0) {
      logger.warn(
        { tenantId: data.tenantId, oversized },
        `sitemap ${data.jobId}: ${oversized} URLs left out, each alone over SITEMAP_MAX_FILE_BYTES`,
      );
    }
    if (stored.length > MAX_INDEX_ENTRIES) {
      throw new PermanentError(
        `sitemap ${data.jobId}: ${stored.length} files, over the index limit of 50,000`,
      );
    }

    let indexUrl: string | undefined;
    if (wanted.includes('index') && stored.length > 0) {
      // lastmod = the request's time: the same on every retry, so the index keeps its content hash and key
      const index = sitemapIndex(
        SITEMAP_INDEX_NAME,
        stored.map((file) => ({ url: file.url, lastmod: event.occurredAt })),
      );
      indexUrl = upload
        ? await store(
            data,
            index,
            'index',
            scope,
            stored.map((file) => file.name),
          )
        : new URL(index.name, config.baseUrl).href;
    }
    await context.cache.put(
      CACHE.sitemap,
      data.tenantId,
      {
        jobId: data.jobId,
        requestedAt: event.occurredAt,
        uploaded: upload,
        indexUrl: indexUrl ?? null,
        files: stored,
      },
      settings.SITEMAP_CACHE_TTL_MS,
    );
    if (upload && indexUrl !== undefined && data.pingSearchEngines === true) {
      await ping(indexUrl, job.signal);
    }
    return outcome.ack();
  }

  /** Best effort: a search engine that does not answer is logged, never retried (the files are already live). */
  async function ping(indexUrl: string, signal: AbortSignal): Promise<void> {
    for (const template of settings.SITEMAP_PING_URLS) {
      const url = template.replaceAll('{sitemap}', encodeURIComponent(indexUrl));
      try {
        await context.external().fetchText(url, { signal });
      } catch (error) {
        if (signal.aborted) throw error;
        logger.warn({ ping: new URL(url).origin, err: errorMessage(error) }, 'sitemap ping failed');
      }
    }
  }

  return {
    name: SITEMAP_GENERATE,
    domain: 'commerce',
    types: ['sitemap.generation_requested'],
    // few and heavy (a file may be 50 MB in memory)
    concurrency: 2,
    ...queueOptionsOf(settings, SITEMAP_GENERATE),
    handler: generate,
  };
}
