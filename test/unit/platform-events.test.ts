// The platform's event and internal-API contracts (issue 6): realistic examples parse, broken ones are rejected.
import { createHash } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createEventRegistry } from '../../src/events/registry.js';
import type { EventRegistry } from '../../src/events/registry.js';
import * as campaignsApi from '../../src/jobs/campaigns/api.js';
import { campaignsEvents, registerCampaignsEvents } from '../../src/jobs/campaigns/events.js';
import { ERROR_CODES, errorEnvelope } from '../../src/jobs/contract-fields.js';
import type { EventContract } from '../../src/jobs/event-contract.js';
import * as escrowApi from '../../src/jobs/escrow/api.js';
import { escrowEvents, registerEscrowEvents } from '../../src/jobs/escrow/events.js';
import * as fundingApi from '../../src/jobs/funding/api.js';
import { fundingEvents, registerFundingEvents } from '../../src/jobs/funding/events.js';
import type { FundingEventMap } from '../../src/jobs/funding/events.js';
import { CONFLICT_OUTCOMES } from '../../src/jobs/internal-endpoint.js';
import type { InternalEndpoint } from '../../src/jobs/internal-endpoint.js';
import * as payhubApi from '../../src/jobs/payhub/api.js';
import { payhubEvents, registerPayhubEvents } from '../../src/jobs/payhub/events.js';
import * as playhubApi from '../../src/jobs/playhub/api.js';
import { playhubEvents, registerPlayhubEvents } from '../../src/jobs/playhub/events.js';
import type { PlayhubEventMap } from '../../src/jobs/playhub/events.js';
import * as priceApi from '../../src/jobs/price/api.js';
import { priceEvents, registerPriceEvents } from '../../src/jobs/price/events.js';
import * as utilityApi from '../../src/jobs/utility/api.js';
import { registerUtilityEvents, utilityEvents } from '../../src/jobs/utility/events.js';
import * as watchlistApi from '../../src/jobs/watchlist/api.js';
import { registerWatchlistEvents, watchlistEvents } from '../../src/jobs/watchlist/events.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { conflictMatcher, defaultStatusPolicy, mapResponse } from '../../src/sinks/status-mapping.js';

const domains = {
  playhub: { register: registerPlayhubEvents, events: playhubEvents },
  escrow: { register: registerEscrowEvents, events: escrowEvents },
  funding: { register: registerFundingEvents, events: fundingEvents },
  campaigns: { register: registerCampaignsEvents, events: campaignsEvents },
  price: { register: registerPriceEvents, events: priceEvents },
  payhub: { register: registerPayhubEvents, events: payhubEvents },
  watchlist: { register: registerWatchlistEvents, events: watchlistEvents },
  utility: { register: registerUtilityEvents, events: utilityEvents },
} as const;

type Json = Record<string, unknown>;

const TICK = '2026-11-23T15:00:00.000Z';

/** A realistic `data` for every registered event type. */
const eventExamples: Record<string, Json> = {
  'bet.opened': {
    betId: 'bet_01JDQ8Z5X3V7W9Y2K4M6N8P0RT',
    stake: '2500',
    asset: 'STAR',
    tEnd: '2026-11-23T15:05:00.000Z',
    windowEndsAt: '2026-11-23T15:15:00.000Z',
  },
  'bet.cancelled': { betId: 'bet_01JDQ8Z5X3V7W9Y2K4M6N8P0RT', reason: 'market_halted' },
  'game.callback_failed': {
    matchId: 'match_01JDQ9A1B2C3D4E5F6G7H8J9KM',
    reason: 'game server callback timed out',
  },
  'escrow.created': {
    escrowId: 'esc_01JDQ9B2C3D4E5F6G7H8J9KMNP',
    amount: '150000',
    asset: 'USDT',
    expiresAt: '2026-11-30T15:00:00.000Z',
  },
  'escrow.released': { escrowId: 'esc_01JDQ9B2C3D4E5F6G7H8J9KMNP' },
  'escrow.decision_made': {
    escrowId: 'esc_01JDQ9B2C3D4E5F6G7H8J9KMNP',
    decisionId: 'dec_01JDQAC3D4E5F6G7H8J9KMNPQR',
    resolution: 'split',
    payeeAmount: '100000',
    payerAmount: '50000',
    moderatorId: 'usr_4821',
  },
  'escrow.expiry_backlog': {
    observedAt: '2026-11-30T15:10:00.000Z',
    overdue: 120,
    threshold: 100,
    graceMs: 300000,
    oldestExpiresAt: '2026-11-30T14:02:00.000Z',
    truncated: false,
  },
  'vesting.scheduled': {
    vestingId: 'vest_01JDQAD4E5F6G7H8J9KMNPQRST',
    epoch: 3,
    nextReleaseAt: '2026-12-01T00:00:00.000Z',
    amount: '833333',
    asset: 'FUZE',
  },
  'campaign.proof_submitted': {
    proofId: 'prf_01JDQAE5F6G7H8J9KMNPQRSTVW',
    campaignId: 'cmp_launch_week',
    userId: 'usr_4821',
  },
  'campaign.claim_requested': {
    claimId: 'clm_01JDQAF6G7H8J9KMNPQRSTVWXY',
    campaignId: 'cmp_launch_week',
    userId: 'usr_4821',
    amount: '5000',
    asset: 'STAR',
  },
  'export.requested': {
    exportId: 'exp_01JDQAG7H8J9KMNPQRSTVWXYZ0',
    service: 'campaigns',
    dataset: 'claims',
    format: 'csv',
    filters: { campaignId: 'cmp_launch_week' },
    requestedBy: 'adm_7',
  },
  'ledger.violations_found': {
    asOf: TICK,
    checkedAccounts: 1200,
    violations: 2,
    accounts: [
      { account: 'acc:usr_4821:STAR', asset: 'STAR' },
      { account: 'acc:fees:USDT', asset: 'USDT' },
    ],
  },
  'dlq.replay_requested': {
    replayId: 'rpl_01JDQAH8J9KMNPQRSTVWXYZ012',
    domain: 'playhub',
    partition: 3,
    entryIds: ['1764000000000-0', '1764000000123-2'],
    requestedBy: 'adm_7',
  },
};

/** Types whose data carries money; each must refuse a float in it. */
const MONEY_TYPES = [
  'bet.opened',
  'escrow.created',
  'escrow.decision_made',
  'vesting.scheduled',
  'campaign.claim_requested',
];

function fullRegistry(): EventRegistry {
  const registry = createEventRegistry();
  for (const { register } of Object.values(domains)) register(registry);
  return registry;
}

function contractOf(type: string): EventContract {
  for (const { events } of Object.values(domains)) {
    const contract = (events as Record<string, EventContract>)[type];
    if (contract) return contract;
  }
  throw new Error(`no contract for ${type}`);
}

function envelope(type: string, data: unknown): EventEnvelope {
  const contract = contractOf(type);
  const key = (eventExamples[type] ?? {})[contract.key];
  return {
    id: '01JDQ8Z5X3V7W9Y2K4M6N8P0RT',
    type,
    key: typeof key === 'string' ? key : 'missing',
    occurredAt: '2026-11-23T15:00:00.000Z',
    source: contract.producer,
    schemaVersion: 1,
    data,
  };
}

function example(type: string): Json {
  const data = eventExamples[type];
  if (!data) throw new Error(`no example for ${type}`);
  return structuredClone(data);
}

/** Paths to every string leaf that reads as integer minor units (money). */
function moneyPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return /^\d+$/.test(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => moneyPaths(item, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => moneyPaths(v, [...path, k]));
  }
  return [];
}

function withLeaf(value: Json, path: (string | number)[], leaf: unknown): Json {
  const copy = structuredClone(value);
  let node: Record<string | number, unknown> = copy;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = leaf;
  return copy;
}

function rejects(registry: EventRegistry, type: string, data: unknown): ValidationError {
  try {
    registry.validate(envelope(type, data));
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`${type}: expected ${JSON.stringify(data)} to be rejected`);
}

describe('platform event contracts', () => {
  const registry = fullRegistry();
  const types = registry.types().sort();

  it('registers every type once with its domain stream, and registering again is a no-op', () => {
    expect(types).toEqual(Object.keys(eventExamples).sort());
    for (const [domain, { events }] of Object.entries(domains)) {
      for (const type of Object.keys(events)) expect(registry.domainOf(type), type).toBe(domain);
    }
    expect(() => {
      for (const { register } of Object.values(domains)) register(registry);
    }).not.toThrow();
  });

  it.each(Object.keys(eventExamples))(
    '%s accepts a realistic example whose key field is the partition key',
    (type) => {
      const validated = registry.validate(envelope(type, example(type)));
      expect(validated.data).toEqual(example(type));
      const contract = contractOf(type);
      expect(typeof example(type)[contract.key], `${type}.${contract.key}`).toBe('string');
      expect(contract.seed).not.toBe('');
    },
  );

  it.each(Object.keys(eventExamples))(
    '%s rejects each missing required field and any unknown field',
    (type) => {
      const schema = contractOf(type).schema as unknown as {
        shape: Record<string, { safeParse(v: unknown): { success: boolean } }>;
      };
      const data = example(type);
      for (const field of Object.keys(data)) {
        if (schema.shape[field]?.safeParse(undefined).success) continue; // optional
        const rest = { ...data };
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
        delete rest[field];
        const error = rejects(registry, type, rest);
        expect(error.issues?.map((issue) => issue.path)).toContain(`data.${field}`);
      }
      rejects(registry, type, { ...data, extra: 'x' });
      rejects(registry, type, null);
    },
  );

  it.each(MONEY_TYPES)('%s rejects a float amount, as a number or as a decimal string', (type) => {
    const data = example(type);
    const paths = moneyPaths(data);
    expect(paths.length, `${type} has money fields`).toBeGreaterThan(0);
    for (const path of paths) {
      rejects(registry, type, withLeaf(data, path, 12.5));
      rejects(registry, type, withLeaf(data, path, '12.50'));
      rejects(registry, type, withLeaf(data, path, 1250));
      rejects(registry, type, withLeaf(data, path, '-1250'));
    }
  });

  it('only the money types carry integer-string leaves', () => {
    for (const type of types) {
      if (!MONEY_TYPES.includes(type)) expect(moneyPaths(example(type)), type).toEqual([]);
    }
  });

  it('rejects timestamps that are not ISO-8601 UTC', () => {
    rejects(registry, 'bet.opened', { ...example('bet.opened'), tEnd: '2026-11-23T22:05:00+07:00' });
    rejects(registry, 'bet.opened', { ...example('bet.opened'), tEnd: 1_795_446_300_000 });
    rejects(registry, 'escrow.created', { ...example('escrow.created'), expiresAt: '2026-11-30' });
    rejects(registry, 'vesting.scheduled', { ...example('vesting.scheduled'), nextReleaseAt: 'now' });
  });

  it('checks cross-field rules: the settlement window and the moderator split', () => {
    rejects(registry, 'bet.opened', { ...example('bet.opened'), windowEndsAt: '2026-11-23T15:00:00.000Z' });
    const decision = example('escrow.decision_made');
    rejects(registry, 'escrow.decision_made', { ...decision, resolution: 'release' });
    rejects(registry, 'escrow.decision_made', { ...decision, payerAmount: '0' });
    registry.validate(
      envelope('escrow.decision_made', {
        ...decision,
        resolution: 'refund',
        payeeAmount: '0',
        payerAmount: '150000',
      }),
    );
  });

  it('refuses vesting epochs that are not integers, unknown services and bad stream entry ids', () => {
    rejects(registry, 'vesting.scheduled', { ...example('vesting.scheduled'), epoch: 1.5 });
    rejects(registry, 'export.requested', { ...example('export.requested'), service: 'identity' });
    rejects(registry, 'dlq.replay_requested', { ...example('dlq.replay_requested'), entryIds: ['0-0', 'x'] });
    rejects(registry, 'dlq.replay_requested', { ...example('dlq.replay_requested'), entryIds: [] });
  });

  it('exposes typed maps', () => {
    expectTypeOf<PlayhubEventMap['bet.opened']['stake']>().toEqualTypeOf<string>();
    expectTypeOf<PlayhubEventMap['bet.cancelled']['reason']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<FundingEventMap['vesting.scheduled']['epoch']>().toEqualTypeOf<number>();
  });
});

interface EndpointExample {
  readonly query?: Json;
  readonly request?: Json;
  readonly response: Json;
  /** Bodies of the endpoint's own non-error statuses (202), by status. */
  readonly bodies?: Record<number, Json>;
}

const BET = eventExamples['bet.opened'] as Json;
const ESCROW = eventExamples['escrow.created'] as Json;
const VESTING = eventExamples['vesting.scheduled'] as Json;
const DECISION = eventExamples['escrow.decision_made'] as Json;

/** A realistic request and answer for every endpoint, by export name. */
const endpointExamples: Record<string, EndpointExample> = {
  cfbSettle: {
    request: { betId: BET['betId'], tEnd: BET['tEnd'] },
    response: { betId: BET['betId'], state: 'settled' },
    bodies: { 202: { betId: BET['betId'], reason: 'oracle_degraded', retryAt: '2026-11-23T15:06:00.000Z' } },
  },
  cfbPush: {
    request: { betId: BET['betId'], tEnd: BET['tEnd'], reason: 'oracle_degraded' },
    response: { betId: BET['betId'], state: 'pushed' },
  },
  cfbDueBets: {
    query: { before: TICK, limit: '100' },
    response: { items: [BET], nextCursor: 'b2Zmc2V0OjEwMA' },
  },
  gameMatchState: {
    query: { matchId: 'match_01JDQ9A1B2C3D4E5F6G7H8J9KM' },
    response: {
      matchId: 'match_01JDQ9A1B2C3D4E5F6G7H8J9KM',
      state: 'finished',
      asset: 'STAR',
      stakes: [
        { userId: 'usr_4821', holdId: 'hold_01A', amount: '500' },
        { userId: 'usr_5190', holdId: 'hold_01B', amount: '500' },
      ],
      payouts: [{ userId: 'usr_4821', amount: '950' }],
      fee: '50',
    },
  },
  escrowExpire: {
    request: { escrowId: ESCROW['escrowId'], expiresAt: ESCROW['expiresAt'] },
    response: { escrowId: ESCROW['escrowId'], state: 'refunded' },
    bodies: { 202: { escrowId: ESCROW['escrowId'], retryAt: '2026-12-07T15:00:00.000Z' } },
  },
  escrowAdjudicate: { request: DECISION, response: { escrowId: ESCROW['escrowId'], state: 'adjudicated' } },
  escrowDue: {
    query: { before: TICK, limit: 200, cursor: 'c1' },
    response: { items: [ESCROW], nextCursor: null },
  },
  vestingRelease: {
    request: { vestingId: VESTING['vestingId'], epoch: 3, releaseAt: VESTING['nextReleaseAt'] },
    response: {
      vestingId: VESTING['vestingId'],
      epoch: 3,
      releasedAmount: '500000',
      remainingAmount: '333333',
      next: { epoch: 4, releaseAt: '2027-01-01T00:00:00.000Z', amount: '833333' },
    },
  },
  vestingDue: { query: { before: TICK, limit: 500 }, response: { items: [VESTING], nextCursor: null } },
  campaignsVerifyProof: {
    request: { proofId: 'prf_01JDQAE5F6G7H8J9KMNPQRSTVW', campaignId: 'cmp_launch_week' },
    response: { proofId: 'prf_01JDQAE5F6G7H8J9KMNPQRSTVW', status: 'verified' },
    bodies: { 202: { proofId: 'prf_01JDQAE5F6G7H8J9KMNPQRSTVW' } },
  },
  campaignsVerifyClaim: {
    request: { claimId: 'clm_01JDQAF6G7H8J9KMNPQRSTVWXY' },
    response: {
      claimId: 'clm_01JDQAF6G7H8J9KMNPQRSTVWXY',
      decision: 'grant',
      userId: 'usr_4821',
      amount: '5000',
      asset: 'STAR',
    },
  },
  campaignsRecordReceipt: {
    request: {
      claimId: 'clm_01JDQAF6G7H8J9KMNPQRSTVWXY',
      grantId: 'clm_01JDQAF6G7H8J9KMNPQRSTVWXY',
      txId: 'tx_01JDQAJ9KMNPQRSTVWXYZ01234',
      amount: '5000',
      asset: 'STAR',
    },
    response: { claimId: 'clm_01JDQAF6G7H8J9KMNPQRSTVWXY', status: 'granted' },
  },
  campaignsReconcileBudgets: {
    request: { asOf: TICK },
    response: {
      checked: 42,
      mismatches: [{ campaignId: 'cmp_launch_week', budgetSpent: '1200000', granted: '1195000' }],
    },
  },
  priceIngestTicks: {
    request: {
      provider: 'binance',
      ticks: [
        {
          symbol: 'BTC/USDT',
          price: '64250.12',
          size: '0.015',
          at: '2026-11-23T14:59:59.812Z',
          tradeId: '3810452211',
        },
        { symbol: 'ETH/USDT', price: '3120.5', at: '2026-11-23T14:59:59.900Z' },
      ],
    },
    response: { accepted: 1, duplicates: 1 },
  },
  priceIngestBars: {
    request: {
      provider: 'binance',
      interval: '1m',
      bars: [
        {
          symbol: 'BTC/USDT',
          openAt: '2026-11-23T14:59:00.000Z',
          open: '64200',
          high: '64262.5',
          low: '64190.01',
          close: '64250.12',
          volume: '12.874',
        },
      ],
    },
    response: { accepted: 1, duplicates: 0 },
  },
  priceQuotes: {
    query: { symbols: 'BTC/USDT,ETH/USDT' },
    response: {
      quotes: [
        { symbol: 'BTC/USDT', price: '64250.12', at: '2026-11-23T14:59:59.812Z' },
        { symbol: 'ETH/USDT', price: '3120.5', at: '2026-11-23T14:59:59.900Z' },
      ],
    },
  },
  payhubOrphanHolds: {
    query: { olderThan: '2026-11-23T14:00:00.000Z', limit: '100' },
    response: {
      items: [
        {
          holdId: 'hold_01C',
          userId: 'usr_4821',
          amount: '500',
          asset: 'STAR',
          createdAt: '2026-11-23T12:00:00.000Z',
        },
      ],
      nextCursor: null,
    },
  },
  payhubReleaseHold: {
    request: { holdId: 'hold_01C', reason: 'orphan_gc' },
    response: { holdId: 'hold_01C', state: 'released' },
  },
  payhubCreateSettlement: {
    request: {
      settlementRef: 'match_01JDQ9A1B2C3D4E5F6G7H8J9KM',
      asset: 'STAR',
      holdIds: ['hold_01A', 'hold_01B'],
      payouts: [{ userId: 'usr_4821', amount: '950' }],
      fee: '50',
    },
    response: {
      settlementId: 'set_01JDQAK',
      settlementRef: 'match_01JDQ9A1B2C3D4E5F6G7H8J9KM',
      state: 'settled',
    },
  },
  payhubGrantReward: {
    request: {
      grantId: 'clm_01JDQAF6G7H8J9KMNPQRSTVWXY',
      userId: 'usr_4821',
      amount: '5000',
      asset: 'STAR',
      campaignId: 'cmp_launch_week',
    },
    response: {
      grantId: 'clm_01JDQAF6G7H8J9KMNPQRSTVWXY',
      txId: 'tx_01JDQAJ9KMNPQRSTVWXYZ01234',
      state: 'granted',
    },
  },
  payhubRecalcLedger: {
    request: { asOf: TICK },
    response: {
      checkedAccounts: 18234,
      violations: [{ account: 'user:usr_4821', asset: 'STAR', expected: '12500', actual: '12450' }],
    },
  },
  watchlistIngest: {
    request: {
      sourceId: 'coindesk',
      items: [
        {
          id: 'cd-2026-11-23-btc-etf',
          url: 'https://www.coindesk.com/markets/2026/11/23/bitcoin-etf-inflows',
          title: 'Bitcoin ETF inflows hit a monthly high',
          publishedAt: '2026-11-23T14:40:00.000Z',
          symbols: ['BTC/USDT'],
        },
      ],
    },
    response: { accepted: 1, duplicates: 0 },
  },
  serviceExport: {
    request: {
      exportId: 'exp_01JDQAG7H8J9KMNPQRSTVWXYZ0',
      dataset: 'claims',
      format: 'csv',
      filters: { campaignId: 'cmp_launch_week' },
      page: 3,
      cursor: 'claims:after:clm_01JDQ',
    },
    response: {
      exportId: 'exp_01JDQAG7H8J9KMNPQRSTVWXYZ0',
      state: 'completed',
      url: 'https://exports.example.com/claims.csv?sig=abc',
      expiresAt: '2026-11-24T15:00:00.000Z',
      rows: 1289,
    },
    bodies: {
      202: {
        exportId: 'exp_01JDQAG7H8J9KMNPQRSTVWXYZ0',
        state: 'running',
        retryAt: '2026-11-23T15:01:00.000Z',
      },
    },
  },
  storageCleanupCandidates: {
    query: { limit: 100 },
    response: {
      items: [
        {
          objectKey: 'avatars/usr_4821/old.png',
          deleteUrl: 'https://storage.example.com/avatars/old.png?sig=xyz',
        },
      ],
      nextCursor: null,
    },
  },
  storageCleanupConfirm: {
    request: { objectKeys: ['avatars/usr_4821/old.png'] },
    response: { confirmed: 1 },
  },
  pageviewsFlush: { request: { until: TICK }, response: { flushedBuckets: 60 } },
};

function isEndpoint(value: unknown): value is InternalEndpoint {
  return (
    typeof value === 'object' && value !== null && 'path' in value && 'method' in value && 'statuses' in value
  );
}

const endpoints: [string, InternalEndpoint][] = [
  playhubApi,
  escrowApi,
  fundingApi,
  campaignsApi,
  priceApi,
  payhubApi,
  watchlistApi,
  utilityApi,
].flatMap((module) =>
  Object.entries(module).filter((entry): entry is [string, InternalEndpoint] => isEndpoint(entry[1])),
);

function parses(
  schema: { safeParse(v: unknown): { success: boolean; error?: unknown } } | undefined,
  value: unknown,
  what: string,
): void {
  expect(schema, what).toBeDefined();
  const result = schema?.safeParse(value);
  expect(result?.success, `${what}: ${JSON.stringify(result?.error)}`).toBe(true);
}

/** The Idempotency-Key a job would send for this request, per the endpoint's spec. */
function keyFor(endpoint: InternalEndpoint, request: Json): string {
  const spec = endpoint.idempotencyKey;
  if (!spec) throw new Error(`${endpoint.path} has no idempotency key`);
  const parts = spec.parts.map((part) => {
    const digest = /^digest\((\w+)\)$/.exec(part);
    if (digest)
      return createHash('sha256')
        .update(JSON.stringify(request[digest[1] as string]))
        .digest('hex');
    const value = request[part];
    if (typeof value === 'number') return value;
    if (typeof value !== 'string')
      throw new Error(`${endpoint.path}: key part ${part} is not in the request`);
    return /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : value;
  });
  return idempotencyKey(spec.scope, ...parts);
}

describe('internal API contracts', () => {
  it('has an example for every endpoint and an endpoint for every example', () => {
    expect(endpoints.map(([name]) => name).sort()).toEqual(Object.keys(endpointExamples).sort());
  });

  it.each(endpoints)('%s parses its example request and responses', (name, endpoint) => {
    const ex = endpointExamples[name];
    if (!ex) throw new Error(`no example for ${name}`);
    expect(endpoint.path).toMatch(/^\/internal\/v1\/[a-z0-9/_-]+$/);
    if (endpoint.method === 'GET') {
      expect(endpoint.idempotencyKey, name).toBeUndefined();
      expect(endpoint.request, name).toBeUndefined();
      parses(endpoint.query, ex.query ?? {}, `${name} query`);
    } else {
      parses(endpoint.request, ex.request, `${name} request`);
      expect(endpoint.request?.safeParse({ ...ex.request, extra: 1 }).success, `${name} strict request`).toBe(
        false,
      );
    }
    parses(endpoint.response, ex.response, `${name} response`);
    parses(endpoint.statuses[200]?.body, ex.response, `${name} 200`);
    for (const [status, meaning] of Object.entries(endpoint.statuses)) {
      if (meaning.outcome === 'by-error-code') expect(status).toBe('409');
      if (meaning.body === errorEnvelope) {
        parses(
          meaning.body,
          { error: { code: ERROR_CODES.alreadyDone, message: 'key already applied' } },
          `${name} ${status}`,
        );
      } else if (status !== '200' && meaning.body !== undefined) {
        parses(meaning.body, ex.bodies?.[Number(status)], `${name} ${status}`);
      }
    }
    expect(Object.keys(ex.bodies ?? {}).every((status) => endpoint.statuses[Number(status)]?.body)).toBe(
      true,
    );
  });

  it.each(endpoints.filter(([, e]) => e.method === 'POST'))(
    '%s names an Idempotency-Key built from its request',
    (name, endpoint) => {
      const request = endpointExamples[name]?.request ?? {};
      expect(endpoint.statuses[409]?.outcome).toBe('by-error-code');
      const key = keyFor(endpoint, request);
      expect(key.startsWith(endpoint.idempotencyKey?.scope ?? '?')).toBe(true);
      expect(keyFor(endpoint, structuredClone(request))).toBe(key);
    },
  );

  it('builds the readable keys DESIGN.md §7 names: betId + T_end, vestingId + epoch', () => {
    const settle = endpointExamples['cfbSettle']?.request ?? {};
    expect(keyFor(playhubApi.cfbSettle, settle)).toBe(
      `cfb.settle:bet_01JDQ8Z5X3V7W9Y2K4M6N8P0RT:${Date.parse('2026-11-23T15:05:00.000Z')}`,
    );
    expect(keyFor(fundingApi.vestingRelease, endpointExamples['vestingRelease']?.request ?? {})).toBe(
      'vesting.release:vest_01JDQAD4E5F6G7H8J9KMNPQRST:3',
    );
  });

  it('rejects float money and non-UTC times in requests and responses', () => {
    expect(
      payhubApi.rewardGrantRequest.safeParse({
        ...endpointExamples['payhubGrantReward']?.request,
        amount: 50.5,
      }).success,
    ).toBe(false);
    expect(
      fundingApi.vestingReleaseResponse.safeParse({
        ...endpointExamples['vestingRelease']?.response,
        releasedAmount: '5000.00',
      }).success,
    ).toBe(false);
    expect(
      playhubApi.cfbSettleRequest.safeParse({ betId: 'bet_1', tEnd: '2026-11-23T22:05:00+07:00' }).success,
    ).toBe(false);
    expect(priceApi.priceTick.safeParse({ symbol: 'BTC/USDT', price: 64250.12, at: TICK }).success).toBe(
      false,
    );
  });

  it('the sweepers get back exactly the data of the events they republish', () => {
    const due = [
      [playhubApi.cfbDueBetsResponse, 'bet.opened'],
      [escrowApi.escrowDueResponse, 'escrow.created'],
      [fundingApi.vestingDueResponse, 'vesting.scheduled'],
    ] as const;
    const registry = fullRegistry();
    for (const [schema, type] of due) {
      const page = schema.parse({ items: [eventExamples[type]], nextCursor: null });
      for (const item of page.items)
        expect(registry.validate(envelope(type, item)).data).toEqual(eventExamples[type]);
    }
  });

  it('409 error codes agree with the HTTP sink: done -> ack, in progress -> retry, key mismatch -> dead', () => {
    const matcher = conflictMatcher();
    expect(matcher({ error: { code: ERROR_CODES.alreadyDone, message: '' } })).toBe('done');
    expect(matcher({ error: { code: ERROR_CODES.inProgress, message: '' } })).toBe('in-progress');
    expect(matcher({ error: { code: ERROR_CODES.keyMismatch, message: '' } })).toBe('conflict');
    for (const [code, kind] of Object.entries(CONFLICT_OUTCOMES)) {
      const mapped = mapResponse(
        {
          status: 409,
          headers: {},
          body: { error: { code, message: 'x' } },
          excerpt: '',
          target: 'playhub POST /internal/v1/cfb/settle',
        },
        defaultStatusPolicy,
        Date.parse(TICK),
      );
      expect(mapped.kind, code).toBe(kind);
    }
  });
});
