// The outcome contract on real Redis: retry hints and backoff, Retry-After, exhausted failures and poison to
// the DLQ, and partial script failures that leave nothing lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../../src/errors.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { backoffDelay, defaultBackoff } from '../../src/streams/backoff.js';
import { outcome } from '../../src/streams/outcome.js';
import { createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

let fx: StreamsFixture;
beforeAll(async () => {
  fx = await createStreamsFixture('consumer-outcomes', { partitions: 2 });
});
afterAll(async () => fx.close());

const backoff = { ...defaultBackoff, baseMs: 200 };
const half = (): number => 0.5;

async function redisNowMs(): Promise<number> {
  const [s, us] = await fx.redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

function collect(runner: { on(e: 'outcome', l: (o: OutcomeEvent) => void): unknown }): OutcomeEvent[] {
  const list: OutcomeEvent[] = [];
  runner.on('outcome', (o) => list.push(o));
  return list;
}

async function dlqEntries(): Promise<Record<string, string>[]> {
  const all: Record<string, string>[] = [];
  for (let p = 0; p < fx.partitions; p++) {
    const rows = await fx.redis.xrange(fx.keys.partition('playhub', p).dlq, '-', '+');
    for (const [, fields] of rows) {
      const obj: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) obj[fields[i] as string] = fields[i + 1] as string;
      all.push(obj);
    }
  }
  return all;
}

describe('outcomes', () => {
  it('a handler failing twice then succeeding is called 3 times; hints follow the backoff formula', async () => {
    const calls: number[] = [];
    const hintChecks: { expected: number; left: number; failures: string | null }[] = [];
    const runner = fx.runner(
      {
        name: 'retry.twice',
        domain: 'playhub',
        types: ['bet.opened'],
        handler: async (_event, ctx) => {
          calls.push(ctx.attempt);
          if (ctx.attempt <= 2) throw new Error(`flaky ${ctx.attempt}`);
          return outcome.ack();
        },
      },
      { random: half, settings: { backoff, retryPollMs: 20 } },
    );
    runner.on('outcome', (o) => {
      if (o.kind !== 'retry') return;
      const p = fx.keys.partition('playhub', Number(/\{[^}]*:(\d+)\}/.exec(o.stream)?.[1]));
      void Promise.all([
        fx.redis.zscore(p.retry('retry.twice'), o.entryId),
        fx.redis.hget(p.failures('retry.twice'), o.entryId),
        redisNowMs(),
      ]).then(([score, failures, now]) => {
        hintChecks.push({
          expected: backoffDelay(backoff, o.failures, half),
          left: Number(score) - now,
          failures,
        });
      });
    });
    const outcomes = collect(runner);
    await runner.start();
    await fx.publisher.publish(fx.event('retry-1'));
    await waitFor(() => outcomes.some((o) => o.kind === 'ack'), 'final ack');
    expect(calls).toEqual([1, 2, 3]);
    expect(outcomes.map((o) => [o.kind, o.failures, o.delayMs])).toEqual([
      ['retry', 1, backoffDelay(backoff, 1, half)],
      ['retry', 2, backoffDelay(backoff, 2, half)],
      ['ack', 2, undefined],
    ]);
    // 0.75 x ceiling with random 0.5: 150 ms then 300 ms
    expect(outcomes[0]?.delayMs).toBe(150);
    expect(outcomes[1]?.delayMs).toBe(300);
    await waitFor(() => hintChecks.length === 2, 'hint checks');
    for (const check of hintChecks) {
      // the hint's due time is Redis time at write + the delay; read a moment later it has at most that left
      if (check.failures !== null) {
        expect(check.left).toBeLessThanOrEqual(check.expected);
        expect(check.left).toBeGreaterThan(check.expected - 150);
      }
    }
    await runner.stop(0);
  });

  it('honours Retry-After from a transient error', async () => {
    const runner = fx.runner(
      {
        name: 'retry.after',
        domain: 'playhub',
        types: ['bet.opened'],
        handler: async (_event, ctx) => {
          if (ctx.attempt === 1) throw new TransientError('429 from downstream', 700);
          return outcome.ack();
        },
      },
      { settings: { backoff, retryPollMs: 20 } },
    );
    const outcomes = collect(runner);
    await runner.start();
    await fx.publisher.publish(fx.event('after-1'));
    await waitFor(() => outcomes.length === 1, 'first outcome');
    const first = outcomes[0];
    expect(first?.kind).toBe('retry');
    expect(first?.delayMs).toBe(700);
    const p = fx.keys.partition('playhub', Number(/:(\d+)\}/.exec(first?.stream ?? '')?.[1]));
    const score = Number(await fx.redis.zscore(p.retry('retry.after'), first?.entryId ?? ''));
    const left = score - (await redisNowMs());
    expect(left).toBeLessThanOrEqual(700);
    expect(left).toBeGreaterThan(400);
    await waitFor(() => outcomes.length === 2, 'ack after Retry-After', 5000);
    expect(outcomes[1]?.kind).toBe('ack');
    await runner.stop(0);
  });

  it('failures exhausted -> DLQ entry with reason, error, failure count and the original envelope', async () => {
    let calls = 0;
    const runner = fx.runner(
      {
        name: 'always.fails',
        domain: 'playhub',
        types: ['bet.opened'],
        maxAttempts: 3,
        handler: async () => {
          calls += 1;
          throw new Error(`downstream 503 on call ${calls}`);
        },
      },
      { settings: { backoff: { ...backoff, baseMs: 20 }, retryPollMs: 10 } },
    );
    const outcomes = collect(runner);
    await runner.start();
    const event = fx.event('exhaust-1');
    await fx.publisher.publish(event);
    await waitFor(() => outcomes.some((o) => o.kind === 'dead'), 'dead outcome');
    expect(calls).toBe(3);
    const dead = (await dlqEntries()).find((e) => e.group === 'always.fails');
    expect(dead?.reason).toBe('failures exhausted');
    expect(dead?.error).toBe('downstream 503 on call 3');
    expect(dead?.failures).toBe('3');
    expect(JSON.parse(dead?.envelope ?? '{}')).toMatchObject({
      id: event.id,
      type: 'bet.opened',
      key: 'exhaust-1',
    });
    expect(dead?.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    await runner.stop(0);
  });

  it('poison (invalid data for a subscribed type) goes to the DLQ at once; an unknown type is skipped', async () => {
    let calls = 0;
    const runner = fx.runner({
      name: 'poison.check',
      domain: 'playhub',
      types: ['bet.opened', 'bet.unknown'],
      handler: async () => {
        calls += 1;
        return outcome.ack();
      },
    });
    const outcomes = collect(runner);
    await runner.start();
    const stream = fx.keys.partition('playhub', 0).stream;
    const valid = fx.event('poison-ok');
    // a producer in another language writes the wire fields directly, with data the schema rejects
    const poisonId = await fx.redis.xadd(stream, '*', 'id', fx.event('x').id, 'type', 'bet.opened', 'key', 'p1', 'occurredAt',
      valid.occurredAt, 'source', 'playhub', 'v', '1', 'data', '{"betId":42}'); // prettier-ignore
    const unknownId = await fx.redis.xadd(stream, '*', 'id', fx.event('y').id, 'type', 'bet.unknown', 'key', 'p2', 'occurredAt',
      valid.occurredAt, 'source', 'playhub', 'v', '1', 'data', '{}'); // prettier-ignore
    await waitFor(() => outcomes.length === 2, 'two outcomes');
    expect(calls).toBe(0);
    const kinds = outcomes.map((o) => [o.kind, o.reason, o.failures]);
    expect(kinds).toContainEqual(['dead', 'invalid', 0]);
    // subscribed but unregistered type: invalid for us, also dead; a type not subscribed is a skip (next test)
    const poison = (await dlqEntries()).filter((e) => e.group === 'poison.check');
    expect(poison.every((e) => e.reason === 'invalid' && e.failures === '0')).toBe(true);
    await runner.stop(0);

    const skipper = fx.runner({
      name: 'poison.skip',
      domain: 'playhub',
      types: ['bet.opened'],
      startId: '0',
      handler: async () => outcome.ack(),
    });
    const skipOutcomes = collect(skipper);
    await skipper.start();
    const mine = (): OutcomeEvent[] =>
      skipOutcomes.filter((o) => o.entryId === poisonId || o.entryId === unknownId);
    await waitFor(() => mine().length === 2, 'skipper outcomes');
    expect(mine().find((o) => o.entryId === unknownId)?.kind).toBe('skip');
    expect(mine().find((o) => o.entryId === poisonId)?.kind).toBe('dead');
    expect((await dlqEntries()).filter((e) => e.group === 'poison.skip').map((e) => e.reason)).toEqual([
      'invalid',
    ]);
    await skipper.stop(0);
  });

  it('a dedupe mark makes a redelivered, already-acked event a duplicate that is not handled again', async () => {
    let calls = 0;
    const runner = fx.runner({
      name: 'dedupe.check',
      domain: 'playhub',
      types: ['bet.opened'],
      handler: async () => {
        calls += 1;
        return outcome.ack();
      },
    });
    const outcomes = collect(runner);
    await runner.start();
    const event = fx.event('dup-1');
    const first = await fx.publisher.publish(event);
    await waitFor(() => outcomes.length === 1, 'first ack');
    // the same event id in a new stream entry (a producer outside the publisher's window, or a replay)
    const { encodeEvent } = await import('../../src/events/wire.js');
    await fx.redis.xadd(first.stream, '*', ...encodeEvent(event));
    await waitFor(() => outcomes.length === 2, 'second outcome');
    expect(calls).toBe(1);
    expect(outcomes[1]?.kind).toBe('duplicate');
    await runner.stop(0);
  });
});

describe('scripts that fail half-way', () => {
  it('a DLQ write that fails leaves the entry pending, and it is dead-lettered once the fault is gone', async () => {
    const p = fx.keys.partition('playhub', 1);
    await fx.redis.set(p.dlq, 'not a stream'); // XADD to the DLQ now fails inside dead-letter-4
    const runner = fx.runner(
      {
        name: 'dlq.fault',
        domain: 'playhub',
        types: ['bet.opened'],
        handler: async () => outcome.dead('rejected', '422'),
      },
      { settings: { claimFloorMs: 300, heartbeatMs: 100 } },
    );
    const errors: unknown[] = [];
    runner.on('loopError', (e) => errors.push(e.error));
    const outcomes = collect(runner);
    await runner.start();
    const { partitionOf } = await import('../../src/events/partition.js');
    let key = 'fault-0';
    for (let i = 0; partitionOf(key, fx.partitions) !== 1; i++) key = `fault-${i}`;
    const published = await fx.publisher.publish(fx.event(key));
    await waitFor(() => errors.length > 0, 'the failed DLQ write');
    const pending = (await fx.redis.xpending(p.stream, 'dlq.fault', '-', '+', 10)) as [string][];
    expect(pending.map((row) => row[0])).toContain(published.entryId);
    await fx.redis.del(p.dlq);
    await waitFor(() => outcomes.some((o) => o.kind === 'dead'), 'dead-lettered after the fault', 10_000);
    expect(await fx.redis.xlen(p.dlq)).toBe(1);
    expect(((await fx.redis.xpending(p.stream, 'dlq.fault')) as [number])[0]).toBe(0);
    await runner.stop(0);
  });

  it('a crash between the dedupe mark and the XACK: the redelivered entry is acked as a duplicate, not re-run', async () => {
    let calls = 0;
    const event = fx.event('mark-then-crash');
    const { partitionOf } = await import('../../src/events/partition.js');
    const p = fx.keys.partition('playhub', partitionOf(event.key, fx.partitions));
    await fx.redis.xgroup('CREATE', p.stream, 'mark.crash', '$');
    const published = await fx.publisher.publish(event);
    // the state ack-and-mark-4 leaves if it stops after SADD: delivered to a now-dead consumer, marked, not acked
    await fx.redis.xreadgroup('GROUP', 'mark.crash', 'dead-consumer', 'COUNT', 100, 'STREAMS', p.stream, '>');
    const { createDedupeWindow } = await import('../../src/streams/dedupe-window.js');
    const bucket = createDedupeWindow(3_600_000).bucketsAt(Date.now())[0] ?? 0;
    await fx.redis.sadd(p.seen('mark.crash', bucket), event.id);
    const runner = fx.runner(
      {
        name: 'mark.crash',
        domain: 'playhub',
        types: ['bet.opened'],
        handler: async () => {
          calls += 1;
          return outcome.ack();
        },
      },
      { settings: { claimFloorMs: 200, heartbeatMs: 50 } },
    );
    const outcomes = collect(runner);
    await runner.start();
    await waitFor(() => outcomes.some((o) => o.entryId === published.entryId), 'reclaimed entry settled');
    expect(outcomes.find((o) => o.entryId === published.entryId)?.kind).toBe('duplicate');
    expect(calls).toBe(0);
    expect(((await fx.redis.xpending(p.stream, 'mark.crash')) as [number])[0]).toBe(0);
    await runner.stop(0);
  });

  it('an ack script that fails after XACK (hint cleanup) leaves the entry acked and marked, handled once', async () => {
    let calls = 0;
    const runner = fx.runner({
      name: 'cleanup.fault',
      domain: 'playhub',
      types: ['bet.opened'],
      handler: async () => {
        calls += 1;
        return outcome.ack();
      },
    });
    const errors: unknown[] = [];
    runner.on('loopError', (e) => {
      if (e.where === 'outcome') errors.push(e.error); // claim-due also trips over the wrong-type key
    });
    for (let i = 0; i < fx.partitions; i++) {
      await fx.redis.set(fx.keys.partition('playhub', i).retry('cleanup.fault'), 'wrong type'); // ZREM fails
    }
    await runner.start();
    const published = await fx.publisher.publish(fx.event('cleanup-fault'));
    await waitFor(() => errors.length > 0, 'the failed ack script');
    const p = fx.keys.partition('playhub', published.partition);
    expect(((await fx.redis.xpending(p.stream, 'cleanup.fault')) as [number])[0]).toBe(0);
    expect(calls).toBe(1);
    await runner.stop(0);
  });
});
