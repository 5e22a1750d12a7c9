// The group reader: creates a job's consumer group on its partition streams and reads new entries with one
// blocking XREADGROUP over all partitions (standalone Redis), on a connection of its own.
import type { Redis } from 'ioredis';
import { ValidationError } from '../errors.js';
import { splitBudget } from './budget.js';
import { entryOf, type Delivery } from './delivery.js';
import type { PartitionKeys } from './keys.js';

export interface GroupReaderOptions {
  /** Connection for commands (group creation, CLIENT UNBLOCK). */
  readonly redis: Redis;
  /** Dedicated connection: a blocking read holds it for up to `blockMs`. */
  readonly blockingRedis: Redis;
  readonly partitions: readonly PartitionKeys[];
  readonly group: string;
  readonly consumer: string;
  /** Where a newly created group starts: `$` (only new events, default), `0` or an id to backfill. */
  readonly startId?: string;
  readonly blockMs?: number;
}

export interface GroupReader {
  /** Creates the group on every partition stream if missing (MKSTREAM); never moves an existing group. */
  ensureGroup(): Promise<void>;
  /** Reads at most `max` new entries, blocking up to blockMs. */
  read(max: number): Promise<Delivery[]>;
  /** Ends a blocking read at once (shutdown). */
  unblock(): Promise<void>;
}

const START_ID = /^(\$|0|\d+(-\d+)?)$/;

export function createGroupReader(options: GroupReaderOptions): GroupReader {
  const { redis, blockingRedis, partitions, group, consumer } = options;
  const startId = options.startId ?? '$';
  const blockMs = options.blockMs ?? 2000;
  if (!START_ID.test(startId)) {
    throw new ValidationError(`group start id must be "$", "0" or a stream id, got "${startId}"`);
  }
  if (partitions.length === 0) throw new ValidationError('a group reader needs at least one partition');
  const byStream = new Map(partitions.map((p) => [p.stream, p]));
  const streams = partitions.map((p) => p.stream);
  let rotation = 0;
  let blockingClientId: number | undefined;
  // a reconnect gives the blocking connection a new client id: read it again before the next unblock
  blockingRedis.on('ready', () => (blockingClientId = undefined));

  function readGroup(count: number, keys: readonly string[], block: number | undefined) {
    const ids = keys.map(() => '>');
    const reply =
      block === undefined
        ? blockingRedis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', ...keys, ...ids)
        : blockingRedis.xreadgroup(
            'GROUP',
            group,
            consumer,
            'COUNT',
            count,
            'BLOCK',
            block,
            'STREAMS',
            ...keys,
            ...ids,
          );
    return reply as Promise<[string, unknown[]][] | null>;
  }

  function toDeliveries(reply: [string, unknown[]][] | null): Delivery[] {
    if (!reply) return [];
    const deliveries: Delivery[] = [];
    for (const [stream, entries] of reply) {
      const partition = byStream.get(stream);
      if (!partition) continue;
      for (const raw of entries) {
        const entry = entryOf(raw);
        if (entry) {
          deliveries.push({
            partition,
            entryId: entry.id,
            fields: entry.fields,
            failures: 0,
            deliveries: 1,
            source: 'new',
          });
        }
      }
    }
    return deliveries;
  }

  return {
    async ensureGroup() {
      await Promise.all(
        partitions.map(async (p) => {
          try {
            await redis.xgroup('CREATE', p.stream, group, startId, 'MKSTREAM');
          } catch (error) {
            if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
          }
        }),
      );
    },

    async read(max) {
      blockingClientId ??= await blockingRedis.client('ID');
      const budget = Math.max(1, max);
      if (budget >= partitions.length) {
        // an even share of every partition, blocking on all of them: never more than the budget
        return toDeliveries(await readGroup(Math.floor(budget / partitions.length), streams, blockMs));
      }
      // fewer slots than partitions: look at a rotating subset without blocking (never more than the budget),
      // then block on every partition with COUNT 1, so an entry in any partition wakes the read at once. A
      // blocked read is served from the one stream that woke it; only entries that arrive between the two
      // calls can make it return up to one per partition (the credit source absorbs that excess).
      const shares = splitBudget(budget, partitions.length, rotation++);
      const subset = streams.filter((_, i) => (shares[i] ?? 0) > 0);
      const ready = toDeliveries(await readGroup(1, subset, undefined));
      return ready.length > 0 ? ready : toDeliveries(await readGroup(1, streams, blockMs));
    },

    async unblock() {
      if (blockingClientId !== undefined) await redis.client('UNBLOCK', blockingClientId);
    },
  };
}
