// Workload 3, full pipeline: validate the payload with zod, dedupe, call a no-op sink, ack (fuze: with the dedupe
// mark in the same script). BullMQ's dedupe is its jobId at add; raw dedupes on a set checked per batch.
import { Redis } from 'ioredis';
import { outcome } from '../../src/streams/outcome.js';
import { betPayloadSchema, noopSink, type BetPayload } from '../payload.js';
import { measureConsumption } from '../systems/consumer.js';
import { bullConsumer, bullPrefill, bullQueue } from '../systems/bullmq.js';
import { FUZE_JOB, fuzeConsumer, fuzePrefill, fuzeSetup } from '../systems/fuze.js';
import { RAW_SEEN, rawConsumer, rawCreateGroup, rawPrefill, type RawEntry } from '../systems/raw.js';
import type { Workload } from '../workload.js';

export const workload: Workload = {
  name: 'pipeline',
  title: 'full pipeline: validate + dedupe + sink + ack, best concurrency',
  order: 4,
  kind: 'throughput',
  events: (base) => base,
  concurrency: { kind: 'best' },
  systems: {
    // a registered type with the strict bet schema; dedupe is always on in the runner
    async fuze(ctx) {
      const setup = fuzeSetup(ctx.redisUrl, betPayloadSchema);
      try {
        await fuzePrefill(setup, ctx.events);
        const consumer = fuzeConsumer(
          setup,
          ctx,
          async (event) => {
            await noopSink(event.data, `${FUZE_JOB}:${event.id}`);
            return outcome.ack();
          },
          ctx.events,
        );
        return await measureConsumption(ctx, consumer, 'fuze pipeline');
      } finally {
        await setup.close();
      }
    },
    async bullmq(ctx) {
      const queue = bullQueue(ctx.redisUrl);
      try {
        await bullPrefill(queue, ctx.events);
        const consumer = bullConsumer(
          ctx.redisUrl,
          ctx,
          async (job) => {
            const data = betPayloadSchema.parse(job.data);
            await noopSink(data, `${job.name}:${job.id ?? ''}`);
          },
          ctx.events,
        );
        return await measureConsumption(ctx, consumer, 'bullmq pipeline');
      } finally {
        await queue.close();
      }
    },
    async raw(ctx) {
      const redis = new Redis(ctx.redisUrl);
      const checker = new Redis(ctx.redisUrl);
      try {
        await rawCreateGroup(redis);
        await rawPrefill(redis, ctx.events);
        const consumer = rawConsumer(
          ctx.redisUrl,
          ctx,
          {
            async batch(entries: RawEntry[]) {
              const payloads: BetPayload[] = entries.map((e) => betPayloadSchema.parse(JSON.parse(e.data)));
              const seen = await checker.smismember(RAW_SEEN, ...entries.map((e) => e.id));
              const calls: Promise<void>[] = [];
              entries.forEach((e, i) => {
                if (seen[i] !== 1) calls.push(noopSink(payloads[i]!, `raw:${e.id}`));
              });
              await Promise.all(calls);
            },
            beforeAck(pipeline, entries) {
              pipeline.sadd(RAW_SEEN, ...entries.map((e) => e.id));
            },
          },
          ctx.events,
        );
        return await measureConsumption(ctx, consumer, 'raw pipeline');
      } finally {
        await Promise.all([redis.quit(), checker.quit()]);
      }
    },
  },
};
