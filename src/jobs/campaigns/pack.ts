// The campaigns pack (seed 001 §7, 000 §3.5): async proof verification, reward claims (verify, Payhub grant, receipt)
// and the periodic budget reconcile; all three are switched by ENABLE_CAMPAIGNS.
import type { JobPack } from '../catalog.js';
import { environmentPack } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { budgetReconcileJob } from './budget-reconcile.js';
import { campaignsSettingsFrom } from './campaigns-settings.js';
import { claimRewardJob } from './claim-reward.js';
import { registerCampaignsEvents } from './events.js';
import { verifyProofJob } from './verify-proof.js';

/** The pack for the settings in `env` (CAMPAIGNS_PROOF_*); throws ConfigError when they are bad. */
export function createCampaignsPack(env: Environment): JobPack {
  const settings = campaignsSettingsFrom(env);
  return {
    name: 'campaigns',
    register: registerCampaignsEvents,
    jobs: [verifyProofJob(settings), claimRewardJob(), budgetReconcileJob()],
  };
}

export const campaignsPack: JobPack = environmentPack(
  'campaigns',
  registerCampaignsEvents,
  (env) => createCampaignsPack(env).jobs,
);
