// The exchange pack's settings (the seed's defaults, per-chain confirmations, ConfigErrors naming the variable), its
// catalog (flags, aliases, cron variables) and the MODULES_SET / WORKER_TYPE mapping onto PROCESSORS.
import { describe, expect, it } from 'vitest';
import { resolveProcessors } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { exchangeSettingsFrom } from '../../src/jobs/exchange/exchange-settings.js';
import { processorsFromModules } from '../../src/jobs/exchange/modules-set.js';
import { createExchangePack } from '../../src/jobs/exchange/pack.js';
import { cronVariableOf } from '../../src/scheduler/cron-schedules.js';

const pack = createExchangePack({});
const catalog = pack.jobs.map((job) => job.catalog);
const ALL = [
  'exchange.candles',
  'exchange.candles.close',
  'exchange.deposits.confirm',
  'exchange.deposits.credit',
  'exchange.deposits.retry',
  'exchange.deposits.scan',
  'exchange.deposits.stats',
  'exchange.deposits.stuck',
  'exchange.orders.expire',
  'exchange.ticker',
];

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('exchangeSettingsFrom', () => {
  it('takes the seed’s values by default', () => {
    const settings = exchangeSettingsFrom({});
    expect(settings.ticker.cacheTtlMs).toBe(5_000);
    expect(settings.candles.cacheTtlMs).toBe(60_000);
    expect(settings.orders.batch).toBe(100);
    const required = settings.deposits.requiredConfirmations;
    expect(['bitcoin', 'ethereum', 'bsc', 'polygon', 'solana', 'tron'].map(required)).toEqual([
      6, 12, 15, 128, 32, 12,
    ]);
    expect(settings.deposits.stuckAfterMs).toBe(86_400_000);
  });

  it('merges per-chain confirmations over the seed’s list and takes a default for other chains', () => {
    const settings = exchangeSettingsFrom({
      EXCHANGE_DEPOSIT_REQUIRED_CONFIRMATIONS: '{"polygon":100,"tron":19}',
      EXCHANGE_DEPOSIT_DEFAULT_CONFIRMATIONS: '20',
    });
    const required = settings.deposits.requiredConfirmations;
    expect(['polygon', 'tron', 'bitcoin', 'avalanche'].map(required)).toEqual([100, 19, 6, 20]);
  });

  it('reports every bad variable in one ConfigError naming the first', () => {
    const error = configError(() =>
      exchangeSettingsFrom({
        EXCHANGE_DEPOSIT_REQUIRED_CONFIRMATIONS: '{"Polygon":0}',
        EXCHANGE_ORDER_EXPIRE_BATCH: '501',
      }),
    );
    expect(error.message).toMatch(/EXCHANGE_DEPOSIT_REQUIRED_CONFIRMATIONS/);
    expect(error.message).toMatch(/EXCHANGE_ORDER_EXPIRE_BATCH: expected a whole number from 1 to 500/);
    expect(
      configError(() => exchangeSettingsFrom({ EXCHANGE_DEPOSIT_REQUIRED_CONFIRMATIONS: '{' })).variable,
    ).toBe('EXCHANGE_DEPOSIT_REQUIRED_CONFIRMATIONS');
  });
});

describe('the exchange catalog', () => {
  it('is off by default, switched on per worker by its ENABLE_EXCHANGE_* flags', () => {
    expect(resolveProcessors(catalog, undefined, {})).toEqual([]);
    expect(resolveProcessors(catalog, undefined, { ENABLE_EXCHANGE_CANDLES: true })).toEqual([
      'exchange.candles',
      'exchange.candles.close',
    ]);
    expect(resolveProcessors(catalog, undefined, { ENABLE_EXCHANGE_DEPOSITS: true })).toHaveLength(6);
  });

  it('reads the seed’s schedules from CRON_* variables, one per candle interval', () => {
    const variables = pack.jobs.flatMap((job) =>
      (job.schedules ?? []).map((s) => [s.variable ?? cronVariableOf(s.name), s.defaultSpec]),
    );
    expect(Object.fromEntries(variables)).toEqual({
      CRON_EXCHANGE_TICKER: '*/5 * * * * *',
      CRON_EXCHANGE_CANDLES_1M: 'TZ=UTC 0 * * * * *',
      CRON_EXCHANGE_CANDLES_5M: 'TZ=UTC 0 */5 * * * *',
      CRON_EXCHANGE_CANDLES_15M: 'TZ=UTC 0 */15 * * * *',
      CRON_EXCHANGE_CANDLES_30M: 'TZ=UTC 0 */30 * * * *',
      CRON_EXCHANGE_CANDLES_1H: 'TZ=UTC 0 0 * * * *',
      CRON_EXCHANGE_CANDLES_4H: 'TZ=UTC 0 0 */4 * * *',
      CRON_EXCHANGE_CANDLES_1D: 'TZ=UTC 0 0 0 * * *',
      CRON_EXCHANGE_CANDLES_1W: 'TZ=UTC 0 0 0 * * 1',
      CRON_EXCHANGE_CANDLES_1MO: 'TZ=UTC 0 0 0 1 * *',
      CRON_EXCHANGE_ORDERS_EXPIRE: '*/10 * * * * *',
      CRON_EXCHANGE_DEPOSITS_CONFIRM: '*/30 * * * * *',
      CRON_EXCHANGE_DEPOSITS_CREDIT: '*/10 * * * * *',
      CRON_EXCHANGE_DEPOSITS_SCAN: '0 * * * * *',
      CRON_EXCHANGE_DEPOSITS_STUCK: '0 0 * * * *',
      CRON_EXCHANGE_DEPOSITS_STATS: '0 */5 * * * *',
    });
    expect(pack.jobs.flatMap((job) => job.schedules ?? []).every((s) => s.overlap === 'skip')).toBe(true);
  });
});

describe('processorsFromModules', () => {
  const resolve = (env: Record<string, string>, flags: Record<string, boolean> = {}) =>
    resolveProcessors(catalog, processorsFromModules(env), flags);

  it('selects nothing without MODULES_SET or WORKER_TYPE', () => {
    expect(processorsFromModules({})).toBeUndefined();
    expect(processorsFromModules({ MODULES_SET: ' ', WORKER_TYPE: '' })).toBeUndefined();
  });

  it('runs every exchange worker in each module set (the seed: "enabled by default in all modules sets")', () => {
    for (const set of ['monolith', 'api', 'background', 'Background']) {
      expect(processorsFromModules({ MODULES_SET: set })).toEqual(['exchange']);
      expect(resolve({ MODULES_SET: set })).toEqual(ALL);
    }
  });

  it('narrows to the seed’s worker types, alone or as a list', () => {
    expect(resolve({ WORKER_TYPE: 'ticker' })).toEqual(['exchange.ticker']);
    expect(resolve({ MODULES_SET: 'background', WORKER_TYPE: 'candles' })).toEqual([
      'exchange.candles',
      'exchange.candles.close',
    ]);
    expect(resolve({ WORKER_TYPE: 'orders,deposits' })).toEqual(
      ALL.filter((job) => job.startsWith('exchange.orders') || job.startsWith('exchange.deposits')),
    );
    expect(resolve({ WORKER_TYPE: 'all' })).toEqual(ALL);
  });

  it('lets an ENABLE_EXCHANGE_*=false drop its jobs from a module set, and refuses a worker type switched off', () => {
    expect(resolve({ MODULES_SET: 'monolith' }, { ENABLE_EXCHANGE_TICKER: false })).toEqual(
      ALL.filter((job) => job !== 'exchange.ticker'),
    );
    expect(() => resolve({ WORKER_TYPE: 'ticker' }, { ENABLE_EXCHANGE_TICKER: false })).toThrow(ConfigError);
  });

  it('refuses unknown values with a ConfigError naming the variable', () => {
    expect(configError(() => processorsFromModules({ MODULES_SET: 'workers' })).variable).toBe('MODULES_SET');
    const error = configError(() => processorsFromModules({ WORKER_TYPE: 'ticker,trades' }));
    expect(error.variable).toBe('WORKER_TYPE');
    expect(error.message).toMatch(/"trades".*ticker, candles, orders, deposits, all/);
  });
});
