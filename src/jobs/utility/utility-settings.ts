// Settings of the utility pack: export deadlines and run budget, and which services' storage the cleanup visits
// (STORAGE_CLEANUP_SERVICES: one cron schedule `storage.cleanup.<service>` each) and how fast it deletes.
import { z } from 'zod';
import type { ServiceName } from '../../config/index.js';
import { integerVariable, listVariable, parsePackSettings } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { serviceName } from './events.js';

// not in the seeds: chosen here (every default below)
export const utilitySettingsSchema = z.looseObject({
  /** An export not completed this long after it was requested goes to the DLQ; default 6 h. */
  EXPORT_DEADLINE_MS: integerVariable(21_600_000, 1000),
  /** Re-ask delay of a busy export (202) that names no retryAt; default 30 s. */
  EXPORT_RECHECK_MS: integerVariable(30_000, 100),
  /** Time one run pages through an export before it yields and continues later from its checkpoint; default 20 s. */
  EXPORT_RUN_BUDGET_MS: integerVariable(20_000, 1),
  /** Services whose storage cleanup candidates are deleted, e.g. `campaigns,events`. */
  STORAGE_CLEANUP_SERVICES: listVariable(serviceName),
  /** Deletes per second against object storage, shared by every worker through Redis; default 10. */
  STORAGE_CLEANUP_DELETES_PER_SECOND: integerVariable(10, 1, 10_000),
  /** Most objects one run deletes; the rest wait for the next run; default 500. */
  STORAGE_CLEANUP_MAX_PER_RUN: integerVariable(500, 1, 100_000),
});

export interface UtilitySettings {
  readonly exportDeadlineMs: number;
  readonly exportRecheckMs: number;
  readonly exportRunBudgetMs: number;
  readonly cleanupServices: readonly ServiceName[];
  readonly cleanupDeletesPerSecond: number;
  readonly cleanupMaxPerRun: number;
}

export function utilitySettingsFrom(env: Environment): UtilitySettings {
  const parsed = parsePackSettings(utilitySettingsSchema, env, 'utility');
  return {
    exportDeadlineMs: parsed.EXPORT_DEADLINE_MS,
    exportRecheckMs: parsed.EXPORT_RECHECK_MS,
    exportRunBudgetMs: parsed.EXPORT_RUN_BUDGET_MS,
    cleanupServices: [...new Set(parsed.STORAGE_CLEANUP_SERVICES)],
    cleanupDeletesPerSecond: parsed.STORAGE_CLEANUP_DELETES_PER_SECOND,
    cleanupMaxPerRun: parsed.STORAGE_CLEANUP_MAX_PER_RUN,
  };
}

/** `storage.cleanup.<service>`: the schedule (CRON_STORAGE_CLEANUP_<SERVICE>) whose ticks clean one service's storage. */
export function storageCleanupSchedule(service: ServiceName): string {
  return `storage.cleanup.${service}`;
}
