// exchange.candles.close (seed 002 §2 Candle Generation Worker): on each interval's cron boundary (1m .. 1M, UTC),
// closes the bar that just ended for every active pair, in parallel, and caches the candle (60 s TTL). A pair without
// trades in the bar gets a flat candle at the previous close (volume 0), so quiet periods leave no gaps.
import { errorMessage } from '../../errors.js';
import { outcome } from '../../streams/outcome.js';
import type { Bar, BarInterval } from '../../sinks/bar-writer.js';
import { BAR_INTERVALS, barEnd, barStart } from '../../sinks/bar-writer.js';
import { DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { failuresOf, settleBounded } from './bounded-parallel.js';
import { LONGEST_BAR_MS } from './candle-trades.js';
import { quoteVolume } from './exchange-amounts.js';
import type { TradingPair } from './exchange-client.js';
import type { ExchangeSettings } from './exchange-settings.js';
import { exchangeSchedule, exchangeTickJob } from './exchange-tick-job.js';
import { WORKER_TYPES } from './modules-set.js';

export const CANDLE_CLOSE_JOB = 'exchange.candles.close';

/**
 * 002 §2 Schedules, one per interval (its per-interval lock keeps runs of one interval apart). In UTC, like the
 * bars; `1M`'s schedule is `exchange.candles.1mo` so its variable (CRON_EXCHANGE_CANDLES_1MO) differs from 1m's.
 */
export const CANDLE_SCHEDULES: Readonly<
  Record<BarInterval, { readonly name: string; readonly spec: string }>
> = {
  '1m': { name: 'exchange.candles.1m', spec: 'TZ=UTC 0 * * * * *' },
  '5m': { name: 'exchange.candles.5m', spec: 'TZ=UTC 0 */5 * * * *' },
  '15m': { name: 'exchange.candles.15m', spec: 'TZ=UTC 0 */15 * * * *' },
  '30m': { name: 'exchange.candles.30m', spec: 'TZ=UTC 0 */30 * * * *' },
  '1h': { name: 'exchange.candles.1h', spec: 'TZ=UTC 0 0 * * * *' },
  '4h': { name: 'exchange.candles.4h', spec: 'TZ=UTC 0 0 */4 * * *' },
  '1d': { name: 'exchange.candles.1d', spec: 'TZ=UTC 0 0 0 * * *' },
  '1w': { name: 'exchange.candles.1w', spec: 'TZ=UTC 0 0 0 * * 1' },
  '1M': { name: 'exchange.candles.1mo', spec: 'TZ=UTC 0 0 0 1 * *' },
};

/** `<prefix>:cache:exchange.candles.<interval>:<pairId>`: the last closed candle (seed 002: 60 s TTL). */
export function candleCacheNamespace(interval: BarInterval): string {
  return `exchange.candles.${interval}`;
}

/** `<prefix>:cache:exchange.candles.last.<interval>:<pairId>`: start and close of the last closed bar (gap fill). */
export function candleMarkerNamespace(interval: BarInterval): string {
  return `exchange.candles.last.${interval}`;
}

/** Bars looked at, backwards, for the previous close of a quiet bar (a missed close leaves bars unclosed). */
export const MAX_WALK_BARS = 60;

export interface Candle {
  readonly pairId: string;
  readonly symbol: string;
  readonly interval: BarInterval;
  readonly openTime: string;
  /** Exclusive end: the next bar's openTime. */
  readonly closeTime: string;
  /** Prices: quote minor units per whole base unit. */
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  /** Base minor units. */
  readonly volume: string;
  /** Quote minor units (Σ price x quantity / 10^baseDecimals, rounded down). */
  readonly quoteVolume: string;
  readonly trades: number;
  /** True for a flat candle of a bar without trades. */
  readonly filled: boolean;
}

interface Marker {
  readonly start: number;
  /** null: the pair had no trade to fill from at `start`. */
  readonly close: string | null;
}

/** The last bar that ended at or before `tickMs` (the bar just ended, for a tick on a boundary). */
export function closedBarStart(interval: BarInterval, tickMs: number): number {
  return barStart(interval, barStart(interval, tickMs) - 1);
}

function candleOf(
  pair: TradingPair,
  interval: BarInterval,
  start: number,
  bar: Bar | undefined,
  close: string,
) {
  const base = {
    pairId: pair.pairId,
    symbol: pair.symbol,
    interval,
    openTime: new Date(start).toISOString(),
    closeTime: new Date(barEnd(interval, start)).toISOString(),
  };
  if (bar === undefined) {
    const flat = { open: close, high: close, low: close, close, volume: '0', quoteVolume: '0', trades: 0 };
    return { ...base, ...flat, filled: true } satisfies Candle;
  }
  return {
    ...base,
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: bar.volume,
    quoteVolume: quoteVolume(bar.quoteVolume, pair.baseDecimals),
    trades: bar.trades,
    filled: false,
  } satisfies Candle;
}

function markerOf(value: unknown): Marker | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { start, close } = value as Record<string, unknown>;
  if (typeof start !== 'number' || !(typeof close === 'string' || close === null)) return undefined;
  return { start, close };
}

export type CloseResult = 'traded' | 'filled' | 'no-history' | 'stale';

export function candleCloser(context: PackContext, settings: ExchangeSettings) {
  const { cacheTtlMs, barGraceMs } = settings.candles;
  const markerTtl = (interval: BarInterval): number => 2 * LONGEST_BAR_MS[interval] + barGraceMs;

  /** The close of the newest bar before `start` newer than the marker, else the marker's close. */
  async function previousClose(
    pairId: string,
    interval: BarInterval,
    start: number,
    marker: Marker | undefined,
  ): Promise<string | undefined> {
    const starts: number[] = [];
    for (let cursor = start; starts.length < MAX_WALK_BARS;) {
      const previous = barStart(interval, cursor - 1);
      if (marker !== undefined && previous <= marker.start) break;
      starts.push(previous);
      cursor = previous;
    }
    if (starts.length > 0) {
      const pipeline = context.redis.pipeline();
      for (const at of starts) pipeline.hget(context.keys.bar(pairId, interval, at).bar, 'close');
      for (const [error, close] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        if (typeof close === 'string') return close;
      }
    }
    return marker?.close ?? undefined;
  }

  return async function closeCandle(
    pair: TradingPair,
    interval: BarInterval,
    start: number,
  ): Promise<CloseResult> {
    const markerNamespace = candleMarkerNamespace(interval);
    const [bar, stored] = await Promise.all([
      context.bars.readBar(pair.pairId, interval, start),
      context.cache.get(markerNamespace, pair.pairId),
    ]);
    const marker = markerOf(stored);
    // a backfilled or late tick of an older bar must not replace the newer candle
    if (marker !== undefined && marker.start > start) return 'stale';
    const close = bar?.close ?? (await previousClose(pair.pairId, interval, start, marker));
    if (close === undefined) {
      // the pair never traded (within reach): nothing to fill from, and no walk next time
      await context.cache.put(markerNamespace, pair.pairId, { start, close: null }, markerTtl(interval));
      return 'no-history';
    }
    const candle = candleOf(pair, interval, start, bar, close);
    await context.cache.putMany([
      { namespace: candleCacheNamespace(interval), id: pair.pairId, value: candle, ttlMs: cacheTtlMs },
      { namespace: markerNamespace, id: pair.pairId, value: { start, close }, ttlMs: markerTtl(interval) },
    ]);
    return bar === undefined ? 'filled' : 'traded';
  };
}

export function candleCloseJob(settings: ExchangeSettings): PackJob {
  const { closeDelayMs, concurrency } = settings.candles;
  const intervalOf = new Map(BAR_INTERVALS.map((interval) => [CANDLE_SCHEDULES[interval].name, interval]));
  return {
    catalog: {
      name: CANDLE_CLOSE_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: [WORKER_TYPES.candles],
      enableFlag: 'ENABLE_EXCHANGE_CANDLES',
      enabledByDefault: false,
    },
    // after a downtime the latest boundary closes; its candle fills from the bars the missed closes left
    schedules: BAR_INTERVALS.map((interval) =>
      exchangeSchedule(CANDLE_SCHEDULES[interval].name, CANDLE_SCHEDULES[interval].spec, 'once'),
    ),
    definition: (context) => {
      const closeCandle = candleCloser(context, settings);
      return exchangeTickJob(context, {
        name: CANDLE_CLOSE_JOB,
        // every interval's boundary can coincide (midnight on the 1st): one run each, plus a due retry
        concurrency: BAR_INTERVALS.length + 1,
        run: async ({ event, scope, exchange, logger, job }) => {
          const interval = intervalOf.get(event.data.schedule);
          if (interval === undefined) {
            logger.warn({ schedule: event.data.schedule }, 'tick of an unknown candle schedule ignored');
            return undefined;
          }
          const tickMs = Date.parse(event.data.tick);
          const due = tickMs + closeDelayMs;
          // trades executed just before the boundary may still be on their way through the stream
          if (context.clock.now() < due) return outcome.defer(due, 'waiting for trades still in flight');
          const started = context.clock.now();
          const start = closedBarStart(interval, tickMs);
          const pairs = await exchange.activePairs(scope);
          const results = await settleBounded(
            pairs,
            concurrency,
            (pair) => closeCandle(pair, interval, start),
            job.signal,
          );
          const { failed, sample } = failuresOf(
            results,
            (i, reason) => `${pairs[i]?.symbol ?? '?'}: ${errorMessage(reason)}`,
          );
          const closed = results.length - failed;
          const ms = context.clock.now() - started;
          if (failed > 0) {
            logger.warn(
              { interval, closed, failed, sample, ms },
              `generated ${interval} candles: ${closed} success, ${failed} failed`,
            );
          } else logger.debug({ interval, closed, ms }, `generated ${interval} candles: ${closed} success`);
          return undefined;
        },
      });
    },
  };
}
