// Publish -> consume -> ack on real Redis: many events over several partitions and consumers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher } from '../../src/events/publisher.js';
import { outcome } from '../../src/streams/outcome.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

let fx: StreamsFixture;
beforeAll(async () => {
  fx = await createStreamsFixture('consumer-basic', { partitions: 4 });
});
afterAll(async () => fx.close());

describe('consumer groups', () => {
  it('10k events over 4 partitions and 3 consumers: every event handled once, none lost', async () => {
    const handled = new Map<string, number>();
    const job = {
      name: 'bulk.count',
      domain: 'playhub',
      types: ['bet.opened'],
      concurrency: 64,
      startId: '0',
      handler: async (event: { id: string }) => {
        handled.set(event.id, (handled.get(event.id) ?? 0) + 1);
        return outcome.ack();
      },
    };
    const runners = [fx.runner(job), fx.runner(job), fx.runner(job)];
    await Promise.all(runners.map((r) => r.start()));
    const events = Array.from({ length: 10_000 }, (_, i) => fx.event(`bet-${i}`));
    for (let i = 0; i < events.length; i += 500) await fx.publisher.publishBatch(events.slice(i, i + 500));

    await waitFor(() => handled.size === events.length, 'all events handled', 60_000);
    await waitFor(async () => {
      const pending = await Promise.all(
        Array.from({ length: fx.partitions }, (_, p) =>
          fx.redis.xpending(fx.keys.partition('playhub', p).stream, 'bulk.count'),
        ),
      );
      return pending.every((summary) => (summary as [number])[0] === 0);
    }, 'no pending entries');
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    expect(events.every((e) => handled.has(e.id))).toBe(true);
  });

  it('skips types it does not subscribe to and entries aimed at another group, without the DLQ', async () => {
    const seen: OutcomeEvent[] = [];
    const calls: string[] = [];
    const runner = fx.runner({
      name: 'skip.check',
      domain: 'playhub',
      types: ['bet.opened'],
      handler: async (event) => {
        calls.push(event.id);
        return outcome.ack();
      },
    });
    runner.on('outcome', (o) => seen.push(o));
    await runner.start();
    const mine = fx.event('k1');
    const other = fx.event('k2', { betId: 'k2' }, 'bet.cancelled');
    const aimed = { ...fx.event('k3'), targetGroup: 'someone.else' };
    // an event aimed at one group is what the scheduler re-emits: a plain publisher refuses it
    const reemitter = createPublisher({
      redis: fx.redis,
      keys: fx.keys,
      registry: fx.registry,
      partitions: () => fx.partitions,
      allowReemission: true,
    });
    await reemitter.publishBatch([mine, other, aimed]);
    await waitFor(() => seen.length === 3, 'three outcomes');
    expect(calls).toEqual([mine.id]);
    expect(seen.find((o) => o.eventId === other.id)?.kind).toBe('skip');
    expect(seen.find((o) => o.eventId === aimed.id)?.kind).toBe('skip');
    const dlqs = await Promise.all(
      Array.from({ length: fx.partitions }, (_, p) => fx.redis.xlen(fx.keys.partition('playhub', p).dlq)),
    );
    expect(dlqs.reduce((a, b) => a + b, 0)).toBe(0);
  });
});
