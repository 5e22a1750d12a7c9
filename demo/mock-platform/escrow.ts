// Mock Escrow: escrows that expire at expiresAt (or move it later), are released, or are adjudicated by a
// moderator's decision, and the scan of open escrows past expiresAt (src/jobs/escrow/api.ts).
import { escrowAdjudicate, escrowDue, escrowExpire } from '../../src/jobs/escrow/api.js';
import {
  escrowCreatedData,
  escrowDecisionMadeData,
  escrowReleasedData,
} from '../../src/jobs/escrow/events.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import type { EmitOptions } from './event-producer.js';
import { contractRoute, startPlatformService, type PlatformService } from './platform-service.js';
import {
  badCursor,
  idSequence,
  invalid,
  iso,
  notFound,
  pageOf,
  timeKey,
  toMs,
  type ServiceContext,
  type TimeInput,
} from './service-context.js';
import { utilityRoutes, type UtilityHelpers, type UtilityOptions } from './utility-routes.js';

export type EscrowState = 'open' | 'expired' | 'refunded' | 'released' | 'adjudicated' | 'cancelled';

export interface MockEscrow {
  readonly escrowId: string;
  readonly amount: string;
  readonly asset: string;
  expiresAt: string;
  state: EscrowState;
  /** The decision applied, once adjudicated. */
  decisionId: string | undefined;
  payeeAmount: string | undefined;
  payerAmount: string | undefined;
}

export interface EscrowInput {
  readonly escrowId?: string;
  readonly amount?: string;
  readonly asset?: string;
  readonly expiresAt: TimeInput;
}

export interface DecisionInput {
  readonly escrowId: string;
  readonly decisionId?: string;
  readonly resolution: 'release' | 'refund' | 'split';
  /** Default: the whole amount to the side the resolution names; half each for a split. */
  readonly payeeAmount?: string;
  readonly payerAmount?: string;
  readonly moderatorId?: string;
}

export interface EscrowOptions {
  readonly utility?: UtilityOptions;
}

export interface MockEscrowService extends PlatformService, UtilityHelpers {
  /** Funds an escrow and publishes `escrow.created` (not with `{ publish: false }`). */
  createEscrow(input: EscrowInput, options?: EmitOptions): Promise<MockEscrow>;
  /** Releases an open escrow to the payee and publishes `escrow.released`. */
  releaseEscrow(escrowId: string, options?: EmitOptions): Promise<MockEscrow>;
  /** Moves expiresAt and publishes `escrow.created` again with it. */
  extendEscrow(escrowId: string, expiresAt: TimeInput, options?: EmitOptions): Promise<MockEscrow>;
  /** Publishes a moderator's `escrow.decision_made` (applied when escrow.adjudicate calls). */
  decide(input: DecisionInput, options?: EmitOptions): Promise<EventEnvelope | undefined>;
  escrow(escrowId: string): MockEscrow | undefined;
  escrows(): MockEscrow[];
  domainStats(): Record<string, number>;
}

const ESCROW = 'escrow';

export async function startMockEscrow(
  ctx: ServiceContext,
  options: EscrowOptions = {},
): Promise<MockEscrowService> {
  const escrows = new Map<string, MockEscrow>();
  const nextId = idSequence();
  const counters = { earlyExpiries: 0 };

  const utility = utilityRoutes(ctx, ESCROW, options.utility);
  const service = await startPlatformService({
    ...ctx.server,
    name: ESCROW,
    random: ctx.random,
    routes: [
      contractRoute(escrowExpire, ({ data, now }) => {
        const escrow = escrows.get(data.escrowId);
        if (escrow === undefined) return notFound(`escrow ${data.escrowId}`);
        if (escrow.state !== 'open')
          return { status: 200, body: { escrowId: escrow.escrowId, state: escrow.state } };
        const expiresAt = toMs(escrow.expiresAt);
        if (now < expiresAt) {
          // the expiry moved later, or the call is early: come back at the escrow's own expiresAt
          if (toMs(data.expiresAt) >= expiresAt) counters.earlyExpiries += 1;
          return {
            status: 202,
            body: { escrowId: escrow.escrowId, retryAt: escrow.expiresAt },
            headers: { 'retry-after': String(Math.max(1, Math.ceil((expiresAt - now) / 1000))) },
          };
        }
        escrow.state = 'expired';
        return { status: 200, applied: true, body: { escrowId: escrow.escrowId, state: 'expired' } };
      }),
      contractRoute(escrowAdjudicate, ({ data }) => {
        const escrow = escrows.get(data.escrowId);
        if (escrow === undefined) return notFound(`escrow ${data.escrowId}`);
        if (escrow.state !== 'open')
          return { status: 200, body: { escrowId: escrow.escrowId, state: escrow.state } };
        if (BigInt(data.payeeAmount) + BigInt(data.payerAmount) !== BigInt(escrow.amount))
          return invalid(`payee + payer amounts do not add up to the escrowed ${escrow.amount}`);
        escrow.state = 'adjudicated';
        escrow.decisionId = data.decisionId;
        escrow.payeeAmount = data.payeeAmount;
        escrow.payerAmount = data.payerAmount;
        return { status: 200, applied: true, body: { escrowId: escrow.escrowId, state: 'adjudicated' } };
      }),
      contractRoute(escrowDue, ({ data }) => {
        const before = toMs(data.before);
        const due = [...escrows.values()].filter((e) => e.state === 'open' && toMs(e.expiresAt) <= before);
        const page = pageOf(due, (e) => timeKey(toMs(e.expiresAt), e.escrowId), data.cursor, data.limit);
        if (page === undefined) return badCursor();
        return { status: 200, body: { items: page.items.map(createdData), nextCursor: page.nextCursor } };
      }),
      ...utility.routes,
    ],
  });

  function openOrThrow(escrowId: string): MockEscrow {
    const escrow = escrows.get(escrowId);
    if (escrow === undefined) throw new Error(`no escrow ${escrowId}`);
    if (escrow.state !== 'open') throw new Error(`escrow ${escrowId} is ${escrow.state}`);
    return escrow;
  }

  return {
    ...service,
    ...utility.helpers,
    async createEscrow(input, emitOptions) {
      const escrowId = input.escrowId ?? nextId('escrow');
      if (escrows.has(escrowId)) throw new Error(`escrow ${escrowId} exists`);
      const escrow: MockEscrow = {
        escrowId,
        amount: input.amount ?? '1000',
        asset: input.asset ?? 'USDT',
        expiresAt: iso(toMs(input.expiresAt)),
        state: 'open',
        decisionId: undefined,
        payeeAmount: undefined,
        payerAmount: undefined,
      };
      escrowCreatedData.parse(createdData(escrow));
      escrows.set(escrowId, escrow);
      await ctx.producer.emit(
        ESCROW,
        'escrow.created',
        escrowCreatedData,
        escrowId,
        createdData(escrow),
        emitOptions,
      );
      return escrow;
    },
    async releaseEscrow(escrowId, emitOptions) {
      const escrow = openOrThrow(escrowId);
      escrow.state = 'released';
      await ctx.producer.emit(
        ESCROW,
        'escrow.released',
        escrowReleasedData,
        escrowId,
        { escrowId },
        emitOptions,
      );
      return escrow;
    },
    async extendEscrow(escrowId, expiresAt, emitOptions) {
      const escrow = openOrThrow(escrowId);
      escrow.expiresAt = iso(toMs(expiresAt));
      await ctx.producer.emit(
        ESCROW,
        'escrow.created',
        escrowCreatedData,
        escrowId,
        createdData(escrow),
        emitOptions,
      );
      return escrow;
    },
    decide(input, emitOptions) {
      const escrow = openOrThrow(input.escrowId);
      const amount = BigInt(escrow.amount);
      const payee =
        input.payeeAmount ??
        (input.resolution === 'release'
          ? escrow.amount
          : input.resolution === 'refund'
            ? '0'
            : String(amount / 2n));
      const payer = input.payerAmount ?? String(amount - BigInt(payee));
      return ctx.producer.emit(
        ESCROW,
        'escrow.decision_made',
        escrowDecisionMadeData,
        input.escrowId,
        {
          escrowId: input.escrowId,
          decisionId: input.decisionId ?? nextId('decision'),
          resolution: input.resolution,
          payeeAmount: payee,
          payerAmount: payer,
          moderatorId: input.moderatorId ?? 'moderator-1',
        },
        emitOptions,
      );
    },
    escrow: (escrowId) => escrows.get(escrowId),
    escrows: () => [...escrows.values()],
    domainStats() {
      const byState: Record<string, number> = { open: 0, expired: 0, released: 0, adjudicated: 0 };
      for (const escrow of escrows.values()) byState[escrow.state] = (byState[escrow.state] ?? 0) + 1;
      return { ...byState, ...counters };
    },
  };
}

function createdData(escrow: MockEscrow): {
  escrowId: string;
  amount: string;
  asset: string;
  expiresAt: string;
} {
  return {
    escrowId: escrow.escrowId,
    amount: escrow.amount,
    asset: escrow.asset,
    expiresAt: escrow.expiresAt,
  };
}
