// Mock Funding: vesting schedules of epochs; a release pays what is releasable (partial releases carry the rest into
// the next epoch, 204 when nothing is), and the scan of due epochs for the sweeper (src/jobs/funding/api.ts).
import { ERROR_CODES } from '../../src/jobs/contract-fields.js';
import { vestingDue, vestingRelease } from '../../src/jobs/funding/api.js';
import { vestingScheduledData } from '../../src/jobs/funding/events.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import type { EmitOptions } from './event-producer.js';
import {
  contractRoute,
  errorAnswer,
  startPlatformService,
  type PlatformService,
  type ServiceAnswer,
} from './platform-service.js';
import {
  badCursor,
  idSequence,
  iso,
  notFound,
  pageOf,
  timeKey,
  toMs,
  type ServiceContext,
  type TimeInput,
} from './service-context.js';
import { utilityRoutes, type UtilityHelpers, type UtilityOptions } from './utility-routes.js';

export interface MockEpoch {
  readonly epoch: number;
  releaseAt: string;
  /** Scheduled for this epoch. */
  readonly amount: string;
  /** At most this much can be released at this epoch (a lock or a cap); default all of it. */
  releasable: string | undefined;
  /** Carried in from an earlier partial release. */
  carried: bigint;
  /** The answer once released (200) or found empty (204). */
  result: ServiceAnswer | undefined;
}

export interface MockVesting {
  readonly vestingId: string;
  readonly asset: string;
  readonly epochs: MockEpoch[];
}

export interface VestingInput {
  readonly vestingId?: string;
  readonly asset?: string;
  readonly epochs: readonly { releaseAt: TimeInput; amount: string; releasable?: string }[];
}

export interface FundingOptions {
  /** When a partial release of the last epoch leaves a remainder, a new epoch is added this much later; default 60 s. */
  readonly remainderDelayMs?: number;
  readonly utility?: UtilityOptions;
}

export interface MockFunding extends PlatformService, UtilityHelpers {
  /** Creates a schedule and publishes `vesting.scheduled` for epoch 0 (not with `{ publish: false }`). */
  scheduleVesting(input: VestingInput, options?: EmitOptions): Promise<MockVesting>;
  /** Publishes `vesting.scheduled` for an epoch (its amount includes what was carried in). */
  publishEpoch(vestingId: string, epoch: number, options?: EmitOptions): Promise<EventEnvelope | undefined>;
  /** Caps what an epoch can release (partial release; 0 = nothing, answered 204). */
  setReleasable(vestingId: string, epoch: number, releasable: string | undefined): void;
  vesting(vestingId: string): MockVesting | undefined;
  vestings(): MockVesting[];
  /** Total released of a schedule. */
  released(vestingId: string): bigint;
  domainStats(): Record<string, number>;
}

const FUNDING = 'funding';

export async function startMockFunding(
  ctx: ServiceContext,
  options: FundingOptions = {},
): Promise<MockFunding> {
  const vestings = new Map<string, MockVesting>();
  const releasedTotals = new Map<string, bigint>();
  const nextId = idSequence();
  const remainderDelayMs = options.remainderDelayMs ?? 60_000;
  const counters = { releases: 0, partialReleases: 0, nothingToRelease: 0, earlyReleases: 0 };

  function release(vesting: MockVesting, epoch: MockEpoch, now: number): ServiceAnswer {
    const due = BigInt(epoch.amount) + epoch.carried;
    const cap = epoch.releasable === undefined ? due : BigInt(epoch.releasable);
    const released = cap < due ? cap : due;
    const remaining = due - released;
    if (remaining > 0n) {
      let target = vesting.epochs.find((e) => e.epoch > epoch.epoch && e.result === undefined);
      if (target === undefined) {
        target = {
          epoch: vesting.epochs.length,
          releaseAt: iso(Math.max(toMs(epoch.releaseAt), now) + remainderDelayMs),
          amount: '0',
          releasable: undefined,
          carried: 0n,
          result: undefined,
        };
        vesting.epochs.push(target);
      }
      target.carried += remaining;
    }
    const next = vesting.epochs.find((e) => e.epoch > epoch.epoch && e.result === undefined);
    releasedTotals.set(vesting.vestingId, (releasedTotals.get(vesting.vestingId) ?? 0n) + released);
    if (released === 0n) {
      counters.nothingToRelease += 1;
      epoch.result = { status: 204 };
    } else {
      counters.releases += 1;
      if (remaining > 0n) counters.partialReleases += 1;
      epoch.result = {
        status: 200,
        body: {
          vestingId: vesting.vestingId,
          epoch: epoch.epoch,
          releasedAmount: String(released),
          remainingAmount: String(remaining),
          next:
            next === undefined
              ? null
              : {
                  epoch: next.epoch,
                  releaseAt: next.releaseAt,
                  amount: String(BigInt(next.amount) + next.carried),
                },
        },
      };
    }
    return { ...epoch.result, applied: true };
  }

  const utility = utilityRoutes(ctx, FUNDING, options.utility);
  const service = await startPlatformService({
    ...ctx.server,
    name: FUNDING,
    random: ctx.random,
    routes: [
      contractRoute(vestingRelease, ({ data, now }) => {
        const vesting = vestings.get(data.vestingId);
        if (vesting === undefined) return notFound(`vesting ${data.vestingId}`);
        const epoch = vesting.epochs[data.epoch];
        if (epoch === undefined) return notFound(`epoch ${data.epoch} of vesting ${data.vestingId}`);
        if (epoch.result !== undefined) return { ...epoch.result, applied: false };
        const releaseAt = toMs(epoch.releaseAt);
        if (now < releaseAt) {
          // not in the contract's statuses as such: "not due yet" is a 503 with Retry-After, so it is retried
          counters.earlyReleases += 1;
          return {
            ...errorAnswer(
              503,
              ERROR_CODES.unavailable,
              `epoch ${data.epoch} is not due before ${epoch.releaseAt}`,
            ),
            headers: { 'retry-after': String(Math.max(1, Math.ceil((releaseAt - now) / 1000))) },
          };
        }
        return release(vesting, epoch, now);
      }),
      contractRoute(vestingDue, ({ data }) => {
        const before = toMs(data.before);
        const due = [...vestings.values()].flatMap((v) =>
          v.epochs
            .filter((e) => e.result === undefined && toMs(e.releaseAt) <= before)
            .map((e) => ({ vesting: v, epoch: e })),
        );
        const page = pageOf(
          due,
          ({ vesting, epoch }) => timeKey(toMs(epoch.releaseAt), `${vesting.vestingId}|${epoch.epoch}`),
          data.cursor,
          data.limit,
        );
        if (page === undefined) return badCursor();
        return {
          status: 200,
          body: {
            items: page.items.map(({ vesting, epoch }) => scheduledData(vesting, epoch)),
            nextCursor: page.nextCursor,
          },
        };
      }),
      ...utility.routes,
    ],
  });

  function epochOrThrow(vestingId: string, epoch: number): { vesting: MockVesting; entry: MockEpoch } {
    const vesting = vestings.get(vestingId);
    const entry = vesting?.epochs[epoch];
    if (vesting === undefined || entry === undefined)
      throw new Error(`no epoch ${epoch} of vesting ${vestingId}`);
    return { vesting, entry };
  }

  async function publishEpoch(
    vestingId: string,
    epoch: number,
    emitOptions?: EmitOptions,
  ): Promise<EventEnvelope | undefined> {
    const { vesting, entry } = epochOrThrow(vestingId, epoch);
    return ctx.producer.emit(
      FUNDING,
      'vesting.scheduled',
      vestingScheduledData,
      vestingId,
      scheduledData(vesting, entry),
      emitOptions,
    );
  }

  return {
    ...service,
    ...utility.helpers,
    async scheduleVesting(input, emitOptions) {
      const vestingId = input.vestingId ?? nextId('vesting');
      if (vestings.has(vestingId)) throw new Error(`vesting ${vestingId} exists`);
      if (input.epochs.length === 0) throw new Error('a vesting schedule needs epochs');
      const vesting: MockVesting = {
        vestingId,
        asset: input.asset ?? 'TON',
        epochs: input.epochs.map((e, i) => ({
          epoch: i,
          releaseAt: iso(toMs(e.releaseAt)),
          amount: e.amount,
          releasable: e.releasable,
          carried: 0n,
          result: undefined,
        })),
      };
      vestings.set(vestingId, vesting);
      await publishEpoch(vestingId, 0, emitOptions);
      return vesting;
    },
    publishEpoch,
    setReleasable(vestingId, epoch, releasable) {
      epochOrThrow(vestingId, epoch).entry.releasable = releasable;
    },
    vesting: (vestingId) => vestings.get(vestingId),
    vestings: () => [...vestings.values()],
    released: (vestingId) => releasedTotals.get(vestingId) ?? 0n,
    domainStats: () => ({ schedules: vestings.size, ...counters }),
  };
}

function scheduledData(
  vesting: MockVesting,
  epoch: MockEpoch,
): { vestingId: string; epoch: number; nextReleaseAt: string; amount: string; asset: string } {
  return {
    vestingId: vesting.vestingId,
    epoch: epoch.epoch,
    nextReleaseAt: epoch.releaseAt,
    amount: String(BigInt(epoch.amount) + epoch.carried),
    asset: vesting.asset,
  };
}
