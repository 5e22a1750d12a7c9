// watchlist.ingest (seed 000 §3.6): on each tick of `watchlist.ingest.<source>`, fetches that curated source through
// the SSRF guard under its shared rate limit, normalizes its entries into NewsItems (bad ones skipped), drops those
// posted before, and posts the rest to Watchlist's ingest route with a batch-digest Idempotency-Key.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PermanentError, errorMessage } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { requireServices } from '../pack-settings.js';
import { pollFailure, pollWithHealth } from '../provider-health.js';
import { watchlistIngest, watchlistIngestResponse } from './api.js';
import { FeedFormatError, parseFeed, toNewsItem } from './feed-parser.js';
import type { NewsItem } from './feed-parser.js';
import { watchlistIngestSchedule } from './watchlist-settings.js';
import type { WatchlistSettings, WatchlistSource } from './watchlist-settings.js';

export const WATCHLIST_INGEST_JOB = 'watchlist.ingest';
/** Every 5 minutes. */
// not in the seeds: chosen here (000 §3.6 gives no cadence)
export const WATCHLIST_INGEST_DEFAULT_SPEC = '*/5 * * * *';
/** Largest batch the ingest route takes (api.ts). */
const BATCH = 200;
/** Item ids remembered per source; a feed shows far fewer entries than this at once. */
const SEEN_IDS = 2000;
const SEEN_TTL_MS = 7 * 86_400_000;
const SEEN_NAMESPACE = 'watchlist.ingest.seen';
const MAX_PROBLEMS = 5;

function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export interface ReadFeed {
  readonly items: NewsItem[];
  readonly skipped: number;
  readonly problems: string[];
}

/** Entries -> NewsItems of one source, each id once; a document that is not a feed is a permanent failure. */
export function readFeed(source: WatchlistSource, body: string): ReadFeed {
  let entries;
  try {
    entries = parseFeed(body, source.format);
  } catch (error) {
    if (error instanceof FeedFormatError) {
      throw new PermanentError(
        `watchlist source ${source.id} answered something that is not a feed: ${error.message}`,
      );
    }
    throw error;
  }
  const items: NewsItem[] = [];
  const ids = new Set<string>();
  const problems: string[] = [];
  let skipped = 0;
  entries.forEach((entry, index) => {
    const item = toNewsItem(entry, source.url, source.symbols);
    if (typeof item === 'string') {
      skipped += 1;
      if (problems.length < MAX_PROBLEMS) problems.push(`entry ${index}: ${item}`);
    } else if (!ids.has(item.id)) {
      ids.add(item.id);
      items.push(item);
    }
  });
  return { items, skipped, problems };
}

export function watchlistIngestJob(settings: WatchlistSettings): PackJob {
  return {
    catalog: {
      name: WATCHLIST_INGEST_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: ['watchlist'],
      enableFlag: 'ENABLE_WATCHLIST_INGEST',
      // like every pack job: runs when its ENABLE_* flag is true or PROCESSORS names it (it needs SVC_*_URLs)
      enabledByDefault: false,
    },
    schedules: settings.sources.map((source) => ({
      name: watchlistIngestSchedule(source.id),
      defaultSpec: WATCHLIST_INGEST_DEFAULT_SPEC,
      overlap: 'skip',
      missed: 'once',
    })),
    definition: (ctx) => watchlistIngestDefinition(ctx, settings.sources),
  };
}

export function watchlistIngestDefinition(
  ctx: PackContext,
  sources: readonly WatchlistSource[],
): JobDefinition<CronTickData> {
  requireServices(ctx.config, WATCHLIST_INGEST_JOB, 'watchlist');
  const sink = ctx.services();
  const logger = ctx.logger.child({ job: WATCHLIST_INGEST_JOB });
  if (sources.length === 0) logger.warn('watchlist.ingest is enabled but WATCHLIST_SOURCES lists no source');
  const bySchedule = new Map(sources.map((s) => [watchlistIngestSchedule(s.id), s]));

  async function fetchFeed(source: WatchlistSource, signal: AbortSignal): Promise<ReadFeed> {
    await ctx.rateLimiter(`watchlist.${source.id}`, source.perSecond, source.burst).take(1, signal);
    const body = await ctx.external().fetchText(source.url, { headers: source.headers ?? {}, signal });
    return readFeed(source, body);
  }

  async function seenIds(source: string): Promise<string[]> {
    try {
      const parsed = z.array(z.string()).safeParse(await ctx.cache.get(SEEN_NAMESPACE, source));
      return parsed.success ? parsed.data : [];
    } catch (error) {
      // unreadable marks only cost a repeated post, which Watchlist counts as duplicates
      logger.warn(
        { source, err: errorMessage(error) },
        'watchlist.ingest seen ids unreadable, starting afresh',
      );
      return [];
    }
  }

  async function post(
    source: WatchlistSource,
    items: readonly NewsItem[],
    event: EventEnvelope<CronTickData>,
    signal: AbortSignal,
  ): Promise<Outcome> {
    for (let i = 0; i < items.length; i += BATCH) {
      const batch = items.slice(i, i + BATCH);
      const result = await sink.call(
        {
          service: 'watchlist',
          path: watchlistIngest.path,
          body: { sourceId: source.id, items: batch },
          idempotencyKey: idempotencyKey(watchlistIngest.idempotencyKey.scope, source.id, digestOf(batch)),
          responseSchema: watchlistIngestResponse,
        },
        { event, signal },
      );
      if (result.outcome.kind !== 'ack') return result.outcome;
    }
    return outcome.ack();
  }

  return {
    name: WATCHLIST_INGEST_JOB,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    concurrency: 4,
    // the handler gives a tick up after POLL_ATTEMPTS (pollFailure); this only bounds a crash loop
    retry: { maxAttempts: 5 },
    handler: async (event: EventEnvelope<CronTickData>, job: JobContext): Promise<Outcome> => {
      const source = bySchedule.get(event.data.schedule);
      if (source === undefined) {
        // a tick of a source removed from WATCHLIST_SOURCES since it was scheduled
        logger.warn({ schedule: event.data.schedule }, 'tick of an unknown watchlist source ignored');
        return outcome.ack();
      }
      const giveUp = (reason: string): void =>
        logger.error(
          { source: source.id, tick: event.data.tick, attempts: job.attempt, reason },
          `watchlist source ${source.id}: fetch failed, giving the tick up (the next tick fetches again)`,
        );
      let feed: ReadFeed;
      try {
        feed = await pollWithHealth(ctx, `watchlist.${source.id}`, () => fetchFeed(source, job.signal));
      } catch (error) {
        return pollFailure(outcomeFromError(error), job.attempt, giveUp);
      }
      if (feed.skipped > 0) {
        logger.warn(
          { source: source.id, skipped: feed.skipped, problems: feed.problems },
          `watchlist source ${source.id}: ${feed.skipped} entries could not be normalized and were skipped`,
        );
      }
      const seen = await seenIds(source.id);
      const known = new Set(seen);
      const fresh = feed.items.filter((item) => !known.has(item.id));
      if (fresh.length === 0) return outcome.ack();
      const posted = await post(source, fresh, event, job.signal);
      if (posted.kind !== 'ack') return pollFailure(posted, job.attempt, giveUp);
      const remembered = [...fresh.map((item) => item.id), ...seen].slice(0, SEEN_IDS);
      await ctx.cache.put(SEEN_NAMESPACE, source.id, remembered, SEEN_TTL_MS);
      return outcome.ack();
    },
  };
}
