// Watchlist's event contracts on the `watchlist` streams: none yet, its ingestion runs on cron ticks.
import type { EventRegistry } from '../../events/registry.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts } from '../event-contract.js';

export const WATCHLIST_DOMAIN = 'watchlist';

/**
 * watchlist.ingest reads the scheduler's `cron.tick` of one schedule per curated source
 * (`watchlist.ingest.<sourceId>`; the source's URL and format are job configuration), so no type here.
 */
export const watchlistEvents = {} as const satisfies EventContracts;

export function registerWatchlistEvents(registry: EventRegistry): void {
  registerEventContracts(registry, WATCHLIST_DOMAIN, watchlistEvents);
}
