// The heartbeat: refreshes the idle time of every entry a consumer holds (handling or buffered) with the
// owner-checked heartbeat script, so slow handlers keep their entries and never look like dead consumers.
import type { Redis } from 'ioredis';
import type { PartitionKeys } from './keys.js';
import { checkScriptResult, pipelineResults, queueScript } from './scripts.js';

export interface HeldEntries {
  /** Entry ids held per partition stream. */
  snapshot(): Map<PartitionKeys, string[]>;
}

/** Sends one heartbeat round; returns the ids no longer owned by this consumer, per partition. */
export async function heartbeatOnce(
  redis: Redis,
  group: string,
  consumer: string,
  held: HeldEntries,
): Promise<Map<PartitionKeys, string[]>> {
  const snapshot = [...held.snapshot()].filter(([, ids]) => ids.length > 0);
  const gone = new Map<PartitionKeys, string[]>();
  if (snapshot.length === 0) return gone;
  const pipeline = redis.pipeline();
  for (const [partition, ids] of snapshot)
    queueScript(pipeline, 'heartbeat', [partition.stream], [group, consumer, ...ids]);
  const replies = pipelineResults(await pipeline.exec());
  replies.forEach((reply, i) => {
    const ids = checkScriptResult('heartbeat', reply);
    const entry = snapshot[i];
    if (entry && Array.isArray(ids) && ids.length > 0) gone.set(entry[0], ids as string[]);
  });
  return gone;
}

/** Hands held entries to other consumers at once (shutdown): a retry hint due now, failures unchanged. */
export async function releaseHeld(
  redis: Redis,
  group: string,
  consumer: string,
  held: HeldEntries,
): Promise<number> {
  const snapshot = [...held.snapshot()].filter(([, ids]) => ids.length > 0);
  if (snapshot.length === 0) return 0;
  const pipeline = redis.pipeline();
  for (const [partition, ids] of snapshot) {
    queueScript(pipeline, 'release', [partition.stream, partition.retry(group)], [group, consumer, ...ids]);
  }
  const replies = pipelineResults(await pipeline.exec());
  return replies.reduce<number>((sum, reply) => sum + Number(checkScriptResult('release', reply)), 0);
}
