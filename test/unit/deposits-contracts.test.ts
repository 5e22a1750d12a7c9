// Unit tests of the deposits pack's contracts and settings: event examples parse and broken ones are rejected, the
// endpoints' bodies and answers, deterministic Idempotency-Keys, the environment's defaults and errors.
import { describe, expect, it } from 'vitest';
import { ConfigError, ValidationError } from '../../src/errors.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createEventRegistry } from '../../src/events/registry.js';
import {
  depositsMpesaComplete,
  depositsOnchainCredit,
  depositsOnchainExpire,
} from '../../src/jobs/deposits/api.js';
import { depositCompletionKey } from '../../src/jobs/deposits/deposit-completion.js';
import { depositsSettingsFrom, requireBaseChain } from '../../src/jobs/deposits/deposits-settings.js';
import { depositsEvents, registerDepositsEvents } from '../../src/jobs/deposits/events.js';
import {
  onchainCreditKey,
  onchainExpiryKey,
  sessionExpiryOf,
} from '../../src/jobs/deposits/onchain-deposit-confirmation.js';
import { depositsPack } from '../../src/jobs/deposits/pack.js';

const intent = {
  depositSessionId: 'dep_01JDQ8Z5X3V7W9Y2K4M6N8P0RT',
  userId: 'user_42',
  depositAddress: '0x00000000000000000000000000000000DeadBeef',
  amount: '25000000',
  fromBlock: 18_250_000,
  createdAt: '2026-11-23T15:00:00.000Z',
};
const paid = { transactionId: 'txn_01JDQ9A1B2C3D4E5F6G7H8J9KM', chain: 'base' };

function envelope(type: string, key: string, data: unknown): EventEnvelope {
  return {
    id: '01JDQ7Y3J9X8ZQ4M5N6P7R8S9T',
    type,
    key,
    occurredAt: '2026-11-23T15:00:00.000Z',
    source: 'deposits',
    schemaVersion: 1,
    data,
  };
}

describe('deposit events', () => {
  const registry = createEventRegistry();
  registerDepositsEvents(registry);

  it('registers both types on the deposits domain, keyed as documented', () => {
    expect(
      registry.validate(envelope('deposit.intent_created', intent.depositSessionId, intent)).data,
    ).toEqual(intent);
    expect(registry.validate(envelope('deposit.mpesa_paid', paid.transactionId, paid)).data).toEqual(paid);
    expect(depositsEvents['deposit.intent_created'].key).toBe('depositSessionId');
    expect(depositsEvents['deposit.mpesa_paid'].key).toBe('transactionId');
  });

  it.each([
    ['a float amount', { amount: '25.5' }],
    ['a zero amount', { amount: '0' }],
    ['a number amount', { amount: 25_000_000 }],
    ['a short address', { depositAddress: '0xdeadbeef' }],
    ['a negative fromBlock', { fromBlock: -1 }],
    ['a local createdAt', { createdAt: '2026-11-23T15:00:00' }],
    ['an unknown field', { memo: 'x' }],
  ])('rejects an intent with %s', (_what, change) => {
    expect(() =>
      registry.validate(
        envelope('deposit.intent_created', intent.depositSessionId, { ...intent, ...change }),
      ),
    ).toThrow(ValidationError);
  });
});

describe('deposit endpoints', () => {
  it('credit and expiry bodies carry no time or count, so every retry sends the same body', () => {
    const credit = {
      depositSessionId: intent.depositSessionId,
      txHash: `0x${'12'.repeat(32)}`,
      logIndex: 4,
      blockNumber: '18250002',
      amount: '25000000',
    };
    expect(depositsOnchainCredit.request.parse(credit)).toEqual(credit);
    expect(() => depositsOnchainCredit.request.parse({ ...credit, confirmations: 2 })).toThrow();
    expect(() => depositsOnchainCredit.request.parse({ ...credit, amount: '25.0' })).toThrow();
    expect(
      depositsOnchainExpire.request.parse({
        depositSessionId: intent.depositSessionId,
        reason: 'session_expired',
      }),
    ).toBeDefined();
    expect(depositsMpesaComplete.request.parse(paid)).toEqual(paid);
    expect(depositsOnchainCredit.response.parse({ depositSessionId: 'd', state: 'closed' }).state).toBe(
      'closed',
    );
    expect(depositsOnchainExpire.response.parse({ depositSessionId: 'd', state: 'credited' }).state).toBe(
      'credited',
    );
  });

  it('keys are derived from the entity only: the same for every attempt, poll and worker', () => {
    expect(depositCompletionKey(paid)).toBe('deposit.completion:txn_01JDQ9A1B2C3D4E5F6G7H8J9KM');
    expect(onchainCreditKey(intent)).toBe('deposit.onchain_confirmation:dep_01JDQ8Z5X3V7W9Y2K4M6N8P0RT');
    expect(onchainExpiryKey(intent)).toBe('deposit.onchain_expiry:dep_01JDQ8Z5X3V7W9Y2K4M6N8P0RT');
    expect(onchainCreditKey({ ...intent, fromBlock: 1 })).toBe(onchainCreditKey(intent));
  });

  it('a session expires 60 minutes after it was created by default', () => {
    const { sessionTtlMs } = depositsSettingsFrom({});
    expect(sessionExpiryOf(intent, sessionTtlMs)).toBe(Date.parse('2026-11-23T16:00:00.000Z'));
  });
});

describe('deposits settings', () => {
  it("defaults to the seed's repeat: every 30 s, limit 120, 2 confirmations, 60-minute sessions", () => {
    expect(depositsSettingsFrom({})).toEqual({
      rpcUrl: undefined,
      usdcAddress: undefined,
      confirmationsRequired: 2,
      pollEveryMs: 30_000,
      pollLimit: 120,
      sessionTtlMs: 3_600_000,
    });
    const set = depositsSettingsFrom({
      BASE_RPC_URL: 'https://sepolia.base.org',
      BASE_USDC_ADDRESS: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
      DEPOSIT_CONFIRMATIONS_REQUIRED: '12',
      DEPOSIT_CONFIRMATION_POLL_MS: '200',
    });
    expect(set).toMatchObject({ confirmationsRequired: 12, pollEveryMs: 200 });
    expect(requireBaseChain(set, 'job')).toEqual({
      rpcUrl: 'https://sepolia.base.org',
      usdcAddress: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
    });
  });

  it('reports every bad variable at once, without echoing values (an RPC URL may hold an API key)', () => {
    const attempt = () =>
      depositsSettingsFrom({
        BASE_RPC_URL: 'ftp://secret-key@rpc',
        BASE_USDC_ADDRESS: 'usdc',
        DEPOSIT_CONFIRMATIONS_REQUIRED: '0',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/BASE_RPC_URL[\s\S]*BASE_USDC_ADDRESS[\s\S]*DEPOSIT_CONFIRMATIONS_REQUIRED/);
    expect(attempt).not.toThrow(/secret-key/);
  });

  it('the chain settings are needed only by the on-chain job, which names the missing variable', () => {
    expect(() => requireBaseChain(depositsSettingsFrom({}), 'deposit.onchain_confirmation')).toThrow(
      /BASE_RPC_URL/,
    );
    expect(() =>
      requireBaseChain(depositsSettingsFrom({ BASE_RPC_URL: 'https://rpc' }), 'deposit.onchain_confirmation'),
    ).toThrow(/BASE_USDC_ADDRESS/);
  });

  it('the shipped pack declares both jobs off by default behind ENABLE_DEPOSITS', () => {
    expect(depositsPack.jobs.map((job) => job.catalog)).toEqual([
      expect.objectContaining({
        name: 'deposit.completion',
        enableFlag: 'ENABLE_DEPOSITS',
        enabledByDefault: false,
      }),
      expect.objectContaining({
        name: 'deposit.onchain_confirmation',
        enableFlag: 'ENABLE_DEPOSITS',
        enabledByDefault: false,
      }),
    ]);
  });
});
