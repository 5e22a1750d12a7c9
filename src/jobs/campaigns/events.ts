// Campaigns' event contracts (proofs to verify, claims to grant) on the `campaigns` streams.
import { z } from 'zod';
import type { EventRegistry } from '../../events/registry.js';
import { amountMinor, assetCode, entityId } from '../contract-fields.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts, EventDataMap } from '../event-contract.js';

export const CAMPAIGNS_DOMAIN = 'campaigns';

/** A user submitted a proof that needs asynchronous verification: campaigns.verify_async. */
// not in the seeds: chosen here (001 §7 says "async proofs")
export const campaignProofSubmittedData = z.strictObject({
  proofId: entityId,
  campaignId: entityId,
  userId: entityId,
});

/** A user claimed a reward: campaigns.claim verifies it, grants it through Payhub and records the receipt. */
// not in the seeds: chosen here (001 §7 says "queued claims")
export const campaignClaimRequestedData = z.strictObject({
  claimId: entityId,
  campaignId: entityId,
  userId: entityId,
  amount: amountMinor,
  asset: assetCode,
});

export const campaignsEvents = {
  'campaign.proof_submitted': {
    schema: campaignProofSubmittedData,
    producer: 'campaigns',
    key: 'proofId',
    seed: '001 §7 campaigns.verify_async ("async proofs")',
  },
  'campaign.claim_requested': {
    schema: campaignClaimRequestedData,
    producer: 'campaigns',
    key: 'claimId',
    seed: '001 §7 campaigns.claim ("queued claims"); 000 §3.5 (retry failed claim grants)',
  },
} as const satisfies EventContracts;

export type CampaignsEventMap = EventDataMap<typeof campaignsEvents>;

export function registerCampaignsEvents(registry: EventRegistry): void {
  registerEventContracts(registry, CAMPAIGNS_DOMAIN, campaignsEvents);
}
