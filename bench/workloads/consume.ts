// Workload 2, consume no-op throughput: the stream/queue pre-filled, then one consumer at its best concurrency
// drains it with a handler that does nothing (fuze still parses the envelope, dedupe-checks and marks).
import { Redis } from 'ioredis';
import { outcome } from '../../src/streams/outcome.js';
import { measureConsumption } from '../systems/consumer.js';
import { bullConsumer, bullPrefill, bullQueue } from '../systems/bullmq.js';
import { fuzeConsumer, fuzePrefill, fuzeSetup } from '../systems/fuze.js';
import { rawConsumer, rawCreateGroup, rawPrefill } from '../systems/raw.js';
import type { RunContext, RunResult, SystemRunner, Workload } from '../workload.js';

const noop = async (): Promise<void> => undefined;

export async function consumeFuze(ctx: RunContext): Promise<RunResult> {
  const setup = fuzeSetup(ctx.redisUrl);
  try {
    await fuzePrefill(setup, ctx.events);
    const consumer = fuzeConsumer(setup, ctx, async () => outcome.ack(), ctx.events);
    return await measureConsumption(ctx, consumer, 'fuze consume');
  } finally {
    await setup.close();
  }
}

export async function consumeBullmq(ctx: RunContext): Promise<RunResult> {
  const queue = bullQueue(ctx.redisUrl);
  try {
    await bullPrefill(queue, ctx.events);
    const consumer = bullConsumer(ctx.redisUrl, ctx, noop, ctx.events);
    return await measureConsumption(ctx, consumer, 'bullmq consume');
  } finally {
    await queue.close();
  }
}

export async function consumeRaw(ctx: RunContext): Promise<RunResult> {
  const redis = new Redis(ctx.redisUrl);
  try {
    await rawCreateGroup(redis);
    await rawPrefill(redis, ctx.events);
    const consumer = rawConsumer(
      ctx.redisUrl,
      ctx,
      {
        batch: async (entries) => {
          await Promise.all(entries.map(noop));
        },
      },
      ctx.events,
    );
    return await measureConsumption(ctx, consumer, 'raw consume');
  } finally {
    await redis.quit();
  }
}

export const consumeRunners: Record<'fuze' | 'bullmq' | 'raw', SystemRunner> = {
  fuze: consumeFuze,
  bullmq: consumeBullmq,
  raw: consumeRaw,
};

export const workload: Workload = {
  name: 'consume',
  title: 'consume no-op, pre-filled, best concurrency',
  order: 2,
  kind: 'throughput',
  events: (base) => base,
  concurrency: {
    kind: 'tune',
    candidates: { fuze: [64, 256, 1000], bullmq: [16, 64, 256], raw: [100, 500, 2000] },
  },
  systems: consumeRunners,
};
