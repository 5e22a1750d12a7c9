// The campaigns pack in a worker: campaigns.verify_async defers an unverifiable proof to its retryAt until the
// deadline; campaigns.claim verifies, grants through Payhub and records the receipt, each once whatever fails in
// between; campaigns.budget.reconcile alerts on mismatches.
import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createCampaignsPack } from '../../src/jobs/campaigns/pack.js';
import { fieldsToObject } from '../../src/streams/dlq-entry.js';
import {
  NEVER,
  PARTITIONS,
  startPackWorker,
  startServiceMock,
  type PackWorker,
} from '../support/job-pack-worker.js';
import type { MockService, MockStep } from '../support/mock-service.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let campaigns: MockService;
let payhub: MockService;
let running: PackWorker | undefined;
let run = 0;

const VERIFY_PROOF = 'POST /internal/v1/campaigns/proofs/verify';
const VERIFY_CLAIM = 'POST /internal/v1/campaigns/claims/verify';
const RECEIPT = 'POST /internal/v1/campaigns/claims/receipt';
const RECONCILE = 'POST /internal/v1/campaigns/budgets/reconcile';
const GRANT = 'POST /internal/v1/rewards/grant';

beforeEach(async () => {
  [campaigns, payhub] = await Promise.all([startServiceMock('campaigns'), startServiceMock('payhub')]);
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await Promise.all([campaigns.close(), payhub.close()]);
});

async function start(env: Record<string, string> = {}): Promise<PackWorker> {
  run += 1;
  const full = {
    SVC_CAMPAIGNS_URL: campaigns.url,
    SVC_PAYHUB_URL: payhub.url,
    ENABLE_CAMPAIGNS: 'true',
    CRON_CAMPAIGNS_BUDGET_RECONCILE: NEVER,
    CAMPAIGNS_PROOF_RECHECK_JITTER_MS: '20',
    ...env,
  };
  running = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: `${prefix}-${run}`,
    pack: createCampaignsPack(full),
    env: full,
  });
  return running;
}

function event<T>(type: string, key: string, data: T, occurredAt = new Date()): EventEnvelope<T> {
  return {
    id: ulid(),
    type,
    key,
    occurredAt: occurredAt.toISOString(),
    source: 'campaigns',
    schemaVersion: 1,
    data,
  };
}

const claim = (claimId: string) =>
  event('campaign.claim_requested', claimId, {
    claimId,
    campaignId: 'cmp_launch',
    userId: 'usr_7',
    amount: '5000',
    asset: 'STAR',
  });
const decision = (claimId: string, value = 'grant'): MockStep => ({
  body: { claimId, decision: value, userId: 'usr_7', amount: '5000', asset: 'STAR' },
});
const grant = (claimId: string): MockStep => ({
  body: { grantId: claimId, txId: `tx_${claimId}`, state: 'granted' },
});
const receipt = (claimId: string): MockStep => ({ body: { claimId, status: 'granted' } });

describe('campaigns.verify_async', () => {
  it('re-checks a proof at the retryAt of a 202, then acks the verdict, with one key throughout', async () => {
    const w = await start();
    const retryAt = Date.now() + 400;
    campaigns.script(VERIFY_PROOF, [
      { status: 202, body: { proofId: 'prf_1', retryAt: new Date(retryAt).toISOString() } },
      { body: { proofId: 'prf_1', status: 'verified' } },
    ]);
    const proof = event('campaign.proof_submitted', 'prf_1', {
      proofId: 'prf_1',
      campaignId: 'cmp_launch',
      userId: 'usr_7',
    });
    await w.publish(proof);
    await w.waitOutcome((o) => o.eventId === proof.id && o.kind === 'ack', 'the verdict');
    const calls = campaigns.requestsTo(VERIFY_PROOF);
    expect(calls.map((c) => c.idempotencyKey)).toEqual([
      'campaigns.verify_async:prf_1',
      'campaigns.verify_async:prf_1',
    ]);
    expect(w.outcomesOf('campaigns.verify_async').map((o) => o.kind)).toEqual(['defer', 'ack']);
    // the re-check came at or after the retryAt the 202 named (timers are never early)
    expect(Date.now()).toBeGreaterThanOrEqual(retryAt);
    expect(calls[0]?.body).toEqual({ proofId: 'prf_1', campaignId: 'cmp_launch' });
  });

  it('dead-letters a proof still unverifiable at its deadline', async () => {
    const w = await start({ CAMPAIGNS_PROOF_DEADLINE_MS: '60000', CAMPAIGNS_PROOF_RECHECK_MS: '200' });
    campaigns.script(
      VERIFY_PROOF,
      Array.from({ length: 20 }, () => ({ status: 202, body: { proofId: 'prf_2' } })),
    );
    // submitted almost a minute ago: the deadline comes after a re-check or two
    const proof = event(
      'campaign.proof_submitted',
      'prf_2',
      { proofId: 'prf_2', campaignId: 'cmp_launch', userId: 'usr_7' },
      new Date(Date.now() - 59_500),
    );
    await w.publish(proof);
    const dead = await w.waitOutcome((o) => o.eventId === proof.id && o.kind === 'dead', 'the deadline');
    expect(dead.reason).toMatch(/deadline/);
    expect(campaigns.requestsTo(VERIFY_PROOF).length).toBeGreaterThanOrEqual(2);
    const letters = await deadLetters(w, 'campaigns');
    expect(letters.map((l) => l['group'])).toEqual(['campaigns.verify_async']);
  });
});

describe('campaigns.claim', () => {
  it('verifies, grants through Payhub and records the receipt, each with its own key', async () => {
    const w = await start();
    campaigns.script(VERIFY_CLAIM, [decision('clm_1')]);
    payhub.script(GRANT, [grant('clm_1')]);
    campaigns.script(RECEIPT, [receipt('clm_1')]);
    const requested = claim('clm_1');
    await w.publish(requested);
    await w.waitOutcome((o) => o.eventId === requested.id && o.kind === 'ack', 'the claim');
    expect(payhub.requestsTo(GRANT)[0]).toMatchObject({
      idempotencyKey: 'campaigns.claim:clm_1',
      body: { grantId: 'clm_1', userId: 'usr_7', amount: '5000', asset: 'STAR', campaignId: 'cmp_launch' },
    });
    expect(campaigns.requestsTo(RECEIPT)[0]).toMatchObject({
      idempotencyKey: 'campaigns.claim.receipt:clm_1',
      body: { claimId: 'clm_1', grantId: 'clm_1', txId: 'tx_clm_1', amount: '5000', asset: 'STAR' },
    });
    expect(campaigns.requestsTo(VERIFY_CLAIM)[0]?.idempotencyKey).toBe('campaigns.claim.verify:clm_1');
  });

  it('retries after a Payhub or receipt failure and grants exactly once', async () => {
    const w = await start();
    campaigns.script(VERIFY_CLAIM, [decision('clm_2'), decision('clm_2'), decision('clm_2')]);
    payhub.script(GRANT, [{ status: 503 }, grant('clm_2'), grant('clm_2')]);
    campaigns.script(RECEIPT, [{ reset: true }, receipt('clm_2')]);
    const requested = claim('clm_2');
    await w.publish(requested);
    await w.waitOutcome((o) => o.eventId === requested.id && o.kind === 'ack', 'the claim');
    expect(w.outcomesOf('campaigns.claim').map((o) => o.kind)).toEqual(['retry', 'retry', 'ack']);
    expect(payhub.requestsTo(GRANT)).toHaveLength(3);
    expect(payhub.applied('campaigns.claim:clm_2')).toBe(1);
    expect(campaigns.applied('campaigns.claim.receipt:clm_2')).toBe(1);
    expect(payhub.appliedTwice() + campaigns.appliedTwice()).toBe(0);
  });

  it('acks a rejected claim without calling Payhub, and dead-letters a grant acked without its txId', async () => {
    const w = await start();
    campaigns.script(VERIFY_CLAIM, [decision('clm_3', 'reject'), decision('clm_4')]);
    payhub.script(GRANT, [
      { status: 409, body: { error: { code: 'ALREADY_DONE', message: 'granted before' } } },
    ]);
    const rejected = claim('clm_3');
    await w.publish(rejected);
    await w.waitOutcome((o) => o.eventId === rejected.id && o.kind === 'ack', 'the rejected claim');
    expect(payhub.requestsTo(GRANT)).toHaveLength(0);
    const replayless = claim('clm_4');
    await w.publish(replayless);
    const dead = await w.waitOutcome((o) => o.eventId === replayless.id, 'the claim without txId');
    expect(dead).toMatchObject({ kind: 'dead', reason: 'no grant receipt' });
    expect(campaigns.requestsTo(RECEIPT)).toHaveLength(0);
  });
});

describe('campaigns.budget.reconcile', () => {
  it('reconciles as of the tick and raises an alert per mismatching campaign', async () => {
    const w = await start();
    campaigns.script(RECONCILE, [
      { status: 500 },
      {
        body: {
          checked: 12,
          mismatches: [
            { campaignId: 'cmp_a', budgetSpent: '1000', granted: '900' },
            { campaignId: 'cmp_b', budgetSpent: '0', granted: '5' },
          ],
        },
      },
    ]);
    const tick = Date.parse('2026-11-23T15:15:00.000Z');
    const id = await w.tick('campaigns.budget.reconcile', 'campaigns.budget.reconcile', tick);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the reconcile');
    expect(w.outcomesOf('campaigns.budget.reconcile').map((o) => o.kind)).toEqual(['retry', 'ack']);
    expect(campaigns.requestsTo(RECONCILE).map((r) => r.idempotencyKey)).toEqual([
      `campaigns.budget.reconcile:${tick}`,
      `campaigns.budget.reconcile:${tick}`,
    ]);
    expect(campaigns.requestsTo(RECONCILE)[0]?.body).toEqual({ asOf: '2026-11-23T15:15:00.000Z' });
    expect(w.alerts).toEqual(['campaigns.budget_mismatch', 'campaigns.budget_mismatch']);
  });
});

async function deadLetters(w: PackWorker, domain: string): Promise<Record<string, string>[]> {
  const letters: Record<string, string>[] = [];
  for (let p = 0; p < PARTITIONS; p += 1) {
    for (const [, fields] of await db.redis.xrange(w.keys.partition(domain, p).dlq, '-', '+')) {
      letters.push(fieldsToObject(fields));
    }
  }
  return letters;
}
