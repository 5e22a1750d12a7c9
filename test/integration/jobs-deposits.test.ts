// The deposits pack (seed 004) in a worker against a mock Base JSON-RPC node and a mock Deposits service: the on-chain
// repeat credits once at the poll that sees enough confirmations, ignores wrong token/amount/address logs, runs the
// timeout path once at the poll limit or the session's end, retries RPC failures without counting them as polls;
// M-Pesa completion retries 5 times with backoff and then dead-letters.
import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { partitionOf } from '../../src/events/partition.js';
import { createDepositsPack } from '../../src/jobs/deposits/pack.js';
import { deferTimerId } from '../../src/pipelines/deferral.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { fieldsToObject } from '../../src/streams/dlq-entry.js';
import { startWorker } from '../../src/worker.js';
import { PARTITIONS, jobTestEnv, startPackWorker, type PackWorker } from '../support/job-pack-worker.js';
import { startMockChain, type MockChain } from '../support/mock-chain.js';
import {
  MPESA_COMPLETE,
  ONCHAIN_CREDIT,
  ONCHAIN_EXPIRE,
  startMockDeposits,
  type MockDeposits,
} from '../support/mock-deposits.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const CONFIRM = 'deposit.onchain_confirmation';
const COMPLETE = 'deposit.completion';
const USDC_25 = 25_000_000n;
const OTHER_TOKEN = `0x${'77'.repeat(20)}`;

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const serviceKeys = generateServiceKeyPair();
let chain: MockChain;
let deposits: MockDeposits;
let running: PackWorker | undefined;
let run = 0;

beforeEach(async () => {
  chain = await startMockChain({ head: 1_000n });
  deposits = await startMockDeposits({ publicJwks: [serviceKeys.publicJwk] });
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  expect(deposits.appliedTwice()).toBe(0);
  await Promise.all([chain.close(), deposits.close()]);
});

function depositsEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SERVICE_JWT_PRIVATE_JWK: JSON.stringify(serviceKeys.privateJwk),
    SVC_DEPOSITS_URL: deposits.url,
    ENABLE_DEPOSITS: 'true',
    BASE_RPC_URL: `${chain.url}/rpc`,
    BASE_USDC_ADDRESS: chain.usdc,
    DEPOSIT_CONFIRMATION_POLL_MS: '200',
    EXTERNAL_TIMEOUT_MS: '1000',
    ...extra,
  };
}

async function start(extra: Record<string, string> = {}): Promise<PackWorker> {
  run += 1;
  const env = depositsEnv(extra);
  running = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: `${prefix}-${run}`,
    pack: createDepositsPack(env),
    env,
  });
  return running;
}

let addressCounter = 0;
const freshAddress = (): string => `0x${(0xd0000000 + ++addressCounter).toString(16).padStart(40, '0')}`;

function envelope(type: string, key: string, data: unknown): EventEnvelope {
  const occurredAt = new Date().toISOString();
  return { id: ulid(), type, key, occurredAt, source: 'deposits', schemaVersion: 1, data };
}

function intent(depositAddress: string, extra: Record<string, unknown> = {}): EventEnvelope {
  const depositSessionId = `dep_${ulid()}`;
  return envelope('deposit.intent_created', depositSessionId, {
    depositSessionId,
    userId: 'user-42',
    depositAddress,
    amount: USDC_25.toString(),
    fromBlock: 1_000,
    createdAt: new Date().toISOString(),
    ...extra,
  });
}

const sessionOf = (event: EventEnvelope): string =>
  (event.data as { depositSessionId: string }).depositSessionId;
const outcomesFor = (w: PackWorker, job: string, event: EventEnvelope) =>
  w.outcomesOf(job).filter((o) => o.eventId === event.id);
const finished =
  (w: PackWorker, job: string, event: EventEnvelope) =>
  (o: { job: string; eventId?: string; kind: string }) =>
    o.job === job && o.eventId === event.id && (o.kind === 'ack' || o.kind === 'dead');

async function timerLeft(w: PackWorker, event: EventEnvelope): Promise<number | null> {
  const partition = w.keys.partition('deposits', partitionOf(event.key, PARTITIONS));
  const score = await db.redis.zscore(partition.timers, deferTimerId(CONFIRM, event.id));
  return score === null ? null : Number(score);
}

describe('deposit.onchain_confirmation', () => {
  it('confirmed at the 3rd poll: credits the matching transfer once (a failed credit call retried), then stops', async () => {
    const w = await start();
    const address = freshAddress();
    chain.minePerHeadRead(1);
    // decoys seen from the first poll on: another token, another amount, another address, a removed log
    chain.transfer({ token: OTHER_TOKEN, to: address, amount: USDC_25, blockNumber: 1_001n });
    chain.transfer({ to: address, amount: USDC_25 - 1n, blockNumber: 1_001n, logIndex: 1 });
    chain.transfer({ to: freshAddress(), amount: USDC_25, blockNumber: 1_001n, logIndex: 2 });
    chain.transfer({ to: address, amount: USDC_25, blockNumber: 1_001n, logIndex: 3, removed: true });
    // the deposit, mined at block 1002: poll 1 sees head 1001 (not mined), poll 2 one confirmation, poll 3 two
    const deposit = chain.transfer({ to: address, amount: USDC_25, blockNumber: 1_002n, logIndex: 4 });
    deposits.fail(ONCHAIN_CREDIT, [{ status: 503 }]);
    const event = intent(address);
    await w.publish(event);
    await w.waitOutcome(finished(w, CONFIRM, event), 'the credit');

    expect(outcomesFor(w, CONFIRM, event).map((o) => o.kind)).toEqual(['defer', 'defer', 'retry', 'ack']);
    const credits = deposits.requestsTo(ONCHAIN_CREDIT);
    expect(credits).toHaveLength(2);
    const key = `deposit.onchain_confirmation:${sessionOf(event)}`;
    expect(credits.map((c) => c.idempotencyKey)).toEqual([key, key]);
    expect(credits[1]?.body).toEqual({
      depositSessionId: sessionOf(event),
      txHash: deposit.transactionHash,
      logIndex: 4,
      blockNumber: '1002',
      amount: '25000000',
    });
    expect(deposits.applied(key)).toBe(1);
    expect(deposits.session(sessionOf(event)).state).toBe('credited');
    expect(deposits.requestsTo(ONCHAIN_EXPIRE)).toHaveLength(0);
    // the RPC was asked for USDC transfers to the session's address from its first block
    const [filter] = chain.calls('eth_getLogs')[0]?.params as [Record<string, unknown>];
    expect(filter).toMatchObject({ address: chain.usdc.toLowerCase(), fromBlock: '0x3e8' });
    expect((filter.topics as string[])[2]).toBe(`0x${'0'.repeat(24)}${address.slice(2)}`);
    expect(await timerLeft(w, event)).toBeNull();
    expect(w.polls.every((p) => p.provider === 'base-rpc' && p.up)).toBe(true);
  });

  it('never confirmed (a sloppy node returning wrong token/amount/address logs): the limit ends it, timeout path once', async () => {
    const w = await start({ DEPOSIT_CONFIRMATION_POLL_LIMIT: '4' });
    const address = freshAddress();
    chain.ignoreFilters(true);
    chain.mine(10);
    chain.transfer({ token: OTHER_TOKEN, to: address, amount: USDC_25, blockNumber: 1_001n });
    chain.transfer({ to: address, amount: USDC_25 + 1n, blockNumber: 1_002n });
    chain.transfer({ to: freshAddress(), amount: USDC_25, blockNumber: 1_003n });
    const event = intent(address);
    await w.publish(event);
    await w.waitOutcome(finished(w, CONFIRM, event), 'the timeout path');

    expect(outcomesFor(w, CONFIRM, event).map((o) => o.kind)).toEqual([
      'defer',
      'defer',
      'defer',
      'defer',
      'ack',
    ]);
    expect(deposits.requestsTo(ONCHAIN_CREDIT)).toHaveLength(0);
    const expiries = deposits.requestsTo(ONCHAIN_EXPIRE);
    expect(expiries.map((r) => [r.body, r.idempotencyKey])).toEqual([
      [
        { depositSessionId: sessionOf(event), reason: 'poll_limit_reached' },
        `deposit.onchain_expiry:${sessionOf(event)}`,
      ],
    ]);
    expect(deposits.session(sessionOf(event)).state).toBe('expired');
    // four polls and the timeout path's last look
    expect(chain.calls('eth_blockNumber')).toHaveLength(5);
    expect(await timerLeft(w, event)).toBeNull();
  });

  it('the session expires (createdAt + 60 min) before the limit: the timeout path runs once', async () => {
    const w = await start();
    // a session created 59 min 58.5 s ago: about seven polls are left
    const createdAt = new Date(Date.now() - 3_600_000 + 1_500).toISOString();
    const event = intent(freshAddress(), { createdAt });
    await w.publish(event);
    await w.waitOutcome(finished(w, CONFIRM, event), 'the timeout path');

    const kinds = outcomesFor(w, CONFIRM, event).map((o) => o.kind);
    expect(kinds.at(-1)).toBe('ack');
    expect(kinds.slice(0, -1).every((k) => k === 'defer')).toBe(true);
    // at least the first poll and one repeat, far fewer than the limit of 120
    expect(kinds.length).toBeGreaterThanOrEqual(3);
    expect(kinds.length).toBeLessThan(20);
    expect(deposits.requestsTo(ONCHAIN_EXPIRE).map((r) => r.body)).toEqual([
      { depositSessionId: sessionOf(event), reason: 'session_expired' },
    ]);
    expect(deposits.requestsTo(ONCHAIN_CREDIT)).toHaveLength(0);
  });

  it('RPC errors and a hang are retried with backoff and are not counted as polls', async () => {
    // the limit also bounds the failures of one poll (one per poll the session allows): 6 leaves room for 5
    const w = await start({ DEPOSIT_CONFIRMATION_POLL_LIMIT: '6' });
    const address = freshAddress();
    chain.minePerHeadRead(1);
    // mined at 1002: the attempt whose eth_getLogs is reset sees head 1001, then one poll with one confirmation, one with two
    chain.transfer({ to: address, amount: USDC_25, blockNumber: 1_002n });
    chain.fail('eth_blockNumber', [
      { status: 503 },
      { rpcError: { code: -32_000, message: 'header not found' } },
      { hang: true },
      { garbage: '<html>bad gateway</html>' },
    ]);
    chain.fail('eth_getLogs', [{ reset: true }]);
    const event = intent(address);
    await w.publish(event);
    await w.waitOutcome(finished(w, CONFIRM, event), 'the credit after the RPC recovered', 15_000);

    const kinds = outcomesFor(w, CONFIRM, event).map((o) => o.kind);
    // five failed attempts, then two polls: seven runs, past the limit of 6 had failures counted as polls
    expect(kinds).toEqual(['retry', 'retry', 'retry', 'retry', 'retry', 'defer', 'ack']);
    expect(deposits.requestsTo(ONCHAIN_CREDIT)).toHaveLength(1);
    expect(deposits.requestsTo(ONCHAIN_EXPIRE)).toHaveLength(0);
    expect(w.polls.filter((p) => !p.up)).toHaveLength(5);
  });
});

describe('deposit.completion', () => {
  it('completes an M-Pesa deposit with a key per transaction, once, through a retry', async () => {
    const w = await start();
    deposits.fail(MPESA_COMPLETE, [{ status: 500 }]);
    const event = envelope('deposit.mpesa_paid', 'mpesa-tx-1', {
      transactionId: 'mpesa-tx-1',
      chain: 'base',
    });
    await w.publish(event);
    await w.waitOutcome(finished(w, COMPLETE, event), 'the completion');

    expect(outcomesFor(w, COMPLETE, event).map((o) => o.kind)).toEqual(['retry', 'ack']);
    const calls = deposits.requestsTo(MPESA_COMPLETE);
    expect(calls.map((c) => c.idempotencyKey)).toEqual([
      'deposit.completion:mpesa-tx-1',
      'deposit.completion:mpesa-tx-1',
    ]);
    expect(calls[0]?.body).toEqual({ transactionId: 'mpesa-tx-1', chain: 'base' });
    expect(deposits.completed('mpesa-tx-1')).toBe(true);
  });

  it('5 failed attempts with backoff, then the DLQ', async () => {
    const w = await start();
    deposits.fail(
      MPESA_COMPLETE,
      Array.from({ length: 6 }, () => ({ status: 503 })),
    );
    const event = envelope('deposit.mpesa_paid', 'mpesa-tx-2', {
      transactionId: 'mpesa-tx-2',
      chain: 'base',
    });
    await w.publish(event);
    const dead = await w.waitOutcome(finished(w, COMPLETE, event), 'the dead letter');

    const outcomes = outcomesFor(w, COMPLETE, event);
    expect(outcomes.map((o) => o.kind)).toEqual(['retry', 'retry', 'retry', 'retry', 'dead']);
    // exponential: each delay within [ceiling / 2, ceiling] of BACKOFF_DEFAULT_MS 50 doubling, capped at 200
    const ceilings = [50, 100, 200, 200];
    outcomes.slice(0, 4).forEach((o, i) => {
      expect(o.delayMs).toBeGreaterThanOrEqual(ceilings[i]! / 2);
      expect(o.delayMs).toBeLessThanOrEqual(ceilings[i]!);
    });
    expect(deposits.requestsTo(MPESA_COMPLETE)).toHaveLength(5);
    expect(deposits.completed('mpesa-tx-2')).toBe(false);
    const dlq = w.keys.partition('deposits', partitionOf(event.key, PARTITIONS)).dlq;
    const letters = (await db.redis.xrange(dlq, '-', '+')).map(([, fields]) => fieldsToObject(fields));
    expect(letters).toEqual([expect.objectContaining({ group: COMPLETE, failures: '5' })]);
    expect(dead.stream).toBe(w.keys.partition('deposits', partitionOf(event.key, PARTITIONS)).stream);
  });
});

describe('configuration', () => {
  it('refuses to start the on-chain job without BASE_RPC_URL, and rejects a bad BASE_USDC_ADDRESS', async () => {
    const env = depositsEnv({ PROCESSORS: CONFIRM });
    delete env.BASE_RPC_URL;
    const config = loadConfig(jobTestEnv(db.server.url, `${prefix}-config`, env), { envFile: false });
    const starting = startWorker({ config, packs: [createDepositsPack(env)], redis: db.redis });
    await expect(starting).rejects.toThrow(ConfigError);
    await expect(starting).rejects.toThrow(/BASE_RPC_URL/);
    expect(() => createDepositsPack({ BASE_USDC_ADDRESS: '0x1234' })).toThrow(/BASE_USDC_ADDRESS/);
  });
});
