// The entries a runner holds (handling, waiting for a key, admission or tokens), per partition: what the heartbeat
// keeps alive and what shutdown releases. An entry held twice (a claim raced our own heartbeat) is taken once.
import type { Delivery } from '../streams/delivery.js';
import type { PartitionKeys } from '../streams/keys.js';

export interface HeldEntries {
  /** Holds the deliveries not held yet and returns them; the others are already in progress here. */
  hold(deliveries: readonly Delivery[]): Delivery[];
  /** Lets go of one delivery (its outcome is written or it was given up); true if it was held. */
  forget(delivery: Delivery): boolean;
  has(partition: PartitionKeys, entryId: string): boolean;
  count(): number;
  /** Entry ids held per partition, copied. */
  snapshot(): Map<PartitionKeys, string[]>;
}

export function createHeldEntries(partitions: readonly PartitionKeys[]): HeldEntries {
  const held = new Map<PartitionKeys, Set<string>>(partitions.map((p) => [p, new Set<string>()]));
  let count = 0;

  return {
    hold(deliveries) {
      const fresh: Delivery[] = [];
      for (const d of deliveries) {
        const set = held.get(d.partition);
        if (!set || set.has(d.entryId)) continue;
        set.add(d.entryId);
        count += 1;
        fresh.push(d);
      }
      return fresh;
    },
    forget(delivery) {
      const gone = held.get(delivery.partition)?.delete(delivery.entryId) ?? false;
      if (gone) count -= 1;
      return gone;
    },
    has: (partition, entryId) => held.get(partition)?.has(entryId) ?? false,
    count: () => count,
    snapshot: () => new Map([...held].map(([p, ids]) => [p, [...ids]])),
  };
}
