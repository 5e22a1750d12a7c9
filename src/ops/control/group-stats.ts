// Operator stats: per domain and group, the stream figures of readStreamStats summed over partitions, with the
// job's control state (running, paused, draining); per domain, the stream and DLQ lengths.
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { KeyBuilder } from '../../streams/keys.js';
import type { RedisClient } from '../../streams/scripts.js';
import { readStreamStats } from '../../streams/stream-stats.js';
import type { StreamStats } from '../../streams/stream-stats.js';
import { createJobControl } from './job-control.js';
import type { JobState } from './job-control.js';
import { discoverStreams } from './stream-discovery.js';
import type { DiscoveredDomain } from './stream-discovery.js';

export interface GroupStats {
  readonly domain: string;
  readonly group: string;
  readonly state: JobState;
  /** Partition streams the group exists on (of `partitions`). */
  readonly partitionsWithGroup: number;
  readonly partitions: number;
  /** Entries in the domain's partition streams. */
  readonly length: number;
  /** Entries not yet delivered to the group. */
  readonly lag: number;
  readonly pending: number;
  /** Largest over partitions. */
  readonly oldestPendingAgeMs: number;
  /** Age of the oldest undelivered entry, largest over partitions. */
  readonly timeLagMs: number;
  readonly retryHintsDue: number;
  readonly retryHintsTotal: number;
  /** Dead letters of the domain (a partition's DLQ holds every group's). */
  readonly dlqLength: number;
  /** Most consumers on one partition stream (every consumer of a job reads all partitions). */
  readonly consumers: number;
  readonly byPartition: readonly StreamStats[];
}

export interface DomainStats {
  readonly domain: string;
  readonly partitions: number;
  readonly length: number;
  readonly dlqLength: number;
  readonly groups: readonly string[];
}

export interface OperatorStats {
  readonly domains: readonly DomainStats[];
  readonly groups: readonly GroupStats[];
}

export interface OperatorStatsDeps {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  readonly clock?: Clock;
}

export interface OperatorStatsOptions {
  readonly domain?: string;
  /** Only this group (job). */
  readonly group?: string;
}

/** Reads every domain and group Redis holds (or the filtered ones). */
export async function readOperatorStats(
  deps: OperatorStatsDeps,
  options: OperatorStatsOptions = {},
): Promise<OperatorStats> {
  const { redis, keys } = deps;
  const clock = deps.clock ?? systemClock;
  const discovered = await discoverStreams(redis, keys, options);
  const domains = await Promise.all(discovered.map((d) => domainStats(redis, keys, d)));
  const targets = discovered
    .map((d) => ({
      domain: d.domain,
      partitions: d.partitions,
      groups: d.groups.filter((g) => options.group === undefined || g === options.group),
    }))
    .filter((target) => target.groups.length > 0);
  const stats = targets.length === 0 ? [] : await readStreamStats(redis, keys, targets, clock);
  const names = [...new Set(targets.flatMap((t) => t.groups))];
  const control = createJobControl({ redis, keys, clock });
  const states = new Map((await control.getMany(names)).map((s) => [s.job, s.state]));
  const groups = targets.flatMap((target) =>
    target.groups.map((group) =>
      summarise(
        target.domain,
        target.partitions,
        group,
        states.get(group) ?? 'running',
        stats.filter((s) => s.domain === target.domain && s.group === group),
      ),
    ),
  );
  return { domains, groups };
}

async function domainStats(redis: RedisClient, keys: KeyBuilder, d: DiscoveredDomain): Promise<DomainStats> {
  const lengths = await Promise.all(
    Array.from({ length: d.partitions }, async (_, index) => {
      const p = keys.partition(d.domain, index);
      const [length, dlqLength] = await Promise.all([redis.xlen(p.stream), redis.xlen(p.dlq)]);
      return { length, dlqLength };
    }),
  );
  return {
    domain: d.domain,
    partitions: d.partitions,
    length: sum(lengths.map((l) => l.length)),
    dlqLength: sum(lengths.map((l) => l.dlqLength)),
    groups: d.groups,
  };
}

function summarise(
  domain: string,
  partitions: number,
  group: string,
  state: JobState,
  rows: readonly StreamStats[],
): GroupStats {
  const max = (pick: (s: StreamStats) => number): number => Math.max(0, ...rows.map(pick));
  const total = (pick: (s: StreamStats) => number): number => sum(rows.map(pick));
  return {
    domain,
    group,
    state,
    partitionsWithGroup: rows.filter((s) => s.exists).length,
    partitions,
    length: total((s) => s.length),
    lag: total((s) => s.lag),
    pending: total((s) => s.pending),
    oldestPendingAgeMs: max((s) => s.oldestPendingAgeMs),
    timeLagMs: max((s) => s.timeLagMs),
    retryHintsDue: total((s) => s.retryHintsDue),
    retryHintsTotal: total((s) => s.retryHintsTotal),
    dlqLength: total((s) => s.dlqLength),
    consumers: max((s) => s.consumers),
    byPartition: rows,
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
