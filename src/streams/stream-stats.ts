// The lag/stats reader of DESIGN.md §8: per partition stream and group, length, lag, pending, ages, retry hints,
// DLQ size and consumers, read in pipelined batches (no per-partition round trips) for metrics, CLI and dashboard.
import { Cluster } from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { ScriptError, ValidationError } from '../errors.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import type { KeyBuilder, PartitionKeys } from './keys.js';
import type { RedisClient } from './scripts.js';

export interface StreamStatsTarget {
  domain: string;
  /** The domain's partition count. */
  partitions: number;
  groups: readonly string[];
}

export interface StreamStats {
  domain: string;
  partition: number;
  stream: string;
  group: string;
  /** False when the group is not (yet) on the stream: every figure of the group is then zero. */
  exists: boolean;
  length: number;
  /** Entries not yet delivered to the group (XINFO GROUPS lag, counted when Redis cannot tell). */
  lag: number;
  pending: number;
  oldestPendingAgeMs: number;
  /** Age of the oldest undelivered entry, 0 when none. */
  timeLagMs: number;
  retryHintsDue: number;
  retryHintsTotal: number;
  dlqLength: number;
  consumers: number;
  lastDeliveredId: string | null;
}

/**
 * When Redis reports no lag (entries deleted after the group's position), it is counted with XRANGE up to this
 * many entries; past it the lag shown is a lower bound, which is enough to alarm and scale on.
 */
export const COUNTED_LAG_LIMIT = 10_000;

type Reply = [Error | null, unknown];

interface GroupInfo {
  consumers: number;
  lastDeliveredId: string;
  lag: number | null;
}

/** Reads the figures of every (partition, group) of the targets: one pipelined trip, plus one for undelivered ages. */
export async function readStreamStats(
  redis: RedisClient,
  keys: KeyBuilder,
  targets: readonly StreamStatsTarget[],
  clock: Clock = systemClock,
): Promise<StreamStats[]> {
  const partitions = targets.flatMap((target) => partitionsOf(keys, target));
  const now = clock.now();

  // Trip 1: everything that does not depend on a group's last-delivered id.
  const first = await execPerPartition(
    redis,
    partitions.map(({ keys: p, groups }) => (pipeline) => {
      pipeline.xlen(p.stream).xinfo('GROUPS', p.stream).xlen(p.dlq);
      for (const group of groups) {
        pipeline.xpending(p.stream, group).zcount(p.retry(group), '-inf', now).zcard(p.retry(group));
      }
    }),
  );

  const stats: StreamStats[] = [];
  const undelivered: { stats: StreamStats; counted: boolean }[] = [];
  partitions.forEach(({ target, keys: p, groups }, i) => {
    const replies = first[i] ?? [];
    const length = integer(value(replies[0]));
    const infos = groupInfos(replies[1]);
    const dlqLength = integer(value(replies[2]));
    groups.forEach((group, g) => {
      const [pendingReply, dueReply, totalReply] = replies.slice(3 + g * 3, 6 + g * 3);
      const info = infos.get(group);
      const summary = pendingSummary(pendingReply);
      const entry: StreamStats = {
        domain: target.domain,
        partition: p.index,
        stream: p.stream,
        group,
        exists: info !== undefined && summary !== undefined,
        length,
        lag: 0,
        pending: 0,
        oldestPendingAgeMs: 0,
        timeLagMs: 0,
        retryHintsDue: integer(value(dueReply)),
        retryHintsTotal: integer(value(totalReply)),
        dlqLength,
        consumers: 0,
        lastDeliveredId: null,
      };
      if (info !== undefined && summary !== undefined) {
        entry.consumers = info.consumers;
        entry.lastDeliveredId = info.lastDeliveredId;
        entry.pending = summary.count;
        entry.oldestPendingAgeMs = summary.oldestId === null ? 0 : ageMs(summary.oldestId, now);
        if (info.lag === null) undelivered.push({ stats: entry, counted: true });
        else {
          entry.lag = info.lag;
          if (info.lag > 0) undelivered.push({ stats: entry, counted: false });
        }
      }
      stats.push(entry);
    });
  });

  // Trip 2, only when some group has undelivered entries: the first one after its last-delivered id.
  if (undelivered.length > 0) {
    const second = await execPerPartition(
      redis,
      undelivered.map(({ stats: s, counted }) => (pipeline) => {
        pipeline.xrange(
          s.stream,
          `(${s.lastDeliveredId ?? '0-0'}`,
          '+',
          'COUNT',
          counted ? COUNTED_LAG_LIMIT : 1,
        );
      }),
    );
    undelivered.forEach(({ stats: s, counted }, i) => {
      const entries = value(second[i]?.[0]);
      if (!Array.isArray(entries)) throw unexpected('XRANGE', entries);
      const oldest: unknown = entries[0];
      if (Array.isArray(oldest) && typeof oldest[0] === 'string') s.timeLagMs = ageMs(oldest[0], now);
      if (counted) s.lag = entries.length;
    });
  }
  return stats;
}

interface PartitionTarget {
  target: StreamStatsTarget;
  keys: PartitionKeys;
  groups: readonly string[];
}

function partitionsOf(keys: KeyBuilder, target: StreamStatsTarget): PartitionTarget[] {
  if (!Number.isInteger(target.partitions) || target.partitions < 1) {
    throw new ValidationError(
      `partitions of domain "${target.domain}" must be a positive integer, got ${target.partitions}`,
      [{ path: 'partitions', message: 'expected an integer >= 1' }],
    );
  }
  return Array.from({ length: target.partitions }, (_, index) => {
    const partition = keys.partition(target.domain, index);
    for (const group of target.groups) partition.retry(group); // validates the group name before any I/O
    return { target, keys: partition, groups: target.groups };
  });
}

/**
 * Runs one batch of commands per partition: all in one pipeline on a single server; on a cluster one pipeline per
 * partition (its keys share a hash slot), sent concurrently. Returns each batch's raw replies.
 */
async function execPerPartition(
  redis: RedisClient,
  batches: readonly ((pipeline: ChainableCommander) => void)[],
): Promise<Reply[][]> {
  if (redis instanceof Cluster) {
    return Promise.all(
      batches.map(async (batch) => {
        const pipeline = redis.pipeline();
        batch(pipeline);
        return (await pipeline.exec()) ?? [];
      }),
    );
  }
  const pipeline = redis.pipeline();
  const sizes = batches.map((batch) => {
    const before = pipeline.length;
    batch(pipeline);
    return pipeline.length - before;
  });
  const replies = (await pipeline.exec()) ?? [];
  let offset = 0;
  return sizes.map((size) => replies.slice(offset, (offset += size)));
}

function value(reply: Reply | undefined): unknown {
  if (reply === undefined) throw unexpected('pipeline', 'a missing reply');
  if (reply[0]) throw reply[0];
  return reply[1];
}

/** XINFO GROUPS as a map by name; a stream that does not exist yet has no groups. */
function groupInfos(reply: Reply | undefined): Map<string, GroupInfo> {
  const infos = new Map<string, GroupInfo>();
  if (reply?.[0] && /no such key/i.test(reply[0].message)) return infos;
  const groups = value(reply);
  if (!Array.isArray(groups)) throw unexpected('XINFO GROUPS', groups);
  for (const flat of groups as unknown[]) {
    if (!Array.isArray(flat)) throw unexpected('XINFO GROUPS', flat);
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1]);
    const name = fields.get('name');
    const lastDeliveredId = fields.get('last-delivered-id');
    const lag = fields.get('lag');
    if (typeof name !== 'string' || typeof lastDeliveredId !== 'string')
      throw unexpected('XINFO GROUPS', flat);
    infos.set(name, {
      consumers: integer(fields.get('consumers')),
      lastDeliveredId,
      lag: lag === null || lag === undefined ? null : integer(lag),
    });
  }
  return infos;
}

/** XPENDING summary; undefined when the group (or the stream) does not exist. */
function pendingSummary(reply: Reply | undefined): { count: number; oldestId: string | null } | undefined {
  if (reply?.[0]?.message.startsWith('NOGROUP')) return undefined;
  const summary = value(reply);
  if (!Array.isArray(summary)) throw unexpected('XPENDING', summary);
  const oldest: unknown = summary[1];
  return { count: integer(summary[0]), oldestId: typeof oldest === 'string' ? oldest : null };
}

/** Entry ids start with their Redis-time ms; a clock behind Redis yields 0, never a negative age. */
function ageMs(id: string, now: number): number {
  return Math.max(0, now - Number(id.slice(0, id.indexOf('-'))));
}

function integer(raw: unknown): number {
  const n = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw unexpected('integer', raw);
  return n;
}

function unexpected(what: string, reply: unknown): ScriptError {
  return new ScriptError('stream-stats', 0, `unexpected ${what} reply from Redis: ${JSON.stringify(reply)}`);
}
