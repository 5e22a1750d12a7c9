// The heartbeat: refreshes the idle time of every entry a consumer holds (handling or buffered) with the
// owner-checked heartbeat script, so slow handlers keep their entries and never look like dead consumers.
import type { Redis } from 'ioredis';
import type { PartitionKeys } from './keys.js';
import { queueScript, settledReplies } from './scripts.js';

export interface HeldEntries {
  /** Entry ids held per partition stream. */
  snapshot(): Map<PartitionKeys, string[]>;
}

export interface HeartbeatResult {
  /** Ids now owned by another consumer or acked, per partition. */
  readonly gone: Map<PartitionKeys, string[]>;
  /** Ids that were ours but whose entries were deleted from the stream: a data-loss alarm. */
  readonly lost: Map<PartitionKeys, string[]>;
  /** Partitions whose heartbeat failed; the others were refreshed. */
  readonly errors: unknown[];
}

function held(entries: HeldEntries): [PartitionKeys, string[]][] {
  return [...entries.snapshot()].filter(([, ids]) => ids.length > 0);
}

/** Sends one heartbeat round over every partition in one pipeline. */
export async function heartbeatOnce(
  redis: Redis,
  group: string,
  consumer: string,
  entries: HeldEntries,
): Promise<HeartbeatResult> {
  const result: HeartbeatResult = { gone: new Map(), lost: new Map(), errors: [] };
  const snapshot = held(entries);
  if (snapshot.length === 0) return result;
  const pipeline = redis.pipeline();
  for (const [partition, ids] of snapshot)
    queueScript(pipeline, 'heartbeat', [partition.stream], [group, consumer, ...ids]);
  settledReplies('heartbeat', await pipeline.exec()).forEach((reply, i) => {
    const partition = snapshot[i]?.[0];
    if (!partition) return;
    if (!reply.ok) {
      result.errors.push(reply.error);
      return;
    }
    const [gone, lost] = reply.value as [string[], string[]];
    if (gone.length > 0) result.gone.set(partition, gone);
    if (lost.length > 0) result.lost.set(partition, lost);
  });
  return result;
}

/** Hands held entries to other consumers at once (shutdown): a retry hint due now, failures unchanged. */
export async function releaseHeld(
  redis: Redis,
  group: string,
  consumer: string,
  entries: HeldEntries,
): Promise<number> {
  const snapshot = held(entries);
  if (snapshot.length === 0) return 0;
  const pipeline = redis.pipeline();
  for (const [partition, ids] of snapshot) {
    queueScript(pipeline, 'release', [partition.stream, partition.retry(group)], [group, consumer, ...ids]);
  }
  // one failing partition must not stop the others' release
  return settledReplies('release', await pipeline.exec()).reduce(
    (sum, r) => sum + (r.ok ? Number(r.value) : 0),
    0,
  );
}
