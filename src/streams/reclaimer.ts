// The reclaimer: retries are pending entries whose hint is due (claim-due), and entries of dead consumers
// idle past the claim floor (claim-idle). Ids XCLAIM did not return are deleted entries: a data-loss alarm.
import type { Redis } from 'ioredis';
import { entryOf, type Delivery } from './delivery.js';
import type { PartitionKeys } from './keys.js';
import { checkScriptResult, pipelineResults, queueScript } from './scripts.js';

export interface ReclaimResult {
  readonly deliveries: Delivery[];
  /** Entry ids that were pending but are gone from their stream, per partition stream. */
  readonly lost: { stream: string; ids: string[] }[];
  /** ms until the next retry hint is due over all partitions (claim-due only; -1 = none). */
  readonly nextDueMs: number;
}

export interface Reclaimer {
  claimDue(perPartition: number): Promise<ReclaimResult>;
  claimIdle(perPartition: number): Promise<ReclaimResult>;
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

  async function run(kind: 'claimDue' | 'claimIdle', perPartition: number): Promise<ReclaimResult> {
    const pipeline = redis.pipeline();
    for (const p of partitions) {
      const keys = [p.stream, p.retry(group), p.failures(group)];
      const args =
        kind === 'claimDue'
          ? [group, consumer, perPartition]
          : [group, consumer, claimFloorMs, perPartition, maxScan];
      queueScript(pipeline, kind, keys, args);
    }
    const replies = pipelineResults(await pipeline.exec());
    const deliveries: Delivery[] = [];
    const lost: { stream: string; ids: string[] }[] = [];
    let nextDueMs = -1;
    replies.forEach((reply, i) => {
      const partition = partitions[i];
      if (!partition) return;
      const parts = asArray(checkScriptResult(kind, reply));
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
    return { deliveries, lost, nextDueMs };
  }

  return {
    claimDue: (perPartition) => run('claimDue', perPartition),
    claimIdle: (perPartition) => run('claimIdle', perPartition),
  };
}
