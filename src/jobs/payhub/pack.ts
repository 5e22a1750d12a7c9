// The payhub pack (seed 001 §2 reconciliation): orphan hold release and the optional ledger recalc, both on cron
// ticks against Payhub's internal API (issue 6 allows these calls; seed 000 otherwise keeps workers off Payhub).
import type { JobPack } from '../catalog.js';
import { environmentPack } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { registerPayhubEvents } from './events.js';
import { ledgerRecalcJob } from './ledger-recalc.js';
import { orphanHoldsGcJob } from './orphan-holds-gc.js';
import { payhubSettingsFrom } from './payhub-settings.js';

/** The pack for the settings in `env` (PAYHUB_ORPHAN_HOLD_*); throws ConfigError when they are bad. */
export function createPayhubPack(env: Environment): JobPack {
  const settings = payhubSettingsFrom(env);
  return {
    name: 'payhub',
    register: registerPayhubEvents,
    jobs: [orphanHoldsGcJob(settings), ledgerRecalcJob()],
  };
}

export const payhubPack: JobPack = environmentPack(
  'payhub',
  registerPayhubEvents,
  (env) => createPayhubPack(env).jobs,
);
