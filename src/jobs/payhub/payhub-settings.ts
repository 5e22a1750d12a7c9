// Settings of the payhub pack: what counts as an orphan hold (PAYHUB_ORPHAN_HOLD_TTL_MS) and how much one run releases.
import { z } from 'zod';
import { integerVariable, parsePackSettings } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';

export const payhubSettingsSchema = z.looseObject({
  /** Holds older than this with no correlation are released (seed 001 §7 "older than TTL"); default 1 h. */
  // not in the seeds: chosen here (the TTL's value)
  PAYHUB_ORPHAN_HOLD_TTL_MS: integerVariable(3_600_000, 60_000),
  /** Most holds one run releases; the rest wait for the next run. */
  PAYHUB_ORPHAN_HOLDS_MAX_PER_RUN: integerVariable(1000, 1, 100_000),
});

export interface PayhubSettings {
  readonly orphanHoldTtlMs: number;
  readonly orphanHoldsMaxPerRun: number;
}

export function payhubSettingsFrom(env: Environment): PayhubSettings {
  const parsed = parsePackSettings(payhubSettingsSchema, env, 'payhub');
  return {
    orphanHoldTtlMs: parsed.PAYHUB_ORPHAN_HOLD_TTL_MS,
    orphanHoldsMaxPerRun: parsed.PAYHUB_ORPHAN_HOLDS_MAX_PER_RUN,
  };
}
