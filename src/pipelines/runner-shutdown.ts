// Keeping held entries alive, and letting go of them at the end: the heartbeat round (entries another consumer took,
// entries deleted from their stream) and the shutdown sequence (stop pulling, let in-flight work finish within the
// grace period, then abort it and hand what is still held to the other consumers at once).
import type { Redis } from 'ioredis';
import { abortableSleep } from '../streams/credit-source.js';
import type { Credits } from '../streams/credits.js';
import { heartbeatOnce, releaseHeld } from '../streams/heartbeat.js';
import type { HeldEntries } from './held-entries.js';

export interface HeldUpkeepDeps {
  readonly redis: Redis;
  readonly group: string;
  readonly consumer: string;
  readonly held: HeldEntries;
  readonly report: (where: string) => (error: unknown) => void;
  /** Entries still held here that another consumer now owns (or that were acked elsewhere). */
  readonly ownershipLost: (stream: string, ids: string[]) => void;
  readonly raiseLost: (lost: readonly { stream: string; ids: string[] }[]) => void;
}

/** Refreshes every held entry each `intervalMs`; returns the function that stops it. */
export function startHeartbeat(deps: HeldUpkeepDeps, intervalMs: number): () => void {
  const { redis, group, consumer, held } = deps;
  async function beat(): Promise<void> {
    try {
      const result = await heartbeatOnce(redis, group, consumer, held);
      result.errors.forEach(deps.report('heartbeat'));
      for (const [partition, ids] of result.gone) {
        const stillHeld = ids.filter((id) => held.has(partition, id));
        if (stillHeld.length > 0) deps.ownershipLost(partition.stream, stillHeld);
      }
      deps.raiseLost([...result.lost].map(([partition, ids]) => ({ stream: partition.stream, ids })));
    } catch (error) {
      deps.report('heartbeat')(error);
    }
  }
  const timer = setInterval(() => void beat(), intervalMs);
  return () => clearInterval(timer);
}

export interface ShutdownDeps extends HeldUpkeepDeps {
  readonly credits: Credits;
  /** Aborting it stops every source after its fetch in progress. */
  readonly stopSources: AbortController;
  /** Resolves once every source has completed. */
  readonly sourcesDone: Promise<void>;
  readonly blockMs: number;
  unblockRead(): Promise<void>;
  /** Aborts the work in flight (handlers' signals, waits for admission). */
  abortWork(reason: unknown): void;
}

/** Stops pulling, waits up to `graceMs` for in-flight work, then aborts it; returns how many entries were released. */
export async function shutDown(deps: ShutdownDeps, graceMs: number): Promise<number> {
  const { redis, group, consumer, held, report } = deps;
  deps.stopSources.abort();
  await deps.unblockRead().catch(report('unblock'));
  const grace = new AbortController();
  const timer = setTimeout(() => grace.abort(), graceMs);
  // fetches in flight still deliver: wait for them, so what they return is handled or released
  await Promise.race([deps.sourcesDone, abortableSleep(graceMs + deps.blockMs, grace.signal)]);
  await deps.credits.whenIdle(grace.signal);
  clearTimeout(timer);
  // taken before the abort, so entries whose work ends now are released rather than forgotten
  const snapshot = held.snapshot();
  deps.abortWork(new Error('shutdown grace period over'));
  return releaseHeld(redis, group, consumer, { snapshot: () => snapshot }).catch((error: unknown) => {
    report('release')(error);
    return 0;
  });
}
