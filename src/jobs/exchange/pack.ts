// The exchange pack (seed 002 Background Workers): 24 h tickers, OHLCV candles from trades closed on cron boundaries,
// order expiration with balance unlock, and deposit monitoring (confirmations, crediting, backup scan, stuck
// deposits, stats, manual retry) against the exchange's internal API (SVC_EXCHANGE_URL).
import type { JobPack } from '../catalog.js';
import { environmentPack } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { candleCloseJob } from './candle-close.js';
import { candleTradesJob } from './candle-trades.js';
import { depositConfirmationsJob } from './deposit-confirmations.js';
import { depositCreditingJob } from './deposit-crediting.js';
import { depositRetryJob } from './deposit-retry.js';
import { depositScanJob } from './deposit-scan.js';
import { depositStatsJob } from './deposit-stats.js';
import { depositStuckJob } from './deposit-stuck.js';
import { registerExchangeEvents } from './events.js';
import { exchangeSettingsFrom } from './exchange-settings.js';
import { orderExpirationJob } from './order-expiration.js';
import { tickerUpdateJob } from './ticker-update.js';

/**
 * The pack for the settings in `env` (EXCHANGE_*); throws ConfigError when they are bad. Every job is off unless
 * its ENABLE_EXCHANGE_* flag, PROCESSORS or MODULES_SET/WORKER_TYPE (processorsFromModules) selects it: they need
 * SVC_EXCHANGE_URL and SERVICE_JWT_PRIVATE_JWK.
 */
export function createExchangePack(env: Environment): JobPack {
  const settings = exchangeSettingsFrom(env);
  return {
    name: 'exchange',
    register: registerExchangeEvents,
    jobs: [
      tickerUpdateJob(settings),
      candleTradesJob(settings),
      candleCloseJob(settings),
      orderExpirationJob(settings),
      depositConfirmationsJob(settings),
      depositCreditingJob(settings),
      depositScanJob(),
      depositStuckJob(settings),
      depositStatsJob(),
      depositRetryJob(),
    ],
  };
}

export const exchangePack: JobPack = environmentPack(
  'exchange',
  registerExchangeEvents,
  (env) => createExchangePack(env).jobs,
);
