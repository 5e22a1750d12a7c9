// Mock Watchlist: ingests normalized NewsItems per source; an item it already has counts as a duplicate
// (src/jobs/watchlist/api.ts).
import { watchlistIngest } from '../../src/jobs/watchlist/api.js';
import { contractRoute, startPlatformService, type PlatformService } from './platform-service.js';
import type { ServiceContext } from './service-context.js';
import { utilityRoutes, type UtilityHelpers, type UtilityOptions } from './utility-routes.js';

export interface MockNewsItem {
  readonly sourceId: string;
  readonly id: string;
  readonly url: string;
  readonly title: string;
  readonly publishedAt: string;
  readonly summary?: string;
  readonly symbols?: readonly string[];
}

export interface WatchlistOptions {
  readonly utility?: UtilityOptions;
}

export interface MockWatchlist extends PlatformService, UtilityHelpers {
  /** Items ingested, of one source or all. */
  items(sourceId?: string): MockNewsItem[];
  domainStats(): Record<string, number>;
}

const WATCHLIST = 'watchlist';

export async function startMockWatchlist(
  ctx: ServiceContext,
  options: WatchlistOptions = {},
): Promise<MockWatchlist> {
  const items = new Map<string, MockNewsItem>();
  let duplicates = 0;

  const utility = utilityRoutes(ctx, WATCHLIST, options.utility);
  const service = await startPlatformService({
    ...ctx.server,
    name: WATCHLIST,
    random: ctx.random,
    routes: [
      contractRoute(watchlistIngest, ({ data }) => {
        let accepted = 0;
        let repeated = 0;
        for (const item of data.items) {
          const key = `${data.sourceId}|${item.id}`;
          if (items.has(key)) {
            repeated += 1;
            continue;
          }
          items.set(key, { sourceId: data.sourceId, ...item });
          accepted += 1;
        }
        duplicates += repeated;
        return { status: 200, applied: accepted > 0, body: { accepted, duplicates: repeated } };
      }),
      ...utility.routes,
    ],
  });

  return {
    ...service,
    ...utility.helpers,
    items: (sourceId) =>
      [...items.values()].filter((item) => sourceId === undefined || item.sourceId === sourceId),
    domainStats: () => ({ items: items.size, duplicates }),
  };
}
