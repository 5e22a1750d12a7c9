// The runner's three credit-based sources, merged: new entries (a shared rate limit's tokens are taken before
// reading), due retries and abandoned entries (claimed first, then paced by the shared limit's tokens while held and
// heartbeated, so polling with nothing due spends no token). Each waits at the pull gate before reserving credits.
import { merge, type Observable } from 'rxjs';
import { abortableSleep, creditSource } from '../streams/credit-source.js';
import type { Credits } from '../streams/credits.js';
import type { Delivery } from '../streams/delivery.js';
import type { GroupReader } from '../streams/group-reader.js';
import type { Reclaimer } from '../streams/reclaimer.js';
import type { DistributedRateLimiter } from './distributed-rate-limit.js';
import type { HeldEntries } from './held-entries.js';
import type { PullGate } from './pull-gate.js';

export interface RunnerSourcesDeps {
  readonly credits: Credits;
  readonly concurrency: number;
  readonly reader: GroupReader;
  readonly reclaimer: Reclaimer;
  readonly gate: PullGate;
  readonly held: HeldEntries;
  readonly sharedLimit: DistributedRateLimiter | undefined;
  readonly retryPollMs: number;
  readonly claimFloorMs: number;
  /** Aborted on shutdown: every source completes after its fetch in progress. */
  readonly signal: AbortSignal;
  readonly report: (where: string) => (error: unknown) => void;
  raiseLost(lost: readonly { stream: string; ids: string[] }[]): void;
}

/** Most entries one reclaim call takes, leaving credits for new entries. */
const CLAIM_SHARE = 100;
/** Pause before asking the shared limit again after it failed (Redis unreachable). */
const TOKEN_ERROR_PAUSE_MS = 500;

export function runnerSources(deps: RunnerSourcesDeps): Observable<Delivery[]> {
  const { credits, gate, held, sharedLimit, signal, report } = deps;
  const nothing = { deliveries: [], pauseMs: 0 };

  const newEntries$ = creditSource({
    credits,
    // a blocking read holds its credits for up to blockMs: leave one to each claim source so due retries
    // and abandoned entries are not kept waiting behind an idle read
    maxPerFetch: deps.concurrency > 2 ? deps.concurrency - 2 : deps.concurrency,
    signal,
    onError: report('read'),
    ready: () => gate.whenOpen('new'),
    fetch: async (free) => {
      const granted = sharedLimit ? await sharedLimit.take(free, signal) : free;
      // closed while waiting for tokens (those are spent: the conservative side of the limit)
      if (!gate.isOpen('new')) return nothing;
      return { deliveries: held.hold(await gate.track('new', deps.reader.read(granted))), pauseMs: 0 };
    },
  });

  /** Emits claimed entries as the shared limit grants tokens for them; a failing limit is asked again. */
  async function paceByTokens(deliveries: Delivery[], emit: (part: Delivery[]) => void): Promise<void> {
    const limit = sharedLimit as DistributedRateLimiter;
    let next = 0;
    while (next < deliveries.length) {
      let granted: number;
      try {
        granted = await limit.take(deliveries.length - next, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        report('rate-limit')(error);
        await abortableSleep(TOKEN_ERROR_PAUSE_MS, signal);
        continue;
      }
      emit(deliveries.slice(next, next + granted));
      next += granted;
    }
  }

  /** A reclaim source: takes a bounded share of credits, raises data-loss alarms, pauses when idle. */
  function reclaimSource(kind: 'claimDue' | 'claimIdle', idlePauseMs: (nextDueMs: number) => number) {
    const where = kind === 'claimDue' ? 'claim-due' : 'claim-idle';
    return creditSource({
      credits,
      maxPerFetch: CLAIM_SHARE,
      signal,
      onError: report(where),
      ready: () => gate.whenOpen('reclaim'),
      // an idle blocking read may hold every credit (concurrency 1 or 2): end it so this poll gets its turn
      onStarved: () => gate.interruptRead(),
      fetch: async (free) => {
        if (!gate.isOpen('reclaim')) return nothing;
        const result = await gate.track('reclaim', deps.reclaimer[kind](free));
        result.errors.forEach(report(where));
        deps.raiseLost(result.lost);
        const pauseMs = result.deliveries.length > 0 ? 0 : idlePauseMs(result.nextDueMs);
        return { deliveries: held.hold(result.deliveries), pauseMs };
      },
      ...(sharedLimit ? { pace: paceByTokens } : {}),
    });
  }

  const dueRetries$ = reclaimSource('claimDue', (nextDueMs) =>
    Math.min(deps.retryPollMs, nextDueMs < 0 ? Infinity : nextDueMs),
  );
  const abandoned$ = reclaimSource('claimIdle', () => Math.max(100, Math.floor(deps.claimFloorMs / 3)));
  return merge(newEntries$, dueRetries$, abandoned$);
}
