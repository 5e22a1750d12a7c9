// Issue 4 with real job runners: 3 worker processes whose job shares one 50/s distributed limit send the mock
// provider at most rate x t + burst calls in a 5 s window, and never read an entry before taking its token.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startArrivalServer, type ArrivalServer } from '../support/arrival-server.js';
import { createStreamsFixture, DOMAIN, type StreamsFixture } from '../support/streams-fixture.js';
import { createWorkerChildren, type WorkerChild } from '../support/worker-children.js';

const JOB = 'provider.shared-limit';
const PER_SECOND = 50;
const BURST = 10;
const WORKERS = 3;
/** More than the window can use (rate x 5 s + burst = 260): the limit, not the supply, bounds the calls. */
const EVENTS = 600;
const WINDOW_MS = 5_000;
const SAMPLE_EVERY_MS = 50;
const GRACE_MS = 2_000;
/** Time a stopping worker may take beyond its grace period (unblocking reads, closing Redis). */
const EXIT_MARGIN_MS = 1_500;

let fx: StreamsFixture;
let provider: ArrivalServer;
const children = createWorkerChildren();

beforeAll(async () => {
  fx = await createStreamsFixture('shared-rate-limit', { partitions: 4 });
  provider = await startArrivalServer();
});
afterEach(async () => {
  await children.killAll();
});
afterAll(async () => {
  await provider.close();
  await fx.close();
});

interface ReadSample {
  /** Redis TIME (ms) after the reads counted: the clock the bucket runs on. */
  readonly atMs: number;
  /** Entries the group has read so far, summed over the partitions (XINFO GROUPS entries-read). */
  readonly read: number;
  /** Entries read and not yet acked. */
  readonly pending: number;
}

function streams(): string[] {
  return Array.from({ length: fx.partitions }, (_, p) => fx.keys.partition(DOMAIN, p).stream);
}

/** The group's counters over every partition and Redis TIME, in one transaction, so TIME follows the reads counted. */
async function sampleGroup(): Promise<ReadSample> {
  const tx = fx.redis.multi();
  for (const stream of streams()) tx.xinfo('GROUPS', stream);
  tx.time();
  const replies = (await tx.exec()) ?? [];
  let read = 0;
  let pending = 0;
  for (const [error, groups] of replies.slice(0, -1)) {
    if (error) throw error;
    for (const flat of groups as (string | number | null)[][]) {
      const info = new Map<unknown, unknown>();
      for (let i = 0; i + 1 < flat.length; i += 2) info.set(flat[i], flat[i + 1]);
      if (info.get('name') !== JOB) continue;
      const entriesRead = info.get('entries-read');
      if (typeof entriesRead !== 'number') throw new Error(`entries-read unknown: ${String(entriesRead)}`);
      read += entriesRead;
      pending += Number(info.get('pending'));
    }
  }
  const [error, time] = replies.at(-1) ?? [new Error('no TIME reply'), undefined];
  if (error) throw error;
  const [seconds, micros] = time as [string, string];
  return { atMs: Number(seconds) * 1000 + Number(micros) / 1000, read, pending };
}

/** The token bucket's promise for tokens granted between `fromMs` and `toMs` (+ 1 ms: Date.now() is whole ms). */
function bound(fromMs: number, toMs: number): number {
  return (PER_SECOND * (toMs - fromMs + 1)) / 1000 + BURST;
}

describe('3 worker processes sharing one 50/s limit', () => {
  it('call the provider at most rate x t + burst times in a 5 s window, taking tokens before reading', async () => {
    const events = Array.from({ length: EVENTS }, (_, i) => fx.event(`bet-shared-${i}`));
    await fx.publisher.publishBatch(events);
    // created here rather than by the runners, with an exact entries-read counter (the runners find BUSYGROUP)
    for (const stream of streams()) await fx.redis.xgroup('CREATE', stream, JOB, '0', 'ENTRIESREAD', 0);

    const settings = {
      REDIS_URL: fx.server.url,
      KEY_PREFIX: fx.keys.prefix,
      PARTITIONS: fx.partitions,
      JOB,
      DOWNSTREAM_URL: provider.url,
      CONCURRENCY: 16,
      GRACE_MS,
      SHARED_LIMIT: { perSecond: PER_SECOND, burst: BURST },
      WAIT_FOR_GO: true,
    };
    const workers: WorkerChild[] = await Promise.all(
      Array.from({ length: WORKERS }, () => children.start(settings)),
    );
    expect(await sampleGroup()).toMatchObject({ read: 0, pending: 0 });

    // the runners start on "go" and the bucket is created by their first take: every token is taken in the window
    const windowStart = Date.now();
    for (const worker of workers) worker.go();
    const samples: ReadSample[] = [];
    // the measurement window itself, sampled; not a settle delay
    while (Date.now() - windowStart < WINDOW_MS) {
      samples.push(await sampleGroup());
      await delay(SAMPLE_EVERY_MS);
    }
    const windowEnd = Date.now();
    const exits = await Promise.all(workers.map((w) => w.terminate()));
    const final = await sampleGroup();

    for (const exit of exits) {
      expect(exit).toMatchObject({ code: 0, signal: null, released: 0 });
      expect(exit.ms).toBeLessThan(GRACE_MS + EXIT_MARGIN_MS);
    }
    const counted = provider.arrivals.filter((at) => at <= windowEnd);
    expect(counted.every((at) => at >= windowStart)).toBe(true);
    expect(counted.length).toBeGreaterThan(0);
    expect(counted.length).toBeLessThanOrEqual(bound(windowStart, windowEnd));
    // entries are read only with tokens in hand: reads never run ahead of the tokens the bucket can have granted
    // (reading first and limiting the calls would run ahead by the handler slots, 3 x 16)
    const overRead = samples.filter((s) => s.read > bound(windowStart, s.atMs));
    expect(overRead).toEqual([]);
    expect(samples.some((s) => s.read > 0)).toBe(true);
    // the runners claimed nothing (no failures, claim floor 30 s): every call is one entry read, handled and acked
    expect(final).toEqual({ atMs: final.atMs, read: provider.arrivals.length, pending: 0 });
    // the limit was shared: each process handled some of the entries
    for (const worker of workers) expect(worker.outcomes.length).toBeGreaterThan(0);
    expect(workers.flatMap((w) => w.outcomes).every((o) => o.kind === 'ack')).toBe(true);
  }, 30_000);
});
