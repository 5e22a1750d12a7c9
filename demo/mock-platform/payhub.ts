// Mock Payhub: holds (correlated or orphan) and their release, match settlements that capture stake holds, campaign
// reward grants with a txId, and a ledger whose invariants the recalc checks (src/jobs/payhub/api.ts).
import {
  payhubCreateSettlement,
  payhubGrantReward,
  payhubOrphanHolds,
  payhubRecalcLedger,
  payhubReleaseHold,
} from '../../src/jobs/payhub/api.js';
import { contractRoute, startPlatformService, type PlatformService } from './platform-service.js';
import { hash32 } from './seeded-random.js';
import {
  badCursor,
  idSequence,
  invalid,
  iso,
  notFound,
  pageOf,
  sumMinor,
  timeKey,
  toMs,
  type ServiceContext,
  type TimeInput,
} from './service-context.js';
import { utilityRoutes, type UtilityHelpers, type UtilityOptions } from './utility-routes.js';

export type HoldState = 'held' | 'released' | 'captured';

export interface MockHold {
  readonly holdId: string;
  readonly userId: string;
  readonly amount: string;
  readonly asset: string;
  readonly createdAt: string;
  /** The match, order or escrow the hold belongs to; none = an orphan once older than the TTL. */
  correlation: string | undefined;
  state: HoldState;
}

export interface HoldInput {
  readonly holdId?: string;
  readonly userId: string;
  readonly amount: string;
  readonly asset?: string;
  /** Default now. */
  readonly createdAt?: TimeInput;
  readonly correlation?: string;
}

export interface MockSettlement {
  readonly settlementId: string;
  readonly settlementRef: string;
  readonly holdIds: readonly string[];
  readonly payouts: readonly { userId: string; amount: string }[];
  readonly fee: string;
}

export interface MockGrant {
  readonly grantId: string;
  readonly txId: string;
  readonly userId: string;
  readonly amount: string;
  readonly asset: string;
  readonly campaignId: string;
}

export interface PayhubOptions {
  readonly utility?: UtilityOptions;
}

export interface MockPayhub extends PlatformService, UtilityHelpers {
  createHold(input: HoldInput): MockHold;
  /** Correlates a hold meanwhile (a release then answers `captured` and leaves it alone). */
  correlateHold(holdId: string, correlation: string): MockHold;
  hold(holdId: string): MockHold | undefined;
  holds(): MockHold[];
  settlement(settlementRef: string): MockSettlement | undefined;
  grant(grantId: string): MockGrant | undefined;
  grants(): MockGrant[];
  /** Sum of the grants of a campaign (what the budget reconcile compares with). */
  grantedTotal(campaignId: string): bigint;
  /** An account's balance (`user:<userId>`, `fees`). */
  balance(account: string, asset: string): bigint;
  /** Moves a balance without a ledger entry: the next recalc reports the violation. */
  corruptLedger(account: string, asset: string, delta: bigint): void;
  /** Called with the settlementRef of every new settlement (the platform marks the PlayHub match settled). */
  onSettled(listener: (settlementRef: string) => void): void;
  domainStats(): Record<string, number>;
}

interface LedgerAccount {
  balance: bigint;
  /** Sum of the entries: the invariant is balance = entries. */
  entries: bigint;
}

export async function startMockPayhub(ctx: ServiceContext, options: PayhubOptions = {}): Promise<MockPayhub> {
  const holds = new Map<string, MockHold>();
  const settlements = new Map<string, MockSettlement>();
  const grants = new Map<string, MockGrant>();
  const ledger = new Map<string, LedgerAccount>();
  const settledListeners: ((settlementRef: string) => void)[] = [];
  const nextId = idSequence();

  function account(name: string, asset: string): LedgerAccount {
    const key = `${name}|${asset}`;
    let entry = ledger.get(key);
    if (entry === undefined) ledger.set(key, (entry = { balance: 0n, entries: 0n }));
    return entry;
  }
  function credit(name: string, asset: string, amount: string): void {
    const entry = account(name, asset);
    entry.balance += BigInt(amount);
    entry.entries += BigInt(amount);
  }

  const utility = utilityRoutes(ctx, 'payhub', options.utility);
  const service = await startPlatformService({
    ...ctx.server,
    name: 'payhub',
    random: ctx.random,
    routes: [
      contractRoute(payhubOrphanHolds, ({ data }) => {
        const olderThan = toMs(data.olderThan);
        const orphans = [...holds.values()].filter(
          (h) => h.state === 'held' && h.correlation === undefined && toMs(h.createdAt) < olderThan,
        );
        const page = pageOf(orphans, (h) => timeKey(toMs(h.createdAt), h.holdId), data.cursor, data.limit);
        if (page === undefined) return badCursor();
        return {
          status: 200,
          body: {
            items: page.items.map(({ holdId, userId, amount, asset, createdAt }) => ({
              holdId,
              userId,
              amount,
              asset,
              createdAt,
            })),
            nextCursor: page.nextCursor,
          },
        };
      }),
      contractRoute(payhubReleaseHold, ({ data }) => {
        const hold = holds.get(data.holdId);
        if (hold === undefined) return notFound(`hold ${data.holdId}`);
        if (hold.state !== 'held') return { status: 200, body: { holdId: hold.holdId, state: hold.state } };
        // correlated meanwhile: left alone, answered as captured
        if (hold.correlation !== undefined)
          return { status: 200, body: { holdId: hold.holdId, state: 'captured' } };
        hold.state = 'released';
        credit(`user:${hold.userId}`, hold.asset, hold.amount);
        return { status: 200, applied: true, body: { holdId: hold.holdId, state: 'released' } };
      }),
      contractRoute(payhubCreateSettlement, ({ data }) => {
        const existing = settlements.get(data.settlementRef);
        const answerOf = (s: MockSettlement) => ({
          settlementId: s.settlementId,
          settlementRef: s.settlementRef,
          state: 'settled',
        });
        if (existing) return { status: 200, body: answerOf(existing) };
        const stakeHolds: MockHold[] = [];
        for (const holdId of data.holdIds) {
          const hold = holds.get(holdId);
          if (hold === undefined) return notFound(`hold ${holdId}`);
          if (hold.asset !== data.asset)
            return invalid(`hold ${holdId} is in ${hold.asset}, not ${data.asset}`);
          if (hold.state !== 'held') return invalid(`hold ${holdId} is ${hold.state}`);
          stakeHolds.push(hold);
        }
        const pot = sumMinor(stakeHolds.map((h) => h.amount));
        if (sumMinor(data.payouts.map((p) => p.amount)) + BigInt(data.fee) !== pot)
          return invalid(`payouts + fee do not add up to the holds (${pot})`);
        for (const hold of stakeHolds) hold.state = 'captured';
        for (const payout of data.payouts) credit(`user:${payout.userId}`, data.asset, payout.amount);
        credit('fees', data.asset, data.fee);
        const settlement: MockSettlement = {
          settlementId: `stl-${hash32(ctx.seed, 'settlement', data.settlementRef).toString(16)}`,
          settlementRef: data.settlementRef,
          holdIds: [...data.holdIds],
          payouts: data.payouts.map((p) => ({ ...p })),
          fee: data.fee,
        };
        settlements.set(data.settlementRef, settlement);
        for (const listener of settledListeners) listener(data.settlementRef);
        return { status: 200, applied: true, body: answerOf(settlement) };
      }),
      contractRoute(payhubGrantReward, ({ data }) => {
        const existing = grants.get(data.grantId);
        const answerOf = (g: MockGrant) => ({ grantId: g.grantId, txId: g.txId, state: 'granted' });
        if (existing) {
          const same =
            existing.userId === data.userId &&
            existing.amount === data.amount &&
            existing.asset === data.asset &&
            existing.campaignId === data.campaignId;
          return same
            ? { status: 200, body: answerOf(existing) }
            : invalid(`grant ${data.grantId} exists with other terms`);
        }
        const grant: MockGrant = {
          ...data,
          txId: `tx-${hash32(ctx.seed, 'grant', data.grantId).toString(16)}`,
        };
        grants.set(grant.grantId, grant);
        credit(`user:${grant.userId}`, grant.asset, grant.amount);
        return { status: 200, applied: true, body: answerOf(grant) };
      }),
      contractRoute(payhubRecalcLedger, () => {
        const violations = [...ledger]
          .filter(([, entry]) => entry.balance !== entry.entries)
          .map(([key, entry]) => {
            const [name = key, asset = ''] = key.split('|');
            return { account: name, asset, expected: String(entry.entries), actual: String(entry.balance) };
          });
        return { status: 200, applied: true, body: { checkedAccounts: ledger.size, violations } };
      }),
      ...utility.routes,
    ],
  });

  function holdOrThrow(holdId: string): MockHold {
    const hold = holds.get(holdId);
    if (hold === undefined) throw new Error(`no hold ${holdId}`);
    return hold;
  }

  return {
    ...service,
    ...utility.helpers,
    createHold(input) {
      const holdId = input.holdId ?? nextId('hold');
      if (holds.has(holdId)) throw new Error(`hold ${holdId} exists`);
      const hold: MockHold = {
        holdId,
        userId: input.userId,
        amount: input.amount,
        asset: input.asset ?? 'STAR',
        createdAt: iso(input.createdAt === undefined ? ctx.clock.now() : toMs(input.createdAt)),
        correlation: input.correlation,
        state: 'held',
      };
      holds.set(holdId, hold);
      return hold;
    },
    correlateHold(holdId, correlation) {
      const hold = holdOrThrow(holdId);
      hold.correlation = correlation;
      return hold;
    },
    hold: (holdId) => holds.get(holdId),
    holds: () => [...holds.values()],
    settlement: (ref) => settlements.get(ref),
    grant: (grantId) => grants.get(grantId),
    grants: () => [...grants.values()],
    grantedTotal: (campaignId) =>
      sumMinor([...grants.values()].filter((g) => g.campaignId === campaignId).map((g) => g.amount)),
    balance: (name, asset) => ledger.get(`${name}|${asset}`)?.balance ?? 0n,
    corruptLedger(name, asset, delta) {
      account(name, asset).balance += delta;
    },
    onSettled(listener) {
      settledListeners.push(listener);
    },
    domainStats() {
      const byState: Record<string, number> = { held: 0, released: 0, captured: 0 };
      for (const hold of holds.values()) byState[hold.state] = (byState[hold.state] ?? 0) + 1;
      return { ...byState, settlements: settlements.size, grants: grants.size, accounts: ledger.size };
    },
  };
}
