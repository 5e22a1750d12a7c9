// Timer administration across partitions: list pending timers of the timer wheels of every domain by due time
// (filtered by job, time range), and cancel one by id wherever it is pending (leaving its tombstone).
import { ValidationError } from '../../errors.js';
import { createTimerWheel } from '../../scheduler/timer-wheel.js';
import type { Redis } from 'ioredis';
import type { KeyBuilder, PartitionKeys } from '../../streams/keys.js';
import { assertTimerId } from '../../scheduler/timer-request.js';
import type { DomainPartitions } from '../dlq/dead-letters.js';

export interface TimerRow {
  readonly id: string;
  readonly domain: string;
  readonly partition: number;
  readonly dueMs: number;
  readonly version: number;
  readonly type: string;
  readonly key: string;
  readonly eventId: string;
  readonly targetGroup: string | undefined;
}

export interface TimerListFilter {
  readonly domain?: string;
  /** Timers of this job: id `<job>:...` or an event aimed at it (targetGroup). */
  readonly job?: string;
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Default 100, at most 10,000. */
  readonly limit?: number;
}

export interface TimerAdminDeps {
  readonly redis: Redis;
  readonly keys: KeyBuilder;
}

export interface TimerCancelResult {
  readonly id: string;
  /** `cancelled`: removed where it was pending; `absent`: pending nowhere (a tombstone is left only with `at`). */
  readonly status: 'cancelled' | 'absent';
  /** `domain:partition` where it was cancelled (or tombstoned with `at`). */
  readonly partitions: readonly string[];
}

const MAX_LIMIT = 10_000;

/** Pending timers by due time over every partition of the domains, at most `limit`. */
export async function listTimers(
  deps: TimerAdminDeps,
  domains: readonly DomainPartitions[],
  filter: TimerListFilter = {},
): Promise<TimerRow[]> {
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ValidationError(`timer list limit must be an integer in 1..${MAX_LIMIT}, got ${limit}`);
  }
  const wheel = createTimerWheel({ redis: deps.redis, keys: deps.keys });
  // with a job filter, read deeper so the filter does not starve the page
  const perPartition = filter.job === undefined ? limit : MAX_LIMIT;
  const partitions = partitionsOf(deps.keys, domains, filter.domain);
  const lists = await Promise.all(
    partitions.map(async (p) => {
      const timers = await wheel.list(p, {
        limit: perPartition,
        ...(filter.fromMs === undefined ? {} : { fromMs: filter.fromMs }),
        ...(filter.toMs === undefined ? {} : { toMs: filter.toMs }),
      });
      return timers.map((t): TimerRow => ({
        id: t.id,
        domain: p.domain,
        partition: p.index,
        dueMs: t.dueMs,
        version: t.version,
        type: t.event.type,
        key: t.event.key,
        eventId: t.event.id,
        targetGroup: t.event.targetGroup,
      }));
    }),
  );
  return lists
    .flat()
    .filter(
      (t) => filter.job === undefined || t.id.startsWith(`${filter.job}:`) || t.targetGroup === filter.job,
    )
    .sort((a, b) => a.dueMs - b.dueMs || a.id.localeCompare(b.id))
    .slice(0, limit);
}

/**
 * Cancels a timer wherever it is pending. With `at` (domain and partition), the cancel runs there even when the
 * timer is not pending, so its tombstone stops a schedule that arrives later.
 */
export async function cancelTimer(
  deps: TimerAdminDeps,
  domains: readonly DomainPartitions[],
  id: string,
  at?: { readonly domain: string; readonly partition: number },
): Promise<TimerCancelResult> {
  assertTimerId(id);
  const wheel = createTimerWheel({ redis: deps.redis, keys: deps.keys });
  const candidates =
    at === undefined ? partitionsOf(deps.keys, domains) : [deps.keys.partition(at.domain, at.partition)];
  const scores = await Promise.all(candidates.map((p) => deps.redis.zscore(p.timers, id)));
  const pendingIn = candidates.filter((_, i) => scores[i] !== null);
  const targets = at === undefined ? pendingIn : candidates;
  const results = await Promise.all(targets.map((p) => wheel.cancel(p, id)));
  return {
    id,
    status: results.includes('cancelled') ? 'cancelled' : 'absent',
    partitions: targets.map((p) => `${p.domain}:${p.index}`),
  };
}

function partitionsOf(
  keys: KeyBuilder,
  domains: readonly DomainPartitions[],
  only?: string,
): PartitionKeys[] {
  return domains
    .filter((d) => only === undefined || d.domain === only)
    .flatMap((d) => Array.from({ length: d.partitions }, (_, i) => keys.partition(d.domain, i)));
}
