// Mock Campaigns: proofs verified asynchronously (202 while not checkable yet), claims verified against the budget,
// granted through Payhub and recorded with a receipt, and the budget reconcile (src/jobs/campaigns/api.ts).
import {
  campaignsReconcileBudgets,
  campaignsRecordReceipt,
  campaignsVerifyClaim,
  campaignsVerifyProof,
} from '../../src/jobs/campaigns/api.js';
import { campaignClaimRequestedData, campaignProofSubmittedData } from '../../src/jobs/campaigns/events.js';
import type { EmitOptions } from './event-producer.js';
import { contractRoute, startPlatformService, type PlatformService } from './platform-service.js';
import { idSequence, invalid, iso, notFound, type ServiceContext } from './service-context.js';
import { utilityRoutes, type UtilityHelpers, type UtilityOptions } from './utility-routes.js';

export interface MockCampaign {
  readonly campaignId: string;
  readonly asset: string;
  budget: bigint;
  /** Reserved by verified claims plus granted. */
  spent: bigint;
}

export type ProofStatus = 'pending' | 'verified' | 'rejected';

export interface MockProof {
  readonly proofId: string;
  readonly campaignId: string;
  readonly userId: string;
  /** Verify calls answered 202 before the proof can be checked. */
  pendingChecks: number;
  readonly valid: boolean;
  status: ProofStatus;
}

export type ClaimState = 'requested' | 'reserved' | 'rejected' | 'granted';

export interface MockClaim {
  readonly claimId: string;
  readonly campaignId: string;
  readonly userId: string;
  readonly amount: string;
  readonly asset: string;
  readonly eligible: boolean;
  state: ClaimState;
  reason: string | undefined;
  grantId: string | undefined;
  txId: string | undefined;
}

/** What Campaigns asks Payhub: the mock Payhub fits. */
export interface RewardGrants {
  grant(grantId: string): { txId: string; amount: string; asset: string } | undefined;
  grantedTotal(campaignId: string): bigint;
}

export interface CampaignsOptions {
  /** `retryAt` of a pending proof's 202; default 1000 ms later. */
  readonly proofRetryMs?: number;
  readonly utility?: UtilityOptions;
}

export interface MockCampaigns extends PlatformService, UtilityHelpers {
  createCampaign(input?: { campaignId?: string; budget?: string; asset?: string }): MockCampaign;
  /** Stores a proof and publishes `campaign.proof_submitted` (not with `{ publish: false }`). */
  submitProof(
    input: { proofId?: string; campaignId: string; userId?: string; pendingChecks?: number; valid?: boolean },
    options?: EmitOptions,
  ): Promise<MockProof>;
  /** Stores a claim and publishes `campaign.claim_requested`. */
  requestClaim(
    input: { claimId?: string; campaignId: string; userId?: string; amount?: string; eligible?: boolean },
    options?: EmitOptions,
  ): Promise<MockClaim>;
  /** Moves a campaign's spent budget without a grant: the next reconcile reports it. */
  corruptBudget(campaignId: string, delta: bigint): void;
  campaign(campaignId: string): MockCampaign | undefined;
  proof(proofId: string): MockProof | undefined;
  claim(claimId: string): MockClaim | undefined;
  claims(): MockClaim[];
  domainStats(): Record<string, number>;
}

const CAMPAIGNS = 'campaigns';

export async function startMockCampaigns(
  ctx: ServiceContext,
  options: CampaignsOptions = {},
  rewards?: RewardGrants,
): Promise<MockCampaigns> {
  const campaigns = new Map<string, MockCampaign>();
  const proofs = new Map<string, MockProof>();
  const claims = new Map<string, MockClaim>();
  const nextId = idSequence();
  const proofRetryMs = options.proofRetryMs ?? 1000;

  const claimAnswer = (claim: MockClaim, decision: 'grant' | 'reject' | 'already_granted') => ({
    claimId: claim.claimId,
    decision,
    userId: claim.userId,
    amount: claim.amount,
    asset: claim.asset,
    ...(claim.reason === undefined ? {} : { reason: claim.reason }),
  });

  const utility = utilityRoutes(ctx, CAMPAIGNS, options.utility);
  const service = await startPlatformService({
    ...ctx.server,
    name: CAMPAIGNS,
    random: ctx.random,
    routes: [
      contractRoute(campaignsVerifyProof, ({ data, now }) => {
        const proof = proofs.get(data.proofId);
        if (proof === undefined) return notFound(`proof ${data.proofId}`);
        if (proof.campaignId !== data.campaignId)
          return invalid(`proof ${proof.proofId} belongs to campaign ${proof.campaignId}`);
        if (proof.status !== 'pending') return { status: 200, body: proofAnswer(proof) };
        if (proof.pendingChecks > 0) {
          proof.pendingChecks -= 1;
          return {
            status: 202,
            body: { proofId: proof.proofId, retryAt: iso(now + proofRetryMs) },
            headers: { 'retry-after': String(Math.max(1, Math.ceil(proofRetryMs / 1000))) },
          };
        }
        proof.status = proof.valid ? 'verified' : 'rejected';
        return { status: 200, applied: true, body: proofAnswer(proof) };
      }),
      contractRoute(campaignsVerifyClaim, ({ data }) => {
        const claim = claims.get(data.claimId);
        if (claim === undefined) return notFound(`claim ${data.claimId}`);
        if (claim.state === 'granted') return { status: 200, body: claimAnswer(claim, 'already_granted') };
        if (claim.state === 'rejected') return { status: 200, body: claimAnswer(claim, 'reject') };
        if (claim.state === 'reserved') return { status: 200, body: claimAnswer(claim, 'grant') };
        const campaign = campaigns.get(claim.campaignId);
        if (campaign === undefined) return notFound(`campaign ${claim.campaignId}`);
        if (!claim.eligible || campaign.spent + BigInt(claim.amount) > campaign.budget) {
          claim.state = 'rejected';
          claim.reason = claim.eligible ? 'budget exhausted' : 'not eligible';
          return { status: 200, applied: true, body: claimAnswer(claim, 'reject') };
        }
        campaign.spent += BigInt(claim.amount);
        claim.state = 'reserved';
        return { status: 200, applied: true, body: claimAnswer(claim, 'grant') };
      }),
      contractRoute(campaignsRecordReceipt, ({ data }) => {
        const claim = claims.get(data.claimId);
        if (claim === undefined) return notFound(`claim ${data.claimId}`);
        if (claim.state === 'granted')
          return { status: 200, body: { claimId: claim.claimId, status: 'granted' } };
        if (claim.state !== 'reserved')
          return invalid(`claim ${claim.claimId} is ${claim.state}, not verified`);
        if (data.amount !== claim.amount || data.asset !== claim.asset)
          return invalid(`receipt of claim ${claim.claimId} does not match its amount`);
        const grant = rewards?.grant(data.grantId);
        if (rewards !== undefined && grant?.txId !== data.txId)
          return invalid(`Payhub has no grant ${data.grantId} with tx ${data.txId}`);
        claim.state = 'granted';
        claim.grantId = data.grantId;
        claim.txId = data.txId;
        return { status: 200, applied: true, body: { claimId: claim.claimId, status: 'granted' } };
      }),
      contractRoute(campaignsReconcileBudgets, () => {
        const mismatches = [...campaigns.values()].flatMap((campaign) => {
          const granted =
            rewards?.grantedTotal(campaign.campaignId) ??
            [...claims.values()]
              .filter((c) => c.campaignId === campaign.campaignId && c.state === 'granted')
              .reduce((sum, c) => sum + BigInt(c.amount), 0n);
          return campaign.spent === granted
            ? []
            : [
                {
                  campaignId: campaign.campaignId,
                  budgetSpent: String(campaign.spent < 0n ? 0n : campaign.spent),
                  granted: String(granted),
                },
              ];
        });
        return { status: 200, applied: true, body: { checked: campaigns.size, mismatches } };
      }),
      ...utility.routes,
    ],
  });

  function campaignOrThrow(campaignId: string): MockCampaign {
    const campaign = campaigns.get(campaignId);
    if (campaign === undefined) throw new Error(`no campaign ${campaignId}`);
    return campaign;
  }

  return {
    ...service,
    ...utility.helpers,
    createCampaign(input = {}) {
      const campaignId = input.campaignId ?? nextId('campaign');
      if (campaigns.has(campaignId)) throw new Error(`campaign ${campaignId} exists`);
      const campaign: MockCampaign = {
        campaignId,
        asset: input.asset ?? 'STAR',
        budget: BigInt(input.budget ?? '100000'),
        spent: 0n,
      };
      campaigns.set(campaignId, campaign);
      return campaign;
    },
    async submitProof(input, emitOptions) {
      campaignOrThrow(input.campaignId);
      const proof: MockProof = {
        proofId: input.proofId ?? nextId('proof'),
        campaignId: input.campaignId,
        userId: input.userId ?? nextId('user'),
        pendingChecks: input.pendingChecks ?? 0,
        valid: input.valid ?? true,
        status: 'pending',
      };
      if (proofs.has(proof.proofId)) throw new Error(`proof ${proof.proofId} exists`);
      proofs.set(proof.proofId, proof);
      const { proofId, campaignId, userId } = proof;
      await ctx.producer.emit(
        CAMPAIGNS,
        'campaign.proof_submitted',
        campaignProofSubmittedData,
        proofId,
        { proofId, campaignId, userId },
        emitOptions,
      );
      return proof;
    },
    async requestClaim(input, emitOptions) {
      const campaign = campaignOrThrow(input.campaignId);
      const claim: MockClaim = {
        claimId: input.claimId ?? nextId('claim'),
        campaignId: campaign.campaignId,
        userId: input.userId ?? nextId('user'),
        amount: input.amount ?? '100',
        asset: campaign.asset,
        eligible: input.eligible ?? true,
        state: 'requested',
        reason: undefined,
        grantId: undefined,
        txId: undefined,
      };
      if (claims.has(claim.claimId)) throw new Error(`claim ${claim.claimId} exists`);
      claims.set(claim.claimId, claim);
      const { claimId, campaignId, userId, amount, asset } = claim;
      await ctx.producer.emit(
        CAMPAIGNS,
        'campaign.claim_requested',
        campaignClaimRequestedData,
        claimId,
        { claimId, campaignId, userId, amount, asset },
        emitOptions,
      );
      return claim;
    },
    corruptBudget(campaignId, delta) {
      campaignOrThrow(campaignId).spent += delta;
    },
    campaign: (campaignId) => campaigns.get(campaignId),
    proof: (proofId) => proofs.get(proofId),
    claim: (claimId) => claims.get(claimId),
    claims: () => [...claims.values()],
    domainStats() {
      const counts: Record<string, number> = { campaigns: campaigns.size, proofs: proofs.size };
      for (const claim of claims.values())
        counts[`claims.${claim.state}`] = (counts[`claims.${claim.state}`] ?? 0) + 1;
      return counts;
    },
  };
}

function proofAnswer(proof: MockProof): {
  proofId: string;
  status: 'verified' | 'rejected';
  reason?: string;
} {
  return proof.status === 'rejected'
    ? { proofId: proof.proofId, status: 'rejected', reason: 'the proof could not be confirmed' }
    : { proofId: proof.proofId, status: 'verified' };
}
