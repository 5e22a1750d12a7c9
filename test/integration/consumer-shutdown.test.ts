// Shutdown and flow control on real Redis: an attempt cut short by the grace period is not a failure, work
// queued behind a key does not start after stop, and late heartbeats never lift the concurrency cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { outcome } from '../../src/streams/outcome.js';
import { createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

let fx: StreamsFixture;
beforeAll(async () => {
  fx = await createStreamsFixture('consumer-shutdown', { partitions: 2 });
});
afterAll(async () => fx.close());

async function totalDlq(): Promise<number> {
  const lengths = await Promise.all(
    Array.from({ length: fx.partitions }, (_, p) => fx.redis.xlen(fx.keys.partition('playhub', p).dlq)),
  );
  return lengths.reduce((a, b) => a + b, 0);
}

describe('shutdown', () => {
  it('handlers aborted by the grace period are released with a hint due now, not failed or dead-lettered', async () => {
    const started: string[] = [];
    const runner = fx.runner({
      name: 'grace.abort',
      domain: 'playhub',
      types: ['bet.opened'],
      maxAttempts: 1, // one counted failure would dead-letter: shutdown must not count
      handler: async (event, ctx) => {
        started.push(event.key);
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
        return outcome.ack();
      },
    });
    const outcomes: OutcomeEvent[] = [];
    runner.on('outcome', (o) => outcomes.push(o));
    await runner.start();
    await fx.publisher.publishBatch([fx.event('g-1'), fx.event('g-2'), fx.event('g-3')]);
    await waitFor(() => started.length === 3, 'three handlers running');
    await runner.stop(100);
    expect(outcomes).toEqual([]);
    expect(await totalDlq()).toBe(0);
    for (let p = 0; p < fx.partitions; p++) {
      const keys = fx.keys.partition('playhub', p);
      const hints = await fx.redis.zrange(keys.retry('grace.abort'), '0', '-1', 'WITHSCORES');
      const [s, us] = await fx.redis.time();
      const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
      for (let i = 1; i < hints.length; i += 2) expect(Number(hints[i])).toBeLessThanOrEqual(now);
      expect(await fx.redis.hlen(keys.failures('grace.abort'))).toBe(0);
    }

    const successor = fx.runner({
      name: 'grace.abort',
      domain: 'playhub',
      types: ['bet.opened'],
      handler: async () => outcome.ack(),
    });
    const taken: OutcomeEvent[] = [];
    successor.on('outcome', (o) => taken.push(o));
    await successor.start();
    await waitFor(() => taken.length === 3, 'successor settles the released entries');
    expect(taken.every((o) => o.kind === 'ack' && o.source === 'retry' && o.failures === 0)).toBe(true);
    await successor.stop(0);
  });

  it('work queued behind a busy key does not start after stop', async () => {
    const started: string[] = [];
    const runner = fx.runner({
      name: 'grace.keyed',
      domain: 'playhub',
      types: ['bet.opened'],
      handler: async (event, ctx) => {
        started.push(event.id);
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        return outcome.retry('aborted');
      },
    });
    await runner.start();
    const first = fx.event('same-key');
    const second = fx.event('same-key');
    await fx.publisher.publishBatch([first, second]);
    await waitFor(
      () => started.length === 1 && runner.heldCount() === 2,
      'one running, one queued behind its key',
    );
    await runner.stop(50);
    // the queued handler would start right after the first ends; give the event loop a few turns
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(started).toEqual([first.id]);
  });
});

describe('flow control', () => {
  it('late heartbeats that let our own claims re-take held entries never lift the concurrency cap', async () => {
    let active = 0;
    let maxActive = 0;
    const release: (() => void)[] = [];
    // heartbeats far slower than the claim floor: claim-idle keeps re-taking entries this consumer holds
    const runner = fx.runner(
      {
        name: 'cap.check',
        domain: 'playhub',
        types: ['bet.opened'],
        concurrency: 3,
        handler: async () => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          await new Promise<void>((resolve) => release.push(resolve));
          active -= 1;
          return outcome.ack();
        },
      },
      { settings: { claimFloorMs: 150, heartbeatMs: 60_000 } },
    );
    const outcomes: OutcomeEvent[] = [];
    runner.on('outcome', (o) => outcomes.push(o));
    await runner.start();
    await fx.publisher.publishBatch(Array.from({ length: 12 }, (_, i) => fx.event(`cap-${i}`)));
    await waitFor(() => active === 3, 'three handlers running');
    // several claim floors pass while the three handlers hold their entries
    const until = Date.now() + 1000;
    await waitFor(() => Date.now() >= until, 'claim floors pass');
    expect(maxActive).toBe(3);
    // once handlers finish, a claim may race an ack write under this (invalid) heartbeat setting and deliver
    // an entry again: at-least-once allows that; what must hold is that every entry is settled
    while (!outcomes.some((o) => o.kind === 'ack') || runner.heldCount() > 0 || outcomes.length < 12) {
      release.splice(0).forEach((r) => r());
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(new Set(outcomes.map((o) => o.entryId + o.stream)).size).toBe(12);
    await runner.stop(0);
  });
});
