// campaigns.claim (seed 001 §7, 000 §3.5): verifies a queued claim with Campaigns, grants the reward through Payhub's
// internal API and records the receipt with Campaigns; each step has its own Idempotency-Key, so a retry of the whole
// handler (backoff with full jitter) replays the finished steps and applies each effect once.
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import type { CallScope } from '../../sinks/http-sink.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { requireServices } from '../pack-settings.js';
import { payhubGrantReward, rewardGrantResponse } from '../payhub/api.js';
import {
  campaignsRecordReceipt,
  campaignsVerifyClaim,
  claimReceiptResponse,
  claimVerifyResponse,
} from './api.js';
import { CAMPAIGNS_DOMAIN } from './events.js';
import type { CampaignsEventMap } from './events.js';

export const CLAIM_REWARD_JOB = 'campaigns.claim';
type ClaimRequested = CampaignsEventMap['campaign.claim_requested'];

export function claimRewardJob(): PackJob {
  return {
    catalog: {
      name: CLAIM_REWARD_JOB,
      domain: CAMPAIGNS_DOMAIN,
      enableFlag: 'ENABLE_CAMPAIGNS',
      // like every pack job: runs when its ENABLE_* flag is true or PROCESSORS names it (it needs SVC_*_URLs)
      enabledByDefault: false,
    },
    definition: (ctx) => claimRewardDefinition(ctx),
  };
}

export function claimRewardDefinition(ctx: PackContext): JobDefinition<ClaimRequested> {
  requireServices(ctx.config, CLAIM_REWARD_JOB, 'campaigns', 'payhub');
  const sink = ctx.services();
  const logger = ctx.logger.child({ job: CLAIM_REWARD_JOB });

  return {
    name: CLAIM_REWARD_JOB,
    domain: CAMPAIGNS_DOMAIN,
    types: ['campaign.claim_requested'],
    handler: async (event: EventEnvelope<ClaimRequested>, job: JobContext): Promise<Outcome> => {
      const { claimId, campaignId } = event.data;
      const scope: CallScope = { event, signal: job.signal };

      const verified = await sink.call(
        {
          service: 'campaigns',
          path: campaignsVerifyClaim.path,
          body: { claimId },
          idempotencyKey: idempotencyKey(campaignsVerifyClaim.idempotencyKey.scope, claimId),
          responseSchema: claimVerifyResponse,
        },
        scope,
      );
      if (verified.outcome.kind !== 'ack') return verified.outcome;
      const decision = claimVerifyResponse.safeParse(verified.body);
      if (!decision.success) {
        // a 409 ALREADY_DONE without the replayed decision: nothing tells us what to grant
        return outcome.dead(
          'no claim decision',
          `campaigns acknowledged claim ${claimId} without its decision`,
        );
      }
      if (decision.data.decision !== 'grant') return outcome.ack();
      // Campaigns' decision is authoritative (it reserved the budget for exactly this amount)
      const { userId, amount, asset } = decision.data;

      const granted = await sink.call(
        {
          service: 'payhub',
          path: payhubGrantReward.path,
          body: { grantId: claimId, userId, amount, asset, campaignId },
          idempotencyKey: idempotencyKey(payhubGrantReward.idempotencyKey.scope, claimId),
          responseSchema: rewardGrantResponse,
        },
        scope,
      );
      if (granted.outcome.kind !== 'ack') return granted.outcome;
      const grant = rewardGrantResponse.safeParse(granted.body);
      if (!grant.success) {
        // the contract says a repeated key replays the grant; without its txId the receipt cannot be recorded
        return outcome.dead('no grant receipt', `payhub acknowledged grant ${claimId} without its txId`);
      }

      const receipt = await sink.call(
        {
          service: 'campaigns',
          path: campaignsRecordReceipt.path,
          body: { claimId, grantId: grant.data.grantId, txId: grant.data.txId, amount, asset },
          idempotencyKey: idempotencyKey(campaignsRecordReceipt.idempotencyKey.scope, claimId),
          responseSchema: claimReceiptResponse,
        },
        scope,
      );
      if (receipt.outcome.kind === 'dead') {
        // the reward is paid but Campaigns refused the receipt: the claim needs an operator
        logger.error(
          { claimId, txId: grant.data.txId, reason: receipt.outcome.reason },
          'reward granted but receipt refused',
        );
      }
      return receipt.outcome;
    },
  };
}
