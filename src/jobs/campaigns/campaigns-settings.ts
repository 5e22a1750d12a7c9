// Settings of the campaigns pack: how long an unverifiable proof is re-checked, and the jitter of those re-checks.
import { z } from 'zod';
import { integerVariable, parsePackSettings } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';

export const campaignsSettingsSchema = z.looseObject({
  /** A proof Campaigns cannot verify yet (202) is re-checked until this long after it was submitted; default 24 h. */
  // not in the seeds: chosen here
  CAMPAIGNS_PROOF_DEADLINE_MS: integerVariable(86_400_000, 1000),
  /** Re-check delay when the 202 names no retryAt (and no Retry-After); default 1 min. */
  CAMPAIGNS_PROOF_RECHECK_MS: integerVariable(60_000, 100),
  /** Each re-check is due up to this much later, spreading them out (seed 000 §3.5 "backoff with jitter"). */
  CAMPAIGNS_PROOF_RECHECK_JITTER_MS: integerVariable(5_000, 0, 3_600_000),
});

export interface CampaignsSettings {
  readonly proofDeadlineMs: number;
  readonly proofRecheckMs: number;
  readonly proofRecheckJitterMs: number;
}

export function campaignsSettingsFrom(env: Environment): CampaignsSettings {
  const parsed = parsePackSettings(campaignsSettingsSchema, env, 'campaigns');
  return {
    proofDeadlineMs: parsed.CAMPAIGNS_PROOF_DEADLINE_MS,
    proofRecheckMs: parsed.CAMPAIGNS_PROOF_RECHECK_MS,
    proofRecheckJitterMs: parsed.CAMPAIGNS_PROOF_RECHECK_JITTER_MS,
  };
}
