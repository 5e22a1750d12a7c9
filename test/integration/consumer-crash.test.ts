// Real killed and stopped consumer processes: kill -9 mid-batch loses nothing, crash loops are not failures,
// a crash after the effect is applied once downstream, and SIGTERM finishes or releases in-flight work.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createPublisher, type Publisher } from '../../src/events/publisher.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createKeyBuilder, type KeyBuilder } from '../../src/streams/keys.js';
import { outcome } from '../../src/streams/outcome.js';
import { startCountingDownstream, type CountingDownstream } from '../support/counting-downstream.js';
import { testPrefix } from '../support/prefix.js';
import { createStreamsFixture, DOMAIN, waitFor, type StreamsFixture } from '../support/streams-fixture.js';
import {
  createWorkerChildren,
  WORKER_READY_TIMEOUT_MS,
  type WorkerChild,
  type WorkerSettings,
} from '../support/worker-children.js';

/** Time a stopping worker may take beyond its grace period (unblocking reads, releasing, closing Redis). */
const EXIT_MARGIN_MS = 1_500;

let fx: StreamsFixture;
let downstream: CountingDownstream;
const children = createWorkerChildren();

beforeAll(async () => {
  fx = await createStreamsFixture('consumer-crash', { partitions: 4 });
  downstream = await startCountingDownstream();
});
afterEach(async () => {
  // no orphans: every worker a test started is gone before the next test
  await children.killAll();
});
afterAll(async () => {
  await downstream.close();
  await fx.close();
});

/** One test's private key space (own prefix), so each test's group starts from an empty stream. */
interface Scope {
  readonly job: string;
  readonly keys: KeyBuilder;
  readonly publisher: Publisher;
}

function scope(job: string): Scope {
  const keys = createKeyBuilder({ prefix: testPrefix(`crash-${job}`) });
  const publisher = createPublisher({
    redis: fx.redis,
    keys,
    registry: fx.registry,
    partitions: () => fx.partitions,
  });
  return { job, keys, publisher };
}

function idempotencyKey(s: Scope, event: EventEnvelope): string {
  return `${s.job}:${(event.data as { betId: string }).betId}`;
}

function startWorker(s: Scope, settings: Partial<WorkerSettings>): Promise<WorkerChild> {
  return children.start({
    REDIS_URL: fx.server.url,
    KEY_PREFIX: s.keys.prefix,
    PARTITIONS: fx.partitions,
    JOB: s.job,
    DOWNSTREAM_URL: downstream.url,
    ...settings,
  });
}

interface PendingEntry {
  readonly stream: string;
  readonly retryKey: string;
  readonly failuresKey: string;
  readonly id: string;
  readonly consumer: string;
  readonly deliveries: number;
}

async function pendingEntries(s: Scope): Promise<PendingEntry[]> {
  const all: PendingEntry[] = [];
  for (let p = 0; p < fx.partitions; p++) {
    const partition = s.keys.partition(DOMAIN, p);
    const rows = (await fx.redis.xpending(partition.stream, s.job, '-', '+', 10_000)) as [
      string,
      string,
      number,
      number,
    ][];
    for (const [id, consumer, , deliveries] of rows) {
      all.push({
        stream: partition.stream,
        retryKey: partition.retry(s.job),
        failuresKey: partition.failures(s.job),
        id,
        consumer,
        deliveries,
      });
    }
  }
  return all;
}

async function dlqLength(s: Scope): Promise<number> {
  let total = 0;
  for (let p = 0; p < fx.partitions; p++) total += await fx.redis.xlen(s.keys.partition(DOMAIN, p).dlq);
  return total;
}

async function publishAll(s: Scope, count: number): Promise<EventEnvelope[]> {
  const events = Array.from({ length: count }, (_, i) => fx.event(`bet-${s.job}-${i}`));
  await s.publisher.publishBatch(events);
  return events;
}

describe('consumers killed for real', () => {
  it('kill -9 mid-batch: another consumer claims the in-flight entries after the floor; nothing lost or applied twice', async () => {
    const s = scope('kill9');
    const events = await publishAll(s, 300);
    const fast = { CLAIM_FLOOR_MS: 1_500, HEARTBEAT_MS: 300 };
    const a = await startWorker(s, { ...fast, CONCURRENCY: 32, HANDLER_DELAY_MS: 150 });
    await waitFor(() => a.outcomes.length >= 40, 'worker A to ack a first share');
    await a.kill9();

    const abandoned = (await pendingEntries(s)).filter((e) => e.consumer === a.consumer);
    expect(abandoned.length).toBeGreaterThan(0); // killed mid-batch: entries were in its handlers
    const b = await startWorker(s, { ...fast, CONCURRENCY: 64, HANDLER_DELAY_MS: 0 });
    await waitFor(
      () => events.every((e) => downstream.applied(idempotencyKey(s, e)) === 1),
      'every event applied',
      20_000,
    );
    await waitFor(async () => (await pendingEntries(s)).length === 0, 'no pending entries');

    expect(downstream.appliedTwice()).toBe(0);
    expect(await dlqLength(s)).toBe(0);
    const claimed = b.outcomes.filter((o) => o.source === 'claimed').map((o) => o.entryId);
    expect(claimed.sort()).toEqual(abandoned.map((e) => e.id).sort());
    expect(b.outcomes.every((o) => o.kind === 'ack' && o.failures === 0)).toBe(true);
    // A had already called the downstream for some of them: the redelivery replayed, it did not re-apply
    expect(events.filter((e) => downstream.replays(idempotencyKey(s, e)) > 0).length).toBeGreaterThan(0);
  }, 40_000);

  it('12 kills in a row do not send a healthy event to the DLQ: crashes raise deliveries, not failures', async () => {
    const s = scope('loop');
    const kills = 12;
    const slow = { CONCURRENCY: 1, CLAIM_FLOOR_MS: 1_000, HEARTBEAT_MS: 200, HANDLER_DELAY_MS: 60_000 };
    let owner = await startWorker(s, slow);
    const [event] = await publishAll(s, 1);
    if (!event) throw new Error('no event published');
    const key = idempotencyKey(s, event);
    const ownedBy = async (consumers: string[]): Promise<PendingEntry | undefined> => {
      const [entry] = await pendingEntries(s);
      return entry && consumers.includes(entry.consumer) ? entry : undefined;
    };
    await waitFor(
      async () => (await ownedBy([owner.consumer])) !== undefined && downstream.received(key) === 1,
      'first owner',
    );

    // Spares start ahead, so a cycle costs one claim floor rather than a process start-up as well; any ready
    // spare may be the one that claims.
    const spares: WorkerChild[] = [];
    const failedStarts: unknown[] = [];
    let starting = 0;
    const startSpare = (settings: typeof slow): void => {
      starting += 1;
      startWorker(s, settings)
        .then(
          (w) => spares.push(w),
          (error: unknown) => failedStarts.push(error),
        )
        .finally(() => (starting -= 1));
    };
    const sparesStarted = (): boolean => {
      if (failedStarts.length > 0) throw failedStarts[0];
      return spares.length > 0;
    };
    startSpare(slow);
    startSpare(slow);
    const deliveryCounts: number[] = [];
    for (let kill = 1; kill <= kills; kill++) {
      if (kill === kills) {
        // the last claimer is a healthy worker that finishes the event
        await waitFor(() => starting === 0, 'spares to finish starting');
        await Promise.all(spares.splice(0).map((w) => w.kill9()));
        startSpare({ ...slow, HANDLER_DELAY_MS: 1_000 });
      }
      await waitFor(sparesStarted, 'a spare worker ready', WORKER_READY_TIMEOUT_MS);
      expect((await ownedBy([owner.consumer])) !== undefined).toBe(true); // the heartbeat kept it with its owner
      await owner.kill9();
      let entry: PendingEntry | undefined;
      await waitFor(
        async () =>
          (entry = await ownedBy(spares.map((w) => w.consumer))) !== undefined &&
          downstream.received(key) === kill + 1,
        `a spare to claim the entry after kill ${kill}`,
      );
      if (!entry) throw new Error('unreachable: waitFor returned without an owner');
      deliveryCounts.push(entry.deliveries);
      const claimer = entry.consumer;
      const index = spares.findIndex((w) => w.consumer === claimer);
      owner = spares.splice(index, 1)[0] ?? owner;
      if (kill < kills - 1) startSpare(slow);
    }
    await waitFor(() => owner.outcomes.length > 0, 'the final worker to finish the event');

    expect(deliveryCounts).toEqual(Array.from({ length: kills }, (_, i) => i + 2));
    expect(owner.outcomes).toEqual([
      expect.objectContaining({ eventId: event.id, kind: 'ack', source: 'claimed', failures: 0 }),
    ]);
    expect(await pendingEntries(s)).toEqual([]);
    expect(await dlqLength(s)).toBe(0);
    // 13 deliveries > maxAttempts (10): had crashes counted as failures, the event would be dead by now
    expect(downstream.received(key)).toBe(kills + 1);
    expect(downstream.applied(key)).toBe(1);
  }, 75_000);

  it('a crash after the effect and before the ack runs the handler again with the same Idempotency-Key: applied once', async () => {
    const s = scope('effect');
    const [event] = await publishAll(s, 1);
    if (!event) throw new Error('no event published');
    const key = idempotencyKey(s, event);
    const settings = { CLAIM_FLOOR_MS: 1_000, HEARTBEAT_MS: 200 };
    const a = await startWorker(s, { ...settings, CRASH_AFTER_EFFECT: true });
    expect(await a.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(a.outcomes).toEqual([]);
    expect(downstream.received(key)).toBe(1);
    expect(downstream.applied(key)).toBe(1);
    expect((await pendingEntries(s)).map((e) => e.consumer)).toEqual([a.consumer]); // not acked

    const b = await startWorker(s, settings);
    await waitFor(() => b.outcomes.length > 0, 'the second worker to handle the event again');
    expect(b.outcomes).toEqual([
      expect.objectContaining({ eventId: event.id, kind: 'ack', source: 'claimed' }),
    ]);
    expect(downstream.received(key)).toBe(2);
    expect(downstream.applied(key)).toBe(1);
    expect(downstream.replays(key)).toBe(1);
    expect(downstream.appliedTwice()).toBe(0);
    expect(await pendingEntries(s)).toEqual([]);
  }, 30_000);

  it('SIGTERM with work in flight: finishes it within the grace period and exits 0', async () => {
    const s = scope('grace');
    const events = await publishAll(s, 200);
    const a = await startWorker(s, { CONCURRENCY: 32, HANDLER_DELAY_MS: 400, GRACE_MS: 2_000 });
    const before = downstream.totalReceived;
    await waitFor(() => a.outcomes.length >= 32, 'a first wave acked');
    await waitFor(() => downstream.totalReceived - before > a.outcomes.length, 'a second wave in flight');

    const exit = await a.terminate();
    expect(exit).toMatchObject({ code: 0, signal: null, released: 0 });
    expect(exit.ms).toBeLessThan(2_000 + EXIT_MARGIN_MS);
    // every handler that started ended in an ack: nothing left pending, nothing released
    expect(a.outcomes.every((o) => o.kind === 'ack')).toBe(true);
    expect(a.outcomes.length).toBe(downstream.totalReceived - before);
    expect(a.outcomes.length).toBeLessThan(events.length);
    expect(await pendingEntries(s)).toEqual([]);
  }, 30_000);

  it('SIGTERM past the grace period: the rest is released and taken by another consumer at once, not after the floor', async () => {
    const s = scope('release');
    const events = await publishAll(s, 40);
    const inFlight = 16;
    const a = await startWorker(s, {
      CONCURRENCY: inFlight,
      HANDLER_DELAY_MS: 5_000,
      GRACE_MS: 500,
      CLAIM_FLOOR_MS: 60_000,
    });
    const before = downstream.totalReceived;
    await waitFor(() => downstream.totalReceived - before === inFlight, 'every handler slot in flight');

    const exit = await a.terminate();
    expect(exit).toMatchObject({ code: 0, signal: null, released: inFlight });
    expect(exit.ms).toBeLessThan(500 + EXIT_MARGIN_MS);
    const released = await pendingEntries(s);
    expect(released.map((e) => e.consumer)).toEqual(Array<string>(inFlight).fill(a.consumer));
    for (const e of released) expect(await fx.redis.zscore(e.retryKey, e.id)).not.toBeNull();

    const takenAt = Date.now();
    const b = await startWorker(s, { CONCURRENCY: 64, HANDLER_DELAY_MS: 0, CLAIM_FLOOR_MS: 60_000 });
    await waitFor(
      () =>
        events.every((e) => downstream.applied(idempotencyKey(s, e)) === 1) &&
        b.outcomes.length === events.length,
      'every event handled',
      10_000,
    );
    expect(Date.now() - takenAt).toBeLessThan(10_000); // far below the 60 s claim floor
    const retried = b.outcomes.filter((o) => o.source === 'retry');
    expect(retried.map((o) => o.entryId).sort()).toEqual(released.map((e) => e.id).sort());
    expect(retried.every((o) => o.failures === 0)).toBe(true); // a shutdown is not a failure
    expect(b.outcomes.every((o) => o.kind === 'ack')).toBe(true);
    expect(downstream.appliedTwice()).toBe(0);
    expect(await pendingEntries(s)).toEqual([]);
    expect(await dlqLength(s)).toBe(0);
  }, 30_000);

  // Regression: an aborted handler used to be settled as a `retry` (failures + 1, backoff hint) that overwrote the
  // release; in a worker process that raced with the exit, in-process it always showed.
  it('a shutdown is not a failure: released entries keep failure count 0 and a hint due now', async () => {
    const s = scope('unfailed');
    await publishAll(s, 4);
    const runner = fx.runner(
      {
        name: s.job,
        domain: DOMAIN,
        types: ['bet.opened'],
        concurrency: 4,
        startId: '0',
        handler: async (_event, ctx) => {
          await delay(5_000, undefined, { signal: ctx.signal });
          return outcome.ack();
        },
      },
      { keys: s.keys, settings: { claimFloorMs: 60_000 } },
    );
    const retried: OutcomeEvent[] = [];
    runner.on('outcome', (o) => o.kind === 'retry' && retried.push(o));
    await runner.start();
    await waitFor(() => runner.heldCount() === 4, 'every handler slot in flight');
    const stopped = new Promise<{ released: number }>((resolve) => runner.once('stopped', resolve));
    await runner.stop(200);
    expect(await stopped).toMatchObject({ released: 4 });
    await waitFor(() => runner.heldCount() === 0, 'the aborted handlers to end');

    const [seconds, micros] = await fx.redis.time();
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const hints = await Promise.all(
      (await pendingEntries(s)).map(async (e) => ({
        dueNow: Number(await fx.redis.zscore(e.retryKey, e.id)) <= redisNow,
        failures: await fx.redis.hget(e.failuresKey, e.id),
      })),
    );
    expect(retried).toEqual([]);
    expect(hints).toEqual(Array(4).fill({ dueNow: true, failures: null }));
  }, 20_000);
});
