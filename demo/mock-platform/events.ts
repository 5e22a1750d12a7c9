// Mock Events service: page views counted in minute buckets; a flush until a time takes the complete buckets not
// flushed yet, 204 when there are none (src/jobs/utility/api.ts pageviewsFlush).
import { pageviewsFlush } from '../../src/jobs/utility/api.js';
import { contractRoute, startPlatformService, type PlatformService } from './platform-service.js';
import { toMs, type ServiceContext, type TimeInput } from './service-context.js';
import { utilityRoutes, type UtilityHelpers, type UtilityOptions } from './utility-routes.js';

const BUCKET_MS = 60_000;

export interface EventsOptions {
  readonly utility?: UtilityOptions;
}

export interface MockEventsService extends PlatformService, UtilityHelpers {
  /** Counts page views in the minute bucket of `at` (default now). */
  addPageViews(count?: number, at?: TimeInput): void;
  /** Page views flushed so far. */
  flushedViews(): number;
  /** Buckets waiting for a flush. */
  pendingBuckets(): number;
  domainStats(): Record<string, number>;
}

const EVENTS = 'events';

export async function startMockEvents(
  ctx: ServiceContext,
  options: EventsOptions = {},
): Promise<MockEventsService> {
  const buckets = new Map<number, number>();
  let flushedViews = 0;
  let flushedBuckets = 0;

  const utility = utilityRoutes(ctx, EVENTS, options.utility);
  const service = await startPlatformService({
    ...ctx.server,
    name: EVENTS,
    random: ctx.random,
    routes: [
      contractRoute(pageviewsFlush, ({ data }) => {
        const until = toMs(data.until);
        // only complete buckets: one still filling would be flushed again later
        const due = [...buckets.keys()].filter((start) => start + BUCKET_MS <= until);
        if (due.length === 0) return { status: 204 };
        for (const start of due) {
          flushedViews += buckets.get(start) ?? 0;
          buckets.delete(start);
        }
        flushedBuckets += due.length;
        return { status: 200, applied: true, body: { flushedBuckets: due.length } };
      }),
      ...utility.routes,
    ],
  });

  return {
    ...service,
    ...utility.helpers,
    addPageViews(count = 1, at) {
      const start = Math.floor((at === undefined ? ctx.clock.now() : toMs(at)) / BUCKET_MS) * BUCKET_MS;
      buckets.set(start, (buckets.get(start) ?? 0) + count);
    },
    flushedViews: () => flushedViews,
    pendingBuckets: () => buckets.size,
    domainStats: () => ({ flushedViews, flushedBuckets, pendingBuckets: buckets.size }),
  };
}
