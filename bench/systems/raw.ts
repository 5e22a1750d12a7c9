// The baseline: hand-written ioredis on one stream. XADD `id` + `data` fields; one consumer loop that reads
// COUNT n with XREADGROUP, runs the handler on the batch and sends the batch's XACK pipelined with the next read.
import { Redis, type ChainableCommander } from 'ioredis';
import { betPayload, eventIds } from '../payload.js';
import { Completion, inBatches } from '../util.js';
import type { RunContext } from '../workload.js';
import type { BenchConsumer } from './consumer.js';

export const RAW_STREAM = 'bench:events';
export const RAW_GROUP = 'bench';
export const RAW_SEEN = 'bench:seen';

export interface RawEntry {
  readonly entryId: string;
  /** The event id field. */
  readonly id: string;
  /** The payload JSON text. */
  readonly data: string;
}

export function rawFields(): (i: number, sentAt?: number) => [string, string, string, string] {
  const nextId = eventIds();
  return (i, sentAt = 0) => ['id', nextId(), 'data', JSON.stringify(betPayload(i, sentAt))];
}

export async function rawCreateGroup(redis: Redis): Promise<void> {
  await redis.xgroup('CREATE', RAW_STREAM, RAW_GROUP, '0', 'MKSTREAM');
}

/** XADDs of entries 0..n-1, 1000 per pipeline, 4 pipelines in flight (not measured). */
export async function rawPrefill(redis: Redis, n: number): Promise<void> {
  const fields = rawFields();
  await inBatches(n, 1000, 4, async (start, count) => {
    const pipeline = redis.pipeline();
    for (let k = 0; k < count; k++) pipeline.xadd(RAW_STREAM, '*', ...fields(start + k));
    await pipeline.exec();
  });
}

export interface RawHandler {
  /** Handles one read batch; returns nothing to ack all of it. */
  batch(entries: RawEntry[]): Promise<void>;
  /** Extra writes sent in the pipeline before the batch's XACK (e.g. dedupe marks). */
  beforeAck?(pipeline: ChainableCommander, entries: RawEntry[]): void;
}

/** One consumer loop on its own connection; ctx.concurrency is the COUNT of each read. */
export function rawConsumer(
  url: string,
  ctx: RunContext,
  handler: RawHandler,
  expected: number,
): BenchConsumer {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  const completion = new Completion(expected);
  const errors: unknown[] = [];
  let stopped = false;
  let loop: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  async function run(): Promise<void> {
    let toAck: RawEntry[] = [];
    let handled = 0;
    while (!stopped) {
      const pipeline = redis.pipeline();
      if (toAck.length > 0) {
        handler.beforeAck?.(pipeline, toAck);
        pipeline.xack(RAW_STREAM, RAW_GROUP, ...toAck.map((e) => e.entryId));
      }
      // the harness knows the count: no read (and no idle BLOCK) after the last entry is handled
      const read = handled < expected;
      if (read) {
        pipeline.xreadgroup(
          'GROUP',
          RAW_GROUP,
          'c1',
          'COUNT',
          ctx.concurrency,
          'BLOCK',
          500,
          'STREAMS',
          RAW_STREAM,
          '>',
        );
      }
      const replies = (await pipeline.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
      if (toAck.length > 0) completion.add(toAck.length);
      if (!read) return;
      toAck = entriesOf(replies[replies.length - 1]?.[1]);
      if (toAck.length > 0) {
        await handler.batch(toAck);
        handled += toAck.length;
      }
    }
  }

  return {
    completion,
    errors,
    ready: async () => {
      await redis.ping();
    },
    async start() {
      loop = run().catch((error: unknown) => {
        if (!stopped) errors.push(error);
      });
    },
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        redis.disconnect();
        await loop;
      })()),
  };
}

function entriesOf(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply)) return [];
  const out: RawEntry[] = [];
  for (const [, entries] of reply as [string, [string, string[]][]][]) {
    for (const [entryId, fields] of entries) {
      let id = '';
      let data = '';
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i] === 'id') id = fields[i + 1]!;
        else if (fields[i] === 'data') data = fields[i + 1]!;
      }
      out.push({ entryId, id, data });
    }
  }
  return out;
}
