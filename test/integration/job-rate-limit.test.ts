// A job's local rate limit on real Redis: handler starts never exceed burst + rate x t, and every event is
// still handled (delayed, never dropped).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcome } from '../../src/streams/outcome.js';
import { createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

let fx: StreamsFixture;
beforeAll(async () => {
  fx = await createStreamsFixture('job-rate-limit', { partitions: 2 });
});
afterAll(async () => fx.close());

describe('local rate limit', () => {
  it('spaces handler starts by the token bucket and drops nothing', async () => {
    const perSecond = 20;
    const burst = 2;
    const starts: number[] = [];
    let acks = 0;
    const runner = fx.runner({
      name: 'limited',
      domain: 'playhub',
      types: ['bet.opened'],
      concurrency: 8,
      rateLimit: { perSecond, burst },
      handler: async () => {
        starts.push(performance.now());
        return outcome.ack();
      },
    });
    runner.on('outcome', (o) => (acks += o.kind === 'ack' ? 1 : 0));
    await runner.start();
    await fx.publisher.publishBatch(Array.from({ length: 8 }, (_, i) => fx.event(`rl-${i}`)));
    await waitFor(() => acks === 8, 'all eight handled');
    expect(starts).toHaveLength(8);
    // timers may fire up to a millisecond early against performance.now(): allow 2 ms per span
    for (let i = 0; i < starts.length; i++) {
      for (let j = i; j < starts.length; j++) {
        const span = (starts[j] ?? 0) - (starts[i] ?? 0) + 2;
        expect(j - i + 1).toBeLessThanOrEqual(burst + (perSecond * span) / 1000);
      }
    }
    await runner.stop(0);
  });
});
