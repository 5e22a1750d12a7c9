// Settings of the exchange pack (seed 002) from EXCHANGE_* variables: cache TTLs, batch sizes, parallelism and the
// confirmations each chain needs. The seed's values are the defaults; every bad variable is one ConfigError.
import { z } from 'zod';
import { integerVariable, jsonVariable, parsePackSettings } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { chainId } from './events.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Seed 002 §4 "Required Confirmations by Chain": the TODO list the seed wanted configurable (its code returns 12).
 */
export const SEED_REQUIRED_CONFIRMATIONS: Readonly<Record<string, number>> = {
  bitcoin: 6,
  ethereum: 12,
  bsc: 15,
  polygon: 128,
  solana: 32,
};

export const exchangeSettingsSchema = z.looseObject({
  /** 002 §1 "Caches results in Redis (5s TTL)". */
  EXCHANGE_TICKER_CACHE_TTL_MS: integerVariable(5_000, 1_000, DAY),
  /** Pairs whose ticker is computed at once (002 §1: "parallel"; its tuning section suggests batches of 10). */
  EXCHANGE_TICKER_CONCURRENCY: integerVariable(16, 1, 256),
  /** 002 §2 "Caches candles in Redis (60s TTL)". */
  EXCHANGE_CANDLE_CACHE_TTL_MS: integerVariable(60_000, 1_000, 31 * DAY),
  /** A bar is closed this long after its boundary, so trades still in flight at the boundary count in it. */
  // not in the seeds: chosen here
  EXCHANGE_CANDLE_CLOSE_DELAY_MS: integerVariable(2_000, 0, 10 * 60_000),
  /** Bars (and their applied trade ids) live this long past their end, for late trades and missed closes. */
  // not in the seeds: chosen here
  EXCHANGE_CANDLE_BAR_GRACE_MS: integerVariable(HOUR, 60_000, 31 * DAY),
  /** Pairs whose candle is closed at once. */
  EXCHANGE_CANDLE_CONCURRENCY: integerVariable(16, 1, 256),
  /** Orders per page of the expired-orders query, and per batch call of each step (002 tuning: "limit = 100"). */
  EXCHANGE_ORDER_EXPIRE_BATCH: integerVariable(100, 1, 500),
  /** Pages one run expires at most; the rest waits for the next run (10 s later). */
  // not in the seeds: chosen here
  EXCHANGE_ORDER_EXPIRE_MAX_BATCHES: integerVariable(20, 1, 1000),
  /** JSON object chain -> confirmations, merged over the seed's list, e.g. {"ethereum":20,"tron":19}. */
  EXCHANGE_DEPOSIT_REQUIRED_CONFIRMATIONS: jsonVariable(
    z.record(chainId, z.number().int().min(1).max(100_000)),
    {},
  ),
  /** Confirmations of a chain not in the list (002 §4 "Default: 12 confirmations"). */
  EXCHANGE_DEPOSIT_DEFAULT_CONFIRMATIONS: integerVariable(12, 1, 100_000),
  /** Deposits per page of the deposit queries. */
  EXCHANGE_DEPOSIT_BATCH: integerVariable(100, 1, 500),
  /** Pages one confirmation or credit run handles at most. */
  // not in the seeds: chosen here
  EXCHANGE_DEPOSIT_MAX_BATCHES: integerVariable(20, 1, 1000),
  /** Deposits handled at once (002 §4 "Processes all deposits in parallel"). */
  EXCHANGE_DEPOSIT_CONCURRENCY: integerVariable(16, 1, 256),
  /** Deposits not credited this long after creation are reported stuck (002 §4 ">24h old"). */
  EXCHANGE_DEPOSIT_STUCK_AFTER_MS: integerVariable(DAY, 60_000, 365 * DAY),
});

export interface ExchangeSettings {
  readonly ticker: { readonly cacheTtlMs: number; readonly concurrency: number };
  readonly candles: {
    readonly cacheTtlMs: number;
    readonly closeDelayMs: number;
    readonly barGraceMs: number;
    readonly concurrency: number;
  };
  readonly orders: { readonly batch: number; readonly maxBatches: number };
  readonly deposits: {
    /** Confirmations a deposit on `chain` needs. */
    readonly requiredConfirmations: (chain: string) => number;
    readonly batch: number;
    readonly maxBatches: number;
    readonly concurrency: number;
    readonly stuckAfterMs: number;
  };
}

export function exchangeSettingsFrom(env: Environment): ExchangeSettings {
  const parsed = parsePackSettings(exchangeSettingsSchema, env, 'exchange');
  const required = new Map(
    Object.entries({ ...SEED_REQUIRED_CONFIRMATIONS, ...parsed.EXCHANGE_DEPOSIT_REQUIRED_CONFIRMATIONS }),
  );
  const fallback = parsed.EXCHANGE_DEPOSIT_DEFAULT_CONFIRMATIONS;
  return {
    ticker: {
      cacheTtlMs: parsed.EXCHANGE_TICKER_CACHE_TTL_MS,
      concurrency: parsed.EXCHANGE_TICKER_CONCURRENCY,
    },
    candles: {
      cacheTtlMs: parsed.EXCHANGE_CANDLE_CACHE_TTL_MS,
      closeDelayMs: parsed.EXCHANGE_CANDLE_CLOSE_DELAY_MS,
      barGraceMs: parsed.EXCHANGE_CANDLE_BAR_GRACE_MS,
      concurrency: parsed.EXCHANGE_CANDLE_CONCURRENCY,
    },
    orders: {
      batch: parsed.EXCHANGE_ORDER_EXPIRE_BATCH,
      maxBatches: parsed.EXCHANGE_ORDER_EXPIRE_MAX_BATCHES,
    },
    deposits: {
      requiredConfirmations: (chain) => required.get(chain) ?? fallback,
      batch: parsed.EXCHANGE_DEPOSIT_BATCH,
      maxBatches: parsed.EXCHANGE_DEPOSIT_MAX_BATCHES,
      concurrency: parsed.EXCHANGE_DEPOSIT_CONCURRENCY,
      stuckAfterMs: parsed.EXCHANGE_DEPOSIT_STUCK_AFTER_MS,
    },
  };
}
