// exchange.candles (seed 002 §2, built incrementally): each `trade.executed` is applied to its pair's bar of every
// interval (1m .. 1M) by one atomic script per bar, once per trade id, so redeliveries, duplicates and trades out of
// order inside a bar leave the same bars. exchange.candles.close then closes the bars on their cron boundaries.
import type { BarInterval } from '../../sinks/bar-writer.js';
import { BAR_INTERVALS } from '../../sinks/bar-writer.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { EXCHANGE_DOMAIN } from './events.js';
import type { ExchangeEventMap } from './events.js';
import type { ExchangeSettings } from './exchange-settings.js';
import { WORKER_TYPES } from './modules-set.js';

export const CANDLE_TRADES_JOB = 'exchange.candles';

type TradeExecuted = ExchangeEventMap['trade.executed'];

const MINUTE = 60_000;
/** The longest bar of each interval (a month: 31 days). */
export const LONGEST_BAR_MS: Readonly<Record<BarInterval, number>> = {
  '1m': MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': 60 * MINUTE,
  '4h': 240 * MINUTE,
  '1d': 1440 * MINUTE,
  '1w': 7 * 1440 * MINUTE,
  '1M': 31 * 1440 * MINUTE,
};

/** A bar lives its length plus the grace: long enough for its close (and a late retry of it) to read it. */
export function barTtl(graceMs: number): (interval: BarInterval) => number {
  return (interval) => LONGEST_BAR_MS[interval] + graceMs;
}

export function candleTradesDefinition(
  context: PackContext,
  settings: ExchangeSettings,
): JobDefinition<TradeExecuted> {
  const ttl = barTtl(settings.candles.barGraceMs);
  return {
    name: CANDLE_TRADES_JOB,
    domain: EXCHANGE_DOMAIN,
    types: ['trade.executed'],
    concurrency: 32,
    // bar updates are atomic and order-independent: trades of one pair need not wait for each other
    keyOf: (event) => event.data.tradeId,
    handler: async (event) => {
      const trade = event.data;
      await context.bars.applyTrade(
        trade.pairId,
        BAR_INTERVALS,
        { id: trade.tradeId, ts: Date.parse(trade.executedAt), price: trade.price, qty: trade.quantity },
        ttl,
      );
      return outcome.ack();
    },
  };
}

export function candleTradesJob(settings: ExchangeSettings): PackJob {
  return {
    catalog: {
      name: CANDLE_TRADES_JOB,
      domain: EXCHANGE_DOMAIN,
      aliases: [WORKER_TYPES.candles],
      enableFlag: 'ENABLE_EXCHANGE_CANDLES',
      enabledByDefault: false,
    },
    definition: (context) => candleTradesDefinition(context, settings),
  };
}
