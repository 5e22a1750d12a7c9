// The per-job circuit breaker on real Redis: a handler failing transiently opens the circuit after N
// failures, the job then reads nothing (new entries stay unread in the group), half-opens after openMs, and a
// successful probe closes it so the backlog is handled; a failed probe opens it again while the entries
// waiting on it stay held by the runner (not refused, so Redis never redelivers them) until a probe succeeds;
// stopping the runner ends their wait and releases them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../../src/errors.js';
import type { JobHandler } from '../../src/pipelines/job-definition.js';
import type { JobRunner, OutcomeEvent, RunnerEvents } from '../../src/pipelines/job-runner.js';
import { outcome } from '../../src/streams/outcome.js';
import { createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

let fx: StreamsFixture;
beforeAll(async () => {
  fx = await createStreamsFixture('circuit-breaker', { partitions: 2 });
});
afterAll(async () => fx.close());

type Change = RunnerEvents['circuit'][0];

/** Entries of the group's streams not yet delivered to any consumer, and entries delivered but not acked. */
async function groupBacklog(group: string): Promise<{ unread: number; pending: number }> {
  let unread = 0;
  let pending = 0;
  for (let p = 0; p < fx.partitions; p++) {
    const groups = (await fx.redis.xinfo('GROUPS', fx.keys.partition('playhub', p).stream)) as unknown[][];
    for (const info of groups) {
      const fields = new Map<unknown, unknown>();
      for (let i = 0; i + 1 < info.length; i += 2) fields.set(info[i], info[i + 1]);
      if (fields.get('name') !== group) continue;
      unread += Number(fields.get('lag'));
      pending += Number(fields.get('pending'));
    }
  }
  return { unread, pending };
}

function breakerJob(name: string, openMs: number, handler: JobHandler, concurrency = 4) {
  return fx.runner(
    {
      name,
      domain: 'playhub',
      types: ['bet.opened'],
      concurrency,
      retry: { backoff: { baseMs: 100 } },
      circuitBreaker: { failures: 3, windowMs: 10_000, openMs },
      handler,
    },
    { settings: { retryPollMs: 20, blockMs: 500 } },
  );
}

/** An entry's identity across partitions (entry ids repeat between streams). */
const entryOf = (stream: string, entryId: string): string => `${stream} ${entryId}`;

/** Redis' delivery count of every pending entry of the group, by `entryOf`. */
async function deliveryCounts(group: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let p = 0; p < fx.partitions; p++) {
    const stream = fx.keys.partition('playhub', p).stream;
    const rows = (await fx.redis.xpending(stream, group, '-', '+', 100)) as [
      string,
      string,
      number,
      number,
    ][];
    for (const [id, , , deliveries] of rows) counts.set(entryOf(stream, id), deliveries);
  }
  return counts;
}

function record(runner: JobRunner): { changes: Change[]; outcomes: OutcomeEvent[] } {
  const changes: Change[] = [];
  const outcomes: OutcomeEvent[] = [];
  runner.on('circuit', (change) => changes.push(change));
  runner.on('outcome', (o) => outcomes.push(o));
  return { changes, outcomes };
}

describe('circuit breaker', () => {
  it('opens after N transient failures, stops reading, half-opens after openMs and closes on a good probe', async () => {
    const calls: string[] = [];
    let healthy = false;
    const runner = breakerJob('breaker.trip', 1_000, async (event) => {
      calls.push(event.key);
      if (!healthy) throw new TransientError('503 from downstream');
      return outcome.ack();
    });
    const { changes, outcomes } = record(runner);
    const callsAt = new Map<string, number>();
    runner.on('circuit', ({ to }) => callsAt.set(to, calls.length));
    await runner.start();
    await fx.publisher.publishBatch([fx.event('f-1'), fx.event('f-2'), fx.event('f-3')]);
    await waitFor(() => runner.breaker?.state === 'open', 'the circuit to open');
    expect(changes.map((c) => c.to)).toEqual(['open']);
    await waitFor(() => outcomes.length === 3, 'the three failures written');
    expect(outcomes.every((o) => o.kind === 'retry' && o.reason === '503 from downstream')).toBe(true);
    healthy = true; // the downstream recovers; only a probe may find out

    await fx.publisher.publishBatch([fx.event('n-1'), fx.event('n-2'), fx.event('n-3')]);
    // while open: the new entries stay unread in the group, the failed ones stay pending, nothing is called
    let samples = 0;
    while (runner.breaker?.state === 'open') {
      const backlog = await groupBacklog('breaker.trip');
      if (runner.breaker.state !== 'open') break;
      expect(backlog).toEqual({ unread: 3, pending: 3 });
      expect(calls.length).toBe(callsAt.get('open'));
      samples += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(samples).toBeGreaterThan(0);

    await waitFor(() => changes.length === 3, 'half-open, then closed');
    expect(changes.map((c) => `${c.from}>${c.to}`)).toEqual([
      'closed>open',
      'open>half-open',
      'half-open>closed',
    ]);
    const [opened, halfOpened] = changes;
    expect((halfOpened?.at ?? 0) - (opened?.at ?? 0)).toBeGreaterThanOrEqual(999);
    // exactly one call (the probe) between half-open and closed
    expect((callsAt.get('closed') ?? 0) - (callsAt.get('half-open') ?? 0)).toBe(1);

    await waitFor(
      () => new Set(outcomes.filter((o) => o.kind === 'ack').map((o) => o.eventId)).size === 6,
      'the six events acked',
    );
    expect(await groupBacklog('breaker.trip')).toEqual({ unread: 0, pending: 0 });
    // items waiting on the probe are not failures: nothing reached the DLQ, no entry counted more than its one real failure
    expect(outcomes.filter((o) => o.kind === 'dead')).toEqual([]);
    expect(Math.max(...outcomes.map((o) => o.failures))).toBe(1);
    await runner.stop(0);
  });

  it('a failed probe opens the circuit again; the entries waiting on it stay held, are not redelivered and run after the next good probe', async () => {
    const group = 'breaker.reopen';
    let healthy = false;
    const calls: { key: string; entry: string; failures: number; deliveries: number; state: string }[] = [];
    const runner: JobRunner = breakerJob(
      group,
      500,
      async (event, ctx) => {
        const stream = fx.keys.partition('playhub', ctx.partition).stream;
        const rows = (await fx.redis.xpending(stream, group, ctx.entryId, ctx.entryId, 1)) as [
          string,
          string,
          number,
          number,
        ][];
        const state = runner.breaker?.state ?? 'none';
        const { key } = event;
        calls.push({
          key,
          entry: entryOf(stream, ctx.entryId),
          failures: ctx.failures,
          deliveries: Number(rows[0]?.[3]),
          state,
        });
        // the failing probe answers once all six entries are taken, so the five others wait on its verdict
        if (state === 'half-open' && !healthy)
          await waitFor(() => runner.heldCount() === 6, 'six entries held');
        if (!healthy) throw new TransientError('503 from downstream');
        return outcome.ack();
      },
      8,
    );
    const { changes, outcomes } = record(runner);
    await runner.start();
    const published = [fx.event('f-1'), fx.event('f-2'), fx.event('f-3')];
    await fx.publisher.publishBatch(published);
    await waitFor(() => outcomes.length === 3, 'the three failures that open the circuit');
    expect(changes.map((c) => c.to)).toEqual(['open']);
    // new entries published while open are taken at half-open
    const later = [fx.event('w-1'), fx.event('w-2'), fx.event('w-3')];
    await fx.publisher.publishBatch(later);
    const keyOf = new Map([...published, ...later].map((e) => [e.id, e.key]));

    await waitFor(() => changes.length >= 3, 'half-open, then open again');
    expect(changes.map((c) => c.to)).toEqual(['open', 'half-open', 'open']);
    const probes = calls.filter((c) => c.state === 'half-open');
    expect(probes).toHaveLength(1);
    const failedProbe = probes[0]!;
    // open again: the five others are still held by this consumer, each delivered as often as before
    const whileOpen = await deliveryCounts(group);
    const waiting = [...whileOpen.keys()].filter((entry) => entry !== failedProbe.entry);
    expect(waiting).toHaveLength(5);
    expect(runner.heldCount()).toBe(5);
    const healthyFrom = calls.length;
    healthy = true;

    await waitFor(() => changes.length >= 5, 'half-open, then closed');
    expect(changes.map((c) => `${c.from}>${c.to}`)).toEqual([
      'closed>open',
      'open>half-open',
      'half-open>open',
      'open>half-open',
      'half-open>closed',
    ]);
    await waitFor(() => outcomes.filter((o) => o.kind === 'ack').length === 6, 'the six entries acked');
    // the next probe was one of the waiting entries, not a newly taken one
    expect(calls.filter((c) => c.state === 'half-open').map((c) => c.entry)).toEqual([
      failedProbe.entry,
      expect.toBeOneOf(waiting),
    ]);
    for (const id of waiting) {
      const [handled, ...again] = calls.slice(healthyFrom).filter((c) => c.entry === id);
      const acked = outcomes.find((o) => entryOf(o.stream, o.entryId) === id && o.kind === 'ack');
      // one call after the wait, with Redis' delivery count unchanged since before the failed probe (1 for the
      // entries first read at half-open) and the failure count unchanged in the ack
      expect(again).toEqual([]);
      expect(handled?.deliveries).toBe(whileOpen.get(id));
      expect(acked?.failures).toBe(handled?.failures);
      // [deliveries, failures]: read at half-open, or retried once after the failure that opened the circuit
      expect([handled?.deliveries, handled?.failures]).toEqual(
        handled?.key.startsWith('w-') ? [1, 0] : [2, 1],
      );
      expect(keyOf.get(acked?.eventId ?? '')).toBe(handled?.key);
    }
    // every delivery followed a counted failure: nothing was handed back to Redis without one
    for (const call of calls) expect(call.deliveries).toBe(call.failures + 1);
    expect(outcomes.filter((o) => o.kind === 'retry')).toHaveLength(4);
    expect(outcomes.filter((o) => o.kind === 'dead')).toEqual([]);
    for (let p = 0; p < fx.partitions; p++)
      expect(await fx.redis.xlen(fx.keys.partition('playhub', p).dlq)).toBe(0);
    expect(await groupBacklog(group)).toEqual({ unread: 0, pending: 0 });
    await runner.stop(0);
  });

  it('stopping while entries wait on a probe cancels their wait: they are released, not run, and not redelivered', async () => {
    const group = 'breaker.stop';
    const probes: string[] = [];
    const runner: JobRunner = breakerJob(
      group,
      300,
      async (event, ctx) => {
        if (runner.breaker?.state !== 'half-open') throw new TransientError('503 from downstream');
        // the probe hangs until the shutdown aborts it, so the others wait on its verdict
        probes.push(event.key);
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        throw new TransientError('aborted by shutdown');
      },
      8,
    );
    const { outcomes } = record(runner);
    let released = -1;
    runner.on('stopped', (s) => (released = s.released));
    await runner.start();
    await fx.publisher.publishBatch([fx.event('s-1'), fx.event('s-2'), fx.event('s-3')]);
    await waitFor(() => outcomes.length === 3, 'the three failures that open the circuit');
    await fx.publisher.publishBatch([fx.event('t-1'), fx.event('t-2'), fx.event('t-3')]);
    await waitFor(() => probes.length === 1 && runner.heldCount() === 6, 'a hanging probe and five waiting');
    const before = await deliveryCounts(group);
    expect(before.size).toBe(6);

    await runner.stop(0);
    expect(released).toBe(6);
    expect(runner.heldCount()).toBe(0);
    // no waiting entry reached the handler or got an outcome; all six stay pending, delivered as often as before
    expect(probes).toHaveLength(1);
    expect(outcomes).toHaveLength(3);
    expect(await deliveryCounts(group)).toEqual(before);
  });
});
