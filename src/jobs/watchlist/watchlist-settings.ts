// Settings of the watchlist pack: the curated sources (WATCHLIST_SOURCES) ingested by watchlist.ingest, each with its
// own cron schedule `watchlist.ingest.<id>` (CRON_WATCHLIST_INGEST_<ID>).
import { z } from 'zod';
import { marketSymbol } from '../contract-fields.js';
import { jsonVariable, parsePackSettings } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';

/** Source ids end up in schedule names, rate-limit keys and Idempotency-Keys. */
export const sourceId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected a source id of 1-32 chars [a-z0-9_-]');

/** One curated source (seed 000 §3.6 "rss or api"): RSS 2.0/1.0, Atom 1.0 or JSON Feed 1.x; `auto` detects which. */
// not in the seeds: chosen here
export const watchlistSourceSchema = z.strictObject({
  id: sourceId,
  url: z.url({ protocol: /^https?$/ }).max(2048),
  format: z.enum(['auto', 'rss', 'atom', 'json']).default('auto'),
  /** Symbols every item of this source is about (a coin's own blog), sent as NewsItem.symbols. */
  symbols: z.array(marketSymbol).max(20).optional(),
  /** The source's rate limit, shared by every worker through Redis (bucket `watchlist.<id>`). */
  perSecond: z.number().positive().max(1000).default(1),
  burst: z.number().int().min(1).max(1000).default(1),
  /** Sent with every request (e.g. an API key header); keep WATCHLIST_SOURCES in the secret manager then. */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(1024)).optional(),
});

export type WatchlistSource = z.output<typeof watchlistSourceSchema>;

export const watchlistSettingsSchema = z
  .looseObject({ WATCHLIST_SOURCES: jsonVariable(z.array(watchlistSourceSchema).max(200), []) })
  .superRefine((env, ctx) => {
    const ids = env.WATCHLIST_SOURCES.map((s) => s.id);
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (twice.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['WATCHLIST_SOURCES'],
        message: `source ids must be unique, ${twice.join(', ')} appear more than once`,
      });
    }
  });

export interface WatchlistSettings {
  readonly sources: readonly WatchlistSource[];
}

export function watchlistSettingsFrom(env: Environment): WatchlistSettings {
  return { sources: parsePackSettings(watchlistSettingsSchema, env, 'watchlist').WATCHLIST_SOURCES };
}

/** `watchlist.ingest.<source id>`: the schedule whose ticks fetch one source. */
export function watchlistIngestSchedule(source: string): string {
  return `watchlist.ingest.${source}`;
}
