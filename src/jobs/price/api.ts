// Price Service's internal endpoints the jobs call: ingest ticks, ingest bars, read the latest quotes.
import { z } from 'zod';
import { decimalString, entityId, isoTimestamp, marketSymbol } from '../contract-fields.js';
import { commonStatuses, mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';

/** A normalized trade or quote tick. */
// not in the seeds: chosen here
export const priceTick = z.strictObject({
  symbol: marketSymbol,
  price: decimalString,
  size: decimalString.optional(),
  at: isoTimestamp,
  /** The provider's trade id when it has one (dedupe key at the Price Service). */
  tradeId: z.string().min(1).max(128).optional(),
});

/** A normalized OHLCV bar; `openAt` is the start of its interval. */
// not in the seeds: chosen here
export const priceBar = z.strictObject({
  symbol: marketSymbol,
  openAt: isoTimestamp,
  open: decimalString,
  high: decimalString,
  low: decimalString,
  close: decimalString,
  volume: decimalString,
});

/** Bar intervals the Price Service ingests. */
// not in the seeds: chosen here
export const barInterval = z.enum(['1m', '5m', '15m', '1h', '4h', '1d']);

// not in the seeds: chosen here
export const ingestTicksRequest = z.strictObject({
  provider: entityId,
  ticks: z.array(priceTick).min(1).max(1000),
});

// not in the seeds: chosen here
export const ingestBarsRequest = z.strictObject({
  provider: entityId,
  interval: barInterval,
  bars: z.array(priceBar).min(1).max(1000),
});

/** 000 §4.2 "200 accepted": how many were new and how many the Price Service already had. */
// not in the seeds: chosen here (the counts)
export const ingestResponse = z.object({
  accepted: z.number().int().min(0),
  duplicates: z.number().int().min(0),
});

export const priceIngestTicks = {
  service: 'price',
  method: 'POST',
  path: '/internal/v1/price/ticks',
  seed: '000 §3.1, §4.2 ("POST ingest ticks or bars with Idem", "200 accepted"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'price.ingest.ticks', parts: ['provider', 'digest(ticks)'] },
  request: ingestTicksRequest,
  response: ingestResponse,
  statuses: { ...mutationStatuses, 200: { outcome: 'ack', meaning: 'accepted', body: ingestResponse } },
} as const satisfies InternalEndpoint;

export const priceIngestBars = {
  service: 'price',
  method: 'POST',
  path: '/internal/v1/price/bars',
  seed: '000 §3.1, §4.2 ("POST ingest ticks or bars with Idem", "200 accepted"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'price.ingest.bars', parts: ['provider', 'interval', 'digest(bars)'] },
  request: ingestBarsRequest,
  response: ingestResponse,
  statuses: { ...mutationStatuses, 200: { outcome: 'ack', meaning: 'accepted', body: ingestResponse } },
} as const satisfies InternalEndpoint;

/** Comma-separated symbols, e.g. `BTC/USDT,ETH/USDT`. */
// not in the seeds: chosen here
export const quotesQuery = z.strictObject({
  symbols: z
    .string()
    .regex(/^[A-Z0-9/_-]+(?:,[A-Z0-9/_-]+){0,99}$/, 'expected up to 100 comma-separated symbols'),
});

// not in the seeds: chosen here
export const quotesResponse = z.object({
  quotes: z.array(z.object({ symbol: marketSymbol, price: decimalString, at: isoTimestamp })),
});

export const priceQuotes = {
  service: 'price',
  method: 'GET',
  path: '/internal/v1/price/quotes',
  seed: '001 §7 cfb.price.sample ("fetch prices from SVC_PRICE_URL"); path not in the seeds: chosen here',
  query: quotesQuery,
  response: quotesResponse,
  statuses: {
    ...commonStatuses,
    200: {
      outcome: 'ack',
      meaning: 'latest quote per known symbol; the sampler writes them into minute bars in Redis',
      body: quotesResponse,
    },
  },
} as const satisfies InternalEndpoint;
