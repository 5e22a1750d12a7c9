// The reclaimer: retries are pending entries whose hint is due (claim-due), and entries of dead consumers
// idle past the claim floor (claim-idle). Ids XCLAIM did not return are deleted entries: a data-loss alarm.
import type { Redis } from 'ioredis';
import { entryOf, type Delivery } from './delivery.js';
import type { PartitionKeys } from './keys.js';
import { splitBudget } from './budget.js';
import { queueScript, settledReplies } from './scripts.js';

export interface ReclaimResult {
  readonly deliveries: Delivery[];
  /** Entry ids that were pending but are gone from their stream, per partition stream. */
  readonly lost: { stream: string; ids: string[] }[];
  /** ms until the next retry hint is due over all partitions (claim-due only; -1 = none). */
  readonly nextDueMs: number;
  /** Partitions whose call failed; the others' claims are kept. */
  readonly errors: unknown[];
}

export interface Reclaimer {
  /** Claims at most `budget` entries in all, spread over the partitions. */
  claimDue(budget: number): Promise<ReclaimResult>;
  claimIdle(budget: number): Promise<ReclaimResult>;
}

export interface ReclaimerOptions {
  readonly redis: Redis;
  readonly partitions: readonly PartitionKeys[];
  readonly group: string;
  readonly consumer: string;
  /** Idle time after which another consumer's entry is presumed abandoned. */
  readonly claimFloorMs: number;
  /** Pending entries scanned per partition per claim-idle call. */
  readonly maxScan?: number;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function createReclaimer(options: ReclaimerOptions): Reclaimer {
  const { redis, partitions, group, consumer, claimFloorMs } = options;
  const maxScan = options.maxScan ?? 1000;

  // one rotation per kind: shared, two kinds polling in turn would each see only half of the partitions
  const rotation = { claimDue: 0, claimIdle: 0 };

  async function run(kind: 'claimDue' | 'claimIdle', budget: number): Promise<ReclaimResult> {
    const shares = splitBudget(Math.max(1, budget), partitions.length, rotation[kind]++);
    const asked = partitions.filter((_, i) => (shares[i] ?? 0) > 0);
    const pipeline = redis.pipeline();
    partitions.forEach((p, i) => {
      const share = shares[i] ?? 0;
      if (share === 0) return;
      const keys = [p.stream, p.retry(group), p.failures(group)];
      const args =
        kind === 'claimDue' ? [group, consumer, share] : [group, consumer, claimFloorMs, share, maxScan];
      queueScript(pipeline, kind, keys, args);
    });
    const replies = settledReplies(kind, await pipeline.exec());
    const deliveries: Delivery[] = [];
    const lost: { stream: string; ids: string[] }[] = [];
    const errors: unknown[] = [];
    let nextDueMs = -1;
    replies.forEach((reply, i) => {
      const partition = asked[i];
      if (!partition) return;
      if (!reply.ok) {
        errors.push(reply.error);
        return;
      }
      const parts = asArray(reply.value);
      const entries = asArray(parts[0]);
      const failures = asArray(parts[1]);
      const counts = kind === 'claimIdle' ? asArray(parts[2]) : [];
      const lostIds = asArray(kind === 'claimIdle' ? parts[3] : parts[2]) as string[];
      entries.forEach((raw, j) => {
        const entry = entryOf(raw);
        if (!entry) return;
        deliveries.push({
          partition,
          entryId: entry.id,
          fields: entry.fields,
          failures: Number(failures[j] ?? 0),
          deliveries: kind === 'claimIdle' ? Number(counts[j] ?? 1) : 0,
          source: kind === 'claimDue' ? 'retry' : 'claimed',
        });
      });
      if (lostIds.length > 0) lost.push({ stream: partition.stream, ids: lostIds });
      if (kind === 'claimDue') {
        const next = Number(parts[3] ?? -1);
        if (next >= 0 && (nextDueMs < 0 || next < nextDueMs)) nextDueMs = next;
      }
    });
    return { deliveries, lost, nextDueMs, errors };
  }

  return {
    claimDue: (budget) => run('claimDue', budget),
    claimIdle: (budget) => run('claimIdle', budget),
  };
}
