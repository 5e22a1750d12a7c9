// exchange.ticker (seed 002 §1 Ticker Update Worker): every 5 s, the 24 h statistics of every active pair, fetched in
// parallel (one failing pair does not stop the others) and cached in Redis with a short TTL; a run still going when
// the next tick comes makes that tick skip (overlap lock per schedule, shared by every replica).
import { errorMessage } from '../../errors.js';
import type { PackJob } from '../catalog.js';
import type { CacheEntry } from '../../sinks/cache-writer.js';
import { DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import { failuresOf, settleBounded } from './bounded-parallel.js';
import { priceChange } from './exchange-amounts.js';
import type { ExchangeSettings } from './exchange-settings.js';
import { exchangeSchedule, exchangeTickJob } from './exchange-tick-job.js';
import type { Ticker24hStats, TradingPair } from './exchange-client.js';
import { WORKER_TYPES } from './modules-set.js';

export const TICKER_JOB = 'exchange.ticker';
/** 002 §1 `@Cron(CronExpression.EVERY_5_SECONDS)`. */
export const TICKER_DEFAULT_SPEC = '*/5 * * * * *';
/** Cache namespace: `<prefix>:cache:exchange.ticker.24h:<pairId>` (the seed's `ticker:24h:<trading-pair-id>`). */
export const TICKER_CACHE_NAMESPACE = 'exchange.ticker.24h';

/** What readers find in the cache for one pair. */
export interface CachedTicker extends Ticker24hStats {
  readonly symbol: string;
  /** last - open in quote minor units; null without both prices. */
  readonly priceChange: string | null;
  /** The change in percent of open, 2 decimals, e.g. "-1.25"; null without both prices or when open is 0. */
  readonly priceChangePercent: string | null;
  readonly updatedAt: string;
}

export function cachedTicker(pair: TradingPair, stats: Ticker24hStats, updatedAt: string): CachedTicker {
  const change = priceChange(stats.open, stats.last);
  return {
    ...stats,
    symbol: pair.symbol,
    priceChange: change.change,
    priceChangePercent: change.percent,
    updatedAt,
  };
}

export function tickerUpdateJob(settings: ExchangeSettings): PackJob {
  const { cacheTtlMs, concurrency } = settings.ticker;
  return {
    catalog: {
      name: TICKER_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: [WORKER_TYPES.ticker],
      enableFlag: 'ENABLE_EXCHANGE_TICKER',
      // needs SVC_EXCHANGE_URL: on through ENABLE_EXCHANGE_TICKER, PROCESSORS or MODULES_SET/WORKER_TYPE
      enabledByDefault: false,
    },
    // a missed tick is worth nothing 5 s later
    schedules: [exchangeSchedule(TICKER_JOB, TICKER_DEFAULT_SPEC, 'skip')],
    definition: (context) =>
      exchangeTickJob(context, {
        name: TICKER_JOB,
        run: async ({ scope, exchange, logger, job }) => {
          const started = context.clock.now();
          const pairs = await exchange.activePairs(scope);
          const results = await settleBounded(
            pairs,
            concurrency,
            async (pair) => ({ pair, stats: await exchange.ticker24h(pair.pairId, scope) }),
            job.signal,
          );
          const updatedAt = new Date(context.clock.now()).toISOString();
          const entries: CacheEntry[] = [];
          for (const result of results) {
            if (result.status !== 'fulfilled') continue;
            const { pair, stats } = result.value;
            const value = cachedTicker(pair, stats, updatedAt);
            entries.push({ namespace: TICKER_CACHE_NAMESPACE, id: pair.pairId, value, ttlMs: cacheTtlMs });
          }
          await context.cache.putMany(entries);
          const { failed, sample } = failuresOf(
            results,
            (i, reason) => `${pairs[i]?.symbol ?? '?'}: ${errorMessage(reason)}`,
          );
          const ms = context.clock.now() - started;
          if (failed > 0) {
            logger.warn(
              { updated: entries.length, failed, sample, ms },
              `updated ${entries.length} tickers, ${failed} failed`,
            );
          } else
            logger.debug({ updated: entries.length, ms }, `updated ${entries.length} tickers in ${ms}ms`);
          return undefined;
        },
      }),
  };
}
