// Workload 4, end-to-end latency: publish at a fixed rate (5k/s for 10 s) while one consumer runs; latency is
// handler done minus the event's intended publish time (so a producer that falls behind is counted, not hidden).
import { Redis } from 'ioredis';
import { outcome } from '../../src/streams/outcome.js';
import { sentAtOf, type BetPayload } from '../payload.js';
import { summarizeLatency } from '../stats.js';
import type { BenchConsumer } from '../systems/consumer.js';
import { bullConsumer, bullJobs, bullQueue } from '../systems/bullmq.js';
import { fuzeConsumer, fuzeSetup } from '../systems/fuze.js';
import { RAW_STREAM, rawConsumer, rawCreateGroup, rawFields } from '../systems/raw.js';
import { Completion, sleep, sleepUntil } from '../util.js';
import type { RunContext, RunResult, Workload } from '../workload.js';

export const LATENCY_RATE = 5_000;
const DURATION_S = 10;
const QUICK_DURATION_S = 2;
/** Time allowed after the schedule ends for the consumer to catch up before the run counts as failed. */
const DRAIN_MS = 30_000;

/** Records handler-done latencies; one per event. */
class LatencyRecorder {
  readonly samples: Float64Array;
  readonly done: Completion;

  constructor(readonly expected: number) {
    this.samples = new Float64Array(expected);
    this.done = new Completion(expected);
  }

  record(payload: { sentAt: string }): void {
    if (this.done.count < this.expected)
      this.samples[this.done.count] = performance.now() - sentAtOf(payload);
    this.done.add();
  }
}

/**
 * Starts the consumer, then publishes ctx.events at LATENCY_RATE with `send(start, count, t0)` (event i is due at
 * t0 + i / rate and carries that time), and waits until every handler ran.
 */
async function measureLatency(
  ctx: RunContext,
  recorder: LatencyRecorder,
  consumer: BenchConsumer,
  send: (start: number, count: number, t0: number) => Promise<unknown>,
): Promise<RunResult> {
  const n = ctx.events;
  const interval = 1000 / LATENCY_RATE;
  try {
    await consumer.ready();
    await consumer.start();
    await sleep(200); // the first blocking read is in place before the clock starts
    await ctx.meter.begin();
    const t0 = performance.now() + 2;
    let sent = 0;
    while (sent < n) {
      const due = Math.min(n, Math.floor((performance.now() - t0) / interval) + 1);
      if (due > sent) {
        await send(sent, due - sent, t0);
        sent = due;
      } else {
        await sleepUntil(t0 + sent * interval);
      }
    }
    const publishedAt = performance.now();
    await recorder.done.wait(n * interval + DRAIN_MS, 'latency consumer');
    const seconds = await ctx.meter.end();
    if (consumer.errors.length > 0) throw new Error(`consumer errors: ${String(consumer.errors[0])}`);
    const span = Math.max(n * interval, recorder.done.lastAt - t0) / 1000;
    const publishedRate = n / (Math.max(n * interval, publishedAt - t0) / 1000);
    const latency = summarizeLatency(
      recorder.samples,
      Math.min(n, recorder.done.count),
      n,
      LATENCY_RATE,
      span,
      publishedRate,
    );
    return { events: recorder.done.count, seconds, latency, longestPauseMs: recorder.done.longestPauseMs };
  } finally {
    await consumer.stop();
  }
}

const sentAtFor = (t0: number, i: number): number => t0 + (i * 1000) / LATENCY_RATE;

export const workload: Workload = {
  name: 'latency',
  title: `end-to-end latency at ${LATENCY_RATE / 1000}k/s, best concurrency`,
  order: 5,
  kind: 'latency',
  events: (_base, quick) => LATENCY_RATE * (quick ? QUICK_DURATION_S : DURATION_S),
  concurrency: { kind: 'best' },
  systems: {
    async fuze(ctx) {
      const setup = fuzeSetup(ctx.redisUrl);
      const recorder = new LatencyRecorder(ctx.events);
      try {
        const consumer = fuzeConsumer(
          setup,
          ctx,
          async (event) => {
            recorder.record(event.data);
            return outcome.ack();
          },
          ctx.events,
        );
        return await measureLatency(ctx, recorder, consumer, (start, count, t0) =>
          setup.publisher.publishBatch(
            Array.from({ length: count }, (_, k) => setup.event(start + k, sentAtFor(t0, start + k))),
          ),
        );
      } finally {
        await setup.close();
      }
    },
    async bullmq(ctx) {
      const queue = bullQueue(ctx.redisUrl);
      const job = bullJobs();
      const recorder = new LatencyRecorder(ctx.events);
      try {
        await queue.waitUntilReady();
        const consumer = bullConsumer(ctx.redisUrl, ctx, async (j) => recorder.record(j.data), ctx.events);
        return await measureLatency(ctx, recorder, consumer, (start, count, t0) =>
          queue.addBulk(Array.from({ length: count }, (_, k) => job(start + k, sentAtFor(t0, start + k)))),
        );
      } finally {
        await queue.close();
      }
    },
    async raw(ctx) {
      const redis = new Redis(ctx.redisUrl);
      const fields = rawFields();
      const recorder = new LatencyRecorder(ctx.events);
      try {
        await rawCreateGroup(redis);
        const consumer = rawConsumer(
          ctx.redisUrl,
          ctx,
          {
            async batch(entries) {
              await Promise.all(entries.map(async (e) => recorder.record(JSON.parse(e.data) as BetPayload)));
            },
          },
          ctx.events,
        );
        return await measureLatency(ctx, recorder, consumer, async (start, count, t0) => {
          const pipeline = redis.pipeline();
          for (let k = 0; k < count; k++)
            pipeline.xadd(RAW_STREAM, '*', ...fields(start + k, sentAtFor(t0, start + k)));
          await pipeline.exec();
        });
      } finally {
        await redis.quit();
      }
    },
  },
};
