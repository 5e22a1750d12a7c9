// Watchlist's internal endpoint the ingestion job calls: post normalized NewsItems of one source.
import { z } from 'zod';
import { entityId, isoTimestamp, marketSymbol } from '../contract-fields.js';
import { mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';

/** A normalized feed entry; `id` is stable per entry (the feed's guid/id, or a hash of its link). */
// not in the seeds: chosen here (000 §3.6 names NewsItem, not its fields)
export const newsItem = z.strictObject({
  id: entityId,
  url: z.url({ protocol: /^https?$/ }).max(2048),
  title: z.string().min(1).max(500),
  summary: z.string().max(4000).optional(),
  publishedAt: isoTimestamp,
  symbols: z.array(marketSymbol).max(20).optional(),
});

// not in the seeds: chosen here
export const watchlistIngestRequest = z.strictObject({
  sourceId: entityId,
  items: z.array(newsItem).min(1).max(200),
});

// not in the seeds: chosen here
export const watchlistIngestResponse = z.object({
  accepted: z.number().int().min(0),
  duplicates: z.number().int().min(0),
});

export const watchlistIngest = {
  service: 'watchlist',
  method: 'POST',
  path: '/internal/v1/watchlist/ingest',
  seed: '000 §3.6 ("post normalized NewsItem to Watchlist internal ingest route with idempotency"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'watchlist.ingest', parts: ['sourceId', 'digest(items)'] },
  request: watchlistIngestRequest,
  response: watchlistIngestResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'ingested; items it had already are counted as duplicates',
      body: watchlistIngestResponse,
    },
  },
} as const satisfies InternalEndpoint;
