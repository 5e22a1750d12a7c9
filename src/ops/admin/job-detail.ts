// What the job page shows from Redis beyond the stats: the group's consumers (merged over partitions: entries held,
// idle time) and its oldest pending entries (who holds them, for how long, delivered how often), one pipeline.
import type { RedisClient } from '../../streams/scripts.js';
import type { KeyBuilder } from '../../streams/keys.js';
import { compareStreamIds } from '../control/time-range.js';

export interface JobConsumer {
  readonly name: string;
  /** Pending entries it holds over every partition. */
  readonly pending: number;
  /** Smallest idle time over the partitions (ms since its last read or claim). */
  readonly idleMs: number;
  /** Smallest time since its last successful read (Redis >= 7.2), undefined when Redis does not tell. */
  readonly inactiveMs: number | undefined;
}

export interface PendingEntryRow {
  readonly partition: number;
  readonly entryId: string;
  readonly consumer: string;
  readonly idleMs: number;
  readonly deliveries: number;
}

export interface JobRedisDetail {
  readonly consumers: readonly JobConsumer[];
  /** The oldest pending entries over the partitions (by entry id), at most `limit`. */
  readonly pendingEntries: readonly PendingEntryRow[];
}

type Reply = [Error | null, unknown];

export async function readJobDetail(
  redis: RedisClient,
  keys: KeyBuilder,
  target: { readonly domain: string; readonly partitions: number; readonly group: string },
  limit = 50,
): Promise<JobRedisDetail> {
  const pipeline = redis.pipeline();
  for (let i = 0; i < target.partitions; i += 1) {
    const stream = keys.partition(target.domain, i).stream;
    pipeline.xinfo('CONSUMERS', stream, target.group);
    pipeline.xpending(stream, target.group, '-', '+', limit);
  }
  const replies = ((await pipeline.exec()) ?? []) as Reply[];
  const consumers = new Map<string, { pending: number; idleMs: number; inactiveMs: number | undefined }>();
  const pending: PendingEntryRow[] = [];
  for (let i = 0; i < target.partitions; i += 1) {
    const [infoError, info] = replies[2 * i] ?? [null, []];
    const [pendingError, rows] = replies[2 * i + 1] ?? [null, []];
    // a partition the group is not on (NOGROUP, no stream) has nothing to show
    if (infoError === null && Array.isArray(info)) {
      for (const flat of info as unknown[]) {
        const c = pairs(flat);
        const name = typeof c['name'] === 'string' ? c['name'] : '';
        const seen = consumers.get(name);
        const inactive = c['inactive'] === undefined ? undefined : Number(c['inactive']);
        const idle = Number(c['idle'] ?? 0);
        consumers.set(name, {
          pending: (seen?.pending ?? 0) + Number(c['pending'] ?? 0),
          idleMs: Math.min(seen?.idleMs ?? idle, idle),
          inactiveMs: minDefined(seen?.inactiveMs, inactive),
        });
      }
    }
    if (pendingError === null && Array.isArray(rows)) {
      for (const row of rows as unknown[]) {
        if (!Array.isArray(row)) continue;
        const [entryId, consumer, idle, deliveries] = row as unknown[];
        pending.push({
          partition: i,
          entryId: String(entryId),
          consumer: String(consumer),
          idleMs: Number(idle),
          deliveries: Number(deliveries),
        });
      }
    }
  }
  pending.sort((a, b) => compareStreamIds(a.entryId, b.entryId));
  return {
    consumers: [...consumers]
      .map(([name, c]) => ({ name, ...c }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    pendingEntries: pending.slice(0, limit),
  };
}

function pairs(flat: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
