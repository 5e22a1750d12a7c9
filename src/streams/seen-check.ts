// The dedupe lookup against Redis: which events of a batch the group already marked done within the dedupe
// window; one pipeline per batch, one script call per partition.
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { DedupeWindow } from './dedupe-window.js';
import type { Delivery } from './delivery.js';
import type { PartitionKeys } from './keys.js';
import { checkScriptResult, pipelineResults, queueScript } from './scripts.js';

export interface SeenCheckOptions {
  readonly redis: Redis;
  readonly group: string;
  readonly dedupe: DedupeWindow;
  readonly clock: Clock;
}

/** Returns, in order, whether each item's event id is marked done (scripts must be defined on `redis`). */
export function createSeenCheck(
  options: SeenCheckOptions,
): (items: readonly { delivery: Delivery; event: { id: string } }[]) => Promise<boolean[]> {
  const { redis, group, dedupe, clock } = options;
  return async (items) => {
    const buckets = dedupe.bucketsAt(clock.now());
    const byPartition = new Map<PartitionKeys, number[]>();
    items.forEach((item, i) => {
      const list = byPartition.get(item.delivery.partition) ?? [];
      list.push(i);
      byPartition.set(item.delivery.partition, list);
    });
    const pipeline = redis.pipeline();
    const order = [...byPartition];
    for (const [partition, indexes] of order) {
      queueScript(
        pipeline,
        'seenCheck',
        buckets.map((b) => partition.seen(group, b)),
        indexes.map((i) => items[i]?.event.id ?? ''),
      );
    }
    const replies = pipelineResults(await pipeline.exec());
    const seen = new Array<boolean>(items.length).fill(false);
    replies.forEach((reply, r) => {
      const flags = checkScriptResult('seenCheck', reply) as number[];
      order[r]?.[1].forEach((itemIndex, j) => (seen[itemIndex] = flags[j] === 1));
    });
    return seen;
  };
}
