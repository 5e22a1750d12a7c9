// The watchlist pack (seed 000 §3.6): ingestion of curated RSS/Atom/JSON sources into Watchlist, one cron schedule per
// source; it runs on cron ticks, so the pack registers no event types of its own.
import type { JobPack } from '../catalog.js';
import { environmentPack } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { registerWatchlistEvents } from './events.js';
import { watchlistIngestJob } from './watchlist-ingest.js';
import { watchlistSettingsFrom } from './watchlist-settings.js';

/** The pack for the settings in `env` (WATCHLIST_SOURCES); throws ConfigError when they are bad. */
export function createWatchlistPack(env: Environment): JobPack {
  return {
    name: 'watchlist',
    register: registerWatchlistEvents,
    jobs: [watchlistIngestJob(watchlistSettingsFrom(env))],
  };
}

export const watchlistPack: JobPack = environmentPack(
  'watchlist',
  registerWatchlistEvents,
  (env) => createWatchlistPack(env).jobs,
);
