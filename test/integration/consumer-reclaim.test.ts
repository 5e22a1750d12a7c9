// Reclaim on real Redis: owner-checked heartbeats, slow handlers keeping their entries, and the data-loss
// alarm for pending entries deleted from their stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { partitionOf } from '../../src/events/partition.js';
import { heartbeatOnce } from '../../src/streams/heartbeat.js';
import { outcome } from '../../src/streams/outcome.js';
import { defineScripts } from '../../src/streams/scripts.js';
import { createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

let fx: StreamsFixture;
beforeAll(async () => {
  fx = await createStreamsFixture('consumer-reclaim', { partitions: 2 });
  defineScripts(fx.redis);
});
afterAll(async () => fx.close());

type PendingRow = [id: string, consumer: string, idleMs: number, deliveries: number];

async function pendingRows(stream: string, group: string): Promise<PendingRow[]> {
  return (await fx.redis.xpending(stream, group, '-', '+', 100)) as PendingRow[];
}

/** Creates `group` at `$` on the event's partition, publishes the event there, and returns its partition. */
async function publishFor(group: string, key: string) {
  const event = fx.event(key);
  const p = fx.keys.partition('playhub', partitionOf(key, fx.partitions));
  for (let i = 0; i < fx.partitions; i++) {
    await fx.redis.xgroup('CREATE', fx.keys.partition('playhub', i).stream, group, '$', 'MKSTREAM');
  }
  const published = await fx.publisher.publish(event);
  return { event, p, entryId: published.entryId };
}

describe('heartbeat', () => {
  it('a late heartbeat from a consumer whose entry was reclaimed does not take it back', async () => {
    const { p, entryId } = await publishFor('late.heartbeat', 'late-1');
    await fx.redis.xreadgroup('GROUP', 'late.heartbeat', 'consumer-a', 'STREAMS', p.stream, '>');
    // consumer b claims it (as claim-idle would once a's entry passed the floor)
    await fx.redis.xclaim(p.stream, 'late.heartbeat', 'consumer-b', 0, entryId);
    const held = { snapshot: () => new Map([[p, [entryId]]]) };
    const gone = await heartbeatOnce(fx.redis, 'late.heartbeat', 'consumer-a', held);
    expect(gone.gone.get(p)).toEqual([entryId]);
    expect(gone.lost.size).toBe(0);
    const [row] = await pendingRows(p.stream, 'late.heartbeat');
    expect(row?.[1]).toBe('consumer-b');
    expect(row?.[3]).toBe(2); // a's read + b's claim; the heartbeat added nothing
  });

  it('a heartbeat by the owner resets idle time without raising the delivery count', async () => {
    const { p, entryId } = await publishFor('owner.heartbeat', 'owner-1');
    await fx.redis.xreadgroup('GROUP', 'owner.heartbeat', 'consumer-a', 'STREAMS', p.stream, '>');
    await waitFor(
      async () => ((await pendingRows(p.stream, 'owner.heartbeat'))[0]?.[2] ?? 0) >= 50,
      'idle time',
    );
    const gone = await heartbeatOnce(fx.redis, 'owner.heartbeat', 'consumer-a', {
      snapshot: () => new Map([[p, [entryId]]]),
    });
    expect(gone.gone.size).toBe(0);
    const [row] = await pendingRows(p.stream, 'owner.heartbeat');
    expect(row?.[1]).toBe('consumer-a');
    expect(row?.[2]).toBeLessThan(50);
    expect(row?.[3]).toBe(1);
  });

  it('a handler slower than the claim floor keeps its entry; its delivery count stays 1', async () => {
    const { p, entryId } = await publishFor('slow.handler', 'slow-1');
    const settings = { claimFloorMs: 400, heartbeatMs: 100 };
    let finish: (() => void) | undefined;
    const calls: string[] = [];
    const job = (name: string) => ({
      name: 'slow.handler',
      domain: 'playhub',
      types: ['bet.opened'],
      handler: async () => {
        calls.push(name);
        await new Promise<void>((resolve) => (finish = resolve));
        return outcome.ack();
      },
    });
    const slow = fx.runner(job('slow'), { settings });
    const other = fx.runner(job('other'), { settings });
    const outcomes: OutcomeEvent[] = [];
    slow.on('outcome', (o) => outcomes.push(o));
    await slow.start();
    await waitFor(() => calls.length === 1, 'slow handler running');
    await other.start();
    // three claim floors pass while the handler runs; the other consumer's claim-idle loop runs throughout
    const until = Date.now() + 3 * settings.claimFloorMs;
    await waitFor(() => Date.now() >= until, 'three claim floors');
    const [row] = await pendingRows(p.stream, 'slow.handler');
    expect(row?.[0]).toBe(entryId);
    expect(row?.[1]).toBe(slow.consumer);
    expect(row?.[3]).toBe(1);
    finish?.();
    await waitFor(() => outcomes.length === 1, 'ack');
    expect(calls).toEqual(['slow']);
    await Promise.all([slow.stop(0), other.stop(0)]);
  });
});

describe('data-loss alarm', () => {
  it('a held entry deleted from the stream is reported by the next heartbeat', async () => {
    const { p, entryId } = await publishFor('loss.held', 'loss-held');
    await fx.redis.xreadgroup('GROUP', 'loss.held', 'consumer-a', 'STREAMS', p.stream, '>');
    await fx.redis.xdel(p.stream, entryId);
    const beat = await heartbeatOnce(fx.redis, 'loss.held', 'consumer-a', {
      snapshot: () => new Map([[p, [entryId]]]),
    });
    expect(beat.lost.get(p)).toEqual([entryId]);
    expect(beat.gone.size).toBe(0);
  });

  it('a pending entry of a dead consumer deleted from the stream raises the alarm when claimed', async () => {
    const { p, entryId } = await publishFor('loss.idle', 'loss-1');
    await fx.redis.xreadgroup('GROUP', 'loss.idle', 'dead-consumer', 'STREAMS', p.stream, '>');
    await fx.redis.xdel(p.stream, entryId);
    const runner = fx.runner(
      { name: 'loss.idle', domain: 'playhub', types: ['bet.opened'], handler: async () => outcome.ack() },
      { settings: { claimFloorMs: 150, heartbeatMs: 50 } },
    );
    const alarms: { stream: string; ids: string[] }[] = [];
    runner.on('dataLoss', (a) => alarms.push(a));
    await runner.start();
    await waitFor(() => alarms.length > 0, 'data-loss alarm');
    expect(alarms[0]).toMatchObject({ job: 'loss.idle', stream: p.stream, ids: [entryId] });
    expect(await pendingRows(p.stream, 'loss.idle')).toEqual([]);
    await runner.stop(0);
  });

  it('a retrying entry deleted from the stream raises the alarm when its hint comes due', async () => {
    const { p, entryId } = await publishFor('loss.retry', 'loss-2');
    let calls = 0;
    const runner = fx.runner(
      {
        name: 'loss.retry',
        domain: 'playhub',
        types: ['bet.opened'],
        handler: async () => {
          calls += 1;
          return outcome.retry('not yet', 300);
        },
      },
      { settings: { retryPollMs: 20 } },
    );
    const alarms: { stream: string; ids: string[] }[] = [];
    runner.on('dataLoss', (a) => alarms.push(a));
    runner.on('outcome', (o) => {
      if (o.kind === 'retry') void fx.redis.xdel(p.stream, entryId);
    });
    await runner.start();
    await waitFor(() => alarms.length > 0, 'data-loss alarm');
    expect(alarms[0]?.ids).toEqual([entryId]);
    expect(calls).toBe(1);
    expect(await fx.redis.zcard(p.retry('loss.retry'))).toBe(0);
    await runner.stop(0);
  });

  it('a stale hint for an entry that is no longer pending is dropped without an alarm', async () => {
    const { p, entryId } = await publishFor('stale.hint', 'stale-1');
    await fx.redis.xreadgroup('GROUP', 'stale.hint', 'someone', 'STREAMS', p.stream, '>');
    await fx.redis.xack(p.stream, 'stale.hint', entryId);
    await fx.redis.zadd(p.retry('stale.hint'), 0, entryId);
    const runner = fx.runner(
      { name: 'stale.hint', domain: 'playhub', types: ['bet.opened'], handler: async () => outcome.ack() },
      { settings: { retryPollMs: 20 } },
    );
    const alarms: unknown[] = [];
    runner.on('dataLoss', (a) => alarms.push(a));
    await runner.start();
    await waitFor(async () => (await fx.redis.zcard(p.retry('stale.hint'))) === 0, 'stale hint dropped');
    expect(alarms).toEqual([]);
    await runner.stop(0);
  });
});
