// Mock Price service: ingests ticks and bars (duplicates counted, not stored twice) and answers the latest quotes,
// synthetic ones for its known symbols until something was ingested (src/jobs/price/api.ts).
import { priceIngestBars, priceIngestTicks, priceQuotes } from '../../src/jobs/price/api.js';
import { contractRoute, startPlatformService, type PlatformService } from './platform-service.js';
import { iso, toMs, type ServiceContext } from './service-context.js';
import { DEFAULT_SYMBOLS, syntheticPrice } from './synthetic-market.js';
import { utilityRoutes, type UtilityHelpers, type UtilityOptions } from './utility-routes.js';

export interface PriceOptions {
  /** Symbols quoted before anything is ingested; default BTC/USDT, ETH/USDT, TON/USDT. */
  readonly symbols?: readonly string[];
  readonly utility?: UtilityOptions;
}

export interface MockQuote {
  readonly price: string;
  readonly at: string;
}

export interface MockPrice extends PlatformService, UtilityHelpers {
  /** Ticks stored, by `provider|symbol|tradeId` (or `symbol|at|price` without a trade id). */
  tickCount(): number;
  /** Bars stored, by `interval|symbol|openAt`. */
  barCount(): number;
  /** The latest ingested quote of a symbol. */
  latest(symbol: string): MockQuote | undefined;
  domainStats(): Record<string, number>;
}

const PRICE = 'price';

export async function startMockPrice(ctx: ServiceContext, options: PriceOptions = {}): Promise<MockPrice> {
  const known = new Set(options.symbols ?? DEFAULT_SYMBOLS);
  const ticks = new Set<string>();
  const bars = new Set<string>();
  const latest = new Map<string, MockQuote>();
  const counters = { duplicateTicks: 0, duplicateBars: 0 };

  function observe(symbol: string, price: string, at: string): void {
    known.add(symbol);
    const current = latest.get(symbol);
    if (current === undefined || toMs(current.at) <= toMs(at)) latest.set(symbol, { price, at });
  }

  const utility = utilityRoutes(ctx, PRICE, options.utility);
  const service = await startPlatformService({
    ...ctx.server,
    name: PRICE,
    random: ctx.random,
    routes: [
      contractRoute(priceIngestTicks, ({ data }) => {
        let accepted = 0;
        let duplicates = 0;
        for (const tick of data.ticks) {
          const key =
            tick.tradeId === undefined
              ? `${tick.symbol}|${toMs(tick.at)}|${tick.price}`
              : `${data.provider}|${tick.symbol}|${tick.tradeId}`;
          if (ticks.has(key)) {
            duplicates += 1;
            continue;
          }
          ticks.add(key);
          accepted += 1;
          observe(tick.symbol, tick.price, tick.at);
        }
        counters.duplicateTicks += duplicates;
        return { status: 200, applied: accepted > 0, body: { accepted, duplicates } };
      }),
      contractRoute(priceIngestBars, ({ data }) => {
        let accepted = 0;
        let duplicates = 0;
        for (const bar of data.bars) {
          const key = `${data.interval}|${bar.symbol}|${toMs(bar.openAt)}`;
          if (bars.has(key)) {
            duplicates += 1;
            continue;
          }
          bars.add(key);
          accepted += 1;
          observe(bar.symbol, bar.close, bar.openAt);
        }
        counters.duplicateBars += duplicates;
        return { status: 200, applied: accepted > 0, body: { accepted, duplicates } };
      }),
      contractRoute(priceQuotes, ({ data, now }) => {
        const quotes = data.symbols
          .split(',')
          .filter((symbol) => known.has(symbol))
          .map((symbol) => {
            const quote = latest.get(symbol) ?? {
              price: syntheticPrice(ctx.seed, symbol, now),
              at: iso(Math.floor(now / 60_000) * 60_000),
            };
            return { symbol, price: quote.price, at: quote.at };
          });
        return { status: 200, body: { quotes } };
      }),
      ...utility.routes,
    ],
  });

  return {
    ...service,
    ...utility.helpers,
    tickCount: () => ticks.size,
    barCount: () => bars.size,
    latest: (symbol) => latest.get(symbol),
    domainStats: () => ({ ticks: ticks.size, bars: bars.size, ...counters }),
  };
}
