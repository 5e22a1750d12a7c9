// campaigns.verify_async (seed 001 §7): verifies an asynchronously submitted proof through Campaigns; a proof that
// cannot be checked yet (202) is re-checked at its retryAt, with jitter, until CAMPAIGNS_PROOF_DEADLINE_MS has passed.
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { requireServices } from '../pack-settings.js';
import { campaignsVerifyProof, proofVerifyPending, proofVerifyResponse } from './api.js';
import type { CampaignsSettings } from './campaigns-settings.js';
import { CAMPAIGNS_DOMAIN } from './events.js';
import type { CampaignsEventMap } from './events.js';

export const VERIFY_PROOF_JOB = 'campaigns.verify_async';
type ProofSubmitted = CampaignsEventMap['campaign.proof_submitted'];

export function verifyProofJob(settings: CampaignsSettings): PackJob {
  return {
    catalog: {
      name: VERIFY_PROOF_JOB,
      domain: CAMPAIGNS_DOMAIN,
      enableFlag: 'ENABLE_CAMPAIGNS',
      // like every pack job: runs when its ENABLE_* flag is true or PROCESSORS names it (it needs SVC_*_URLs)
      enabledByDefault: false,
    },
    definition: (ctx) => verifyProofDefinition(ctx, settings),
  };
}

export function verifyProofDefinition(
  ctx: PackContext,
  settings: CampaignsSettings,
): JobDefinition<ProofSubmitted> {
  requireServices(ctx.config, VERIFY_PROOF_JOB, 'campaigns');
  const sink = ctx.services();

  return {
    name: VERIFY_PROOF_JOB,
    domain: CAMPAIGNS_DOMAIN,
    types: ['campaign.proof_submitted'],
    // past the deadline the proof goes to the DLQ (the default timeout action) for an operator to look at
    defer: {
      jitterMs: settings.proofRecheckJitterMs,
      deadline: (event) => Date.parse(event.occurredAt) + settings.proofDeadlineMs,
    },
    handler: async (event: EventEnvelope<ProofSubmitted>, job: JobContext): Promise<Outcome> => {
      const { proofId, campaignId } = event.data;
      const result = await sink.call(
        {
          service: 'campaigns',
          path: campaignsVerifyProof.path,
          body: { proofId, campaignId },
          idempotencyKey: idempotencyKey(campaignsVerifyProof.idempotencyKey.scope, proofId),
          responseSchema: proofVerifyResponse,
          policy: { deferDefaultMs: settings.proofRecheckMs },
        },
        { event, signal: job.signal },
      );
      if (result.outcome.kind !== 'defer') return result.outcome;
      // 202: the body's retryAt (when it has one) says when the proof can be checked
      const pending = proofVerifyPending.safeParse(result.raw);
      const retryAt =
        pending.success && pending.data.retryAt !== undefined ? Date.parse(pending.data.retryAt) : undefined;
      return retryAt === undefined
        ? result.outcome
        : outcome.defer(Math.max(ctx.clock.now(), retryAt), `proof ${proofId} cannot be verified yet`);
    },
  };
}
