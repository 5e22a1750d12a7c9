// BullMQ as the workloads drive it: one queue, jobs carrying the same payload with jobId = event id (its own
// idempotent add), removed on completion (its fastest common setting), one Worker with a tuned concurrency.
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { betPayload, EVENT_TYPE, eventIds, type BetPayload } from '../payload.js';
import { Completion, inBatches } from '../util.js';
import type { RunContext } from '../workload.js';
import type { BenchConsumer } from './consumer.js';

export const BULL_QUEUE = 'bench';

export function bullConnection(url: string): ConnectionOptions {
  const { hostname, port } = new URL(url);
  // BullMQ requires maxRetriesPerRequest: null on worker connections
  return { host: hostname, port: Number(port), maxRetriesPerRequest: null };
}

export interface BullJobSpec {
  readonly name: string;
  readonly data: BetPayload;
  readonly opts: { jobId: string; removeOnComplete: true; removeOnFail: true };
}

export function bullJobs(): (i: number, sentAt?: number) => BullJobSpec {
  const nextId = eventIds();
  return (i, sentAt = 0) => ({
    name: EVENT_TYPE,
    data: betPayload(i, sentAt),
    opts: { jobId: nextId(), removeOnComplete: true, removeOnFail: true },
  });
}

export function bullQueue(url: string): Queue<BetPayload> {
  return new Queue<BetPayload>(BULL_QUEUE, { connection: bullConnection(url) });
}

/** addBulk of jobs 0..n-1 in batches of 1000, 4 in flight (not measured). */
export async function bullPrefill(queue: Queue<BetPayload>, n: number): Promise<void> {
  const job = bullJobs();
  await inBatches(n, 1000, 4, (start, count) =>
    queue.addBulk(Array.from({ length: count }, (_, k) => job(start + k))),
  );
}

/** One Worker (concurrency = ctx.concurrency, not started until start()) counting completed jobs. */
export function bullConsumer(
  url: string,
  ctx: RunContext,
  processor: (job: Job<BetPayload>) => Promise<void>,
  expected: number,
): BenchConsumer {
  const worker = new Worker<BetPayload>(BULL_QUEUE, processor, {
    connection: bullConnection(url),
    concurrency: ctx.concurrency,
    autorun: false,
  });
  const completion = new Completion(expected);
  const errors: unknown[] = [];
  worker.on('completed', () => completion.add());
  worker.on('failed', (_job, error) => errors.push(error));
  worker.on('error', (error) => errors.push(error));
  let stopping: Promise<void> | undefined;
  return {
    completion,
    errors,
    ready: () => worker.waitUntilReady().then(() => undefined),
    async start() {
      // run() resolves only when the worker closes
      void worker.run().catch((error: unknown) => errors.push(error));
    },
    stop: () => (stopping ??= worker.close()),
  };
}
