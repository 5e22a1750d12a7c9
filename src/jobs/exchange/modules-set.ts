// Seed 002's deployment switches as a PROCESSORS selection: MODULES_SET (monolith | api | background) and
// WORKER_TYPE (ticker | candles | orders | deposits, comma-separated), mapped onto the exchange pack's aliases.
import { ConfigError } from '../../errors.js';
import type { Environment } from '../pack-settings.js';

/** 002 Module Sets: "Workers are enabled by default in all modules sets" (monolith, api, background). */
export const MODULES_SETS = ['monolith', 'api', 'background'] as const;
export type ModulesSet = (typeof MODULES_SETS)[number];

/** PROCESSORS alias of every exchange job (the first dotted segment of each job name). */
export const EXCHANGE_ALIAS = 'exchange';

/**
 * 002 Horizontal Scaling "unique worker assignments": WORKER_TYPE -> the PROCESSORS alias of those jobs. The seed
 * names `ticker` and `candles`; `orders` and `deposits` complete the set, `all` means every exchange job.
 */
export const WORKER_TYPES = {
  ticker: 'exchange-ticker',
  candles: 'exchange-candles',
  orders: 'exchange-orders',
  deposits: 'exchange-deposits',
  all: EXCHANGE_ALIAS,
} as const;
export type WorkerType = keyof typeof WORKER_TYPES;

const isWorkerType = (value: string): value is WorkerType => Object.hasOwn(WORKER_TYPES, value);
const isModulesSet = (value: string): value is ModulesSet =>
  (MODULES_SETS as readonly string[]).includes(value);

/**
 * The PROCESSORS items that MODULES_SET / WORKER_TYPE stand for, or undefined when neither is set. Aliases, not job
 * names, so an ENABLE_EXCHANGE_*=false still drops its jobs from a MODULES_SET selection (PROCESSORS semantics).
 * WORKER_TYPE narrows MODULES_SET; every module set runs all workers (the seed's list). Throws ConfigError naming
 * the variable for an unknown value. The caller uses the result only when PROCESSORS itself is unset.
 */
export function processorsFromModules(env: Environment): readonly string[] | undefined {
  const modulesSet = env['MODULES_SET']?.trim().toLowerCase() || undefined;
  const workerType = env['WORKER_TYPE']?.trim().toLowerCase() || undefined;
  if (modulesSet !== undefined && !isModulesSet(modulesSet)) {
    throw new ConfigError(
      `MODULES_SET: unknown module set "${modulesSet}" (expected ${MODULES_SETS.join(', ')})`,
      'MODULES_SET',
    );
  }
  if (workerType !== undefined) {
    const types = workerType
      .split(',')
      .map((type) => type.trim())
      .filter((type) => type !== '');
    const unknown = types.filter((type) => !isWorkerType(type));
    if (unknown.length > 0 || types.length === 0) {
      throw new ConfigError(
        `WORKER_TYPE: unknown worker type ${unknown.map((t) => `"${t}"`).join(', ') || '""'} ` +
          `(expected a comma-separated list of ${Object.keys(WORKER_TYPES).join(', ')})`,
        'WORKER_TYPE',
      );
    }
    return [...new Set(types.filter(isWorkerType).map((type) => WORKER_TYPES[type]))].sort();
  }
  return modulesSet === undefined ? undefined : [EXCHANGE_ALIAS];
}
