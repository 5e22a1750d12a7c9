// Workload 1, publish throughput: batches of 100 events, 4 batches in flight, same payload for every system.
import { fuzeSetup } from '../systems/fuze.js';
import { bullJobs, bullQueue } from '../systems/bullmq.js';
import { rawFields, RAW_STREAM } from '../systems/raw.js';
import { Redis } from 'ioredis';
import { inBatches } from '../util.js';
import type { Workload } from '../workload.js';

const BATCH = 100;
const IN_FLIGHT = 4;

export const workload: Workload = {
  name: 'publish',
  title: `publish, batches of ${BATCH} (${IN_FLIGHT} in flight)`,
  order: 1,
  kind: 'throughput',
  events: (base) => Math.max(BATCH, Math.round(base / 2)),
  concurrency: { kind: 'fixed', values: { fuze: IN_FLIGHT, bullmq: IN_FLIGHT, raw: IN_FLIGHT } },
  systems: {
    // createPublisher.publishBatch: validation, encoding, one idempotent publish script per partition
    async fuze(ctx) {
      const setup = fuzeSetup(ctx.redisUrl);
      try {
        await setup.redis.ping();
        await ctx.meter.begin();
        await inBatches(ctx.events, BATCH, IN_FLIGHT, (start, count) =>
          setup.publisher.publishBatch(Array.from({ length: count }, (_, k) => setup.event(start + k))),
        );
        return { events: ctx.events, seconds: await ctx.meter.end() };
      } finally {
        await setup.close();
      }
    },
    // Queue.addBulk with jobId = event id
    async bullmq(ctx) {
      const queue = bullQueue(ctx.redisUrl);
      const job = bullJobs();
      try {
        await queue.waitUntilReady();
        await ctx.meter.begin();
        await inBatches(ctx.events, BATCH, IN_FLIGHT, (start, count) =>
          queue.addBulk(Array.from({ length: count }, (_, k) => job(start + k))),
        );
        return { events: ctx.events, seconds: await ctx.meter.end() };
      } finally {
        await queue.close();
      }
    },
    // a pipeline of plain XADDs per batch
    async raw(ctx) {
      const redis = new Redis(ctx.redisUrl);
      const fields = rawFields();
      try {
        await redis.ping();
        await ctx.meter.begin();
        await inBatches(ctx.events, BATCH, IN_FLIGHT, async (start, count) => {
          const pipeline = redis.pipeline();
          for (let k = 0; k < count; k++) pipeline.xadd(RAW_STREAM, '*', ...fields(start + k));
          const replies = (await pipeline.exec()) ?? [];
          for (const [error] of replies) if (error) throw error;
        });
        return { events: ctx.events, seconds: await ctx.meter.end() };
      } finally {
        await redis.quit();
      }
    },
  },
};
