// Review fixes of the job runner on real Redis: a new deferral chain of an event is not dropped by the tombstone of
// its finished one, a defer that cannot be written is dead with its reason (not retried into a crash loop), reclaim
// sources spend shared rate-limit tokens only on what they claimed, and throwing listeners break nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { encodeEvent } from '../../src/events/wire.js';
import type { JobDefinition } from '../../src/pipelines/job-definition.js';
import type { OutcomeEvent, RunnerDeps } from '../../src/pipelines/job-runner.js';
import { createTimerMover, type TimerMover } from '../../src/scheduler/timer-mover.js';
import { outcome } from '../../src/streams/outcome.js';
import { createStreamsFixture, DOMAIN, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

type Bet = { betId: string; tEnd?: string };

let fx: StreamsFixture;
let mover: TimerMover;

beforeAll(async () => {
  fx = await createStreamsFixture(import.meta.url, { partitions: 2 });
  fx.registry.register({
    type: 'bet.padded',
    domain: DOMAIN,
    schema: z.strictObject({ betId: z.string(), pad: z.string() }),
  });
  const partitions = Array.from({ length: fx.partitions }, (_, i) => fx.keys.partition(DOMAIN, i));
  mover = createTimerMover({ redis: fx.connect(), keys: fx.keys, partitions, maxPollMs: 50 });
  await mover.start();
});
afterAll(async () => {
  await mover.stop();
  await fx.close();
});

/** Starts a runner (group at `$`) and collects the outcomes of its own work (skips of other groups' entries left out). */
async function started<T>(job: JobDefinition<T>, overrides: Partial<RunnerDeps> = {}) {
  const runner = fx.runner(job, overrides);
  const outcomes: OutcomeEvent[] = [];
  runner.on('outcome', (o) => o.kind !== 'skip' && outcomes.push(o));
  await runner.start();
  return { runner, outcomes };
}

async function pendingOf(group: string): Promise<number> {
  let pending = 0;
  for (let p = 0; p < fx.partitions; p++) {
    pending += ((await fx.redis.xpending(fx.keys.partition(DOMAIN, p).stream, group)) as [number])[0];
  }
  return pending;
}

async function deadLetters(group: string): Promise<Record<string, string>[]> {
  const letters: Record<string, string>[] = [];
  for (let p = 0; p < fx.partitions; p++) {
    for (const [, fields] of await fx.redis.xrange(fx.keys.partition(DOMAIN, p).dlq, '-', '+')) {
      const letter: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) letter[fields[i]!] = fields[i + 1]!;
      if (letter.group === group) letters.push(letter);
    }
  }
  return letters;
}

describe('deferral chains', () => {
  it('a new run of an event whose chain finished (DLQ replay, backfill) defers again instead of being dropped', async () => {
    let phase = 1;
    const { runner, outcomes } = await started<Bet>({
      name: 'chain.rerun',
      domain: DOMAIN,
      types: ['bet.opened'],
      defer: { everyMs: 100 },
      handler: async (event) => {
        if (event.repetition === undefined) return outcome.later('not confirmed yet');
        return phase === 1 ? outcome.dead('rejected', '422') : outcome.ack();
      },
    });
    const event = fx.event('chain-1');
    const published = await fx.publisher.publish(event);
    await waitFor(() => outcomes.some((o) => o.kind === 'dead'), 'the first chain ended in the DLQ');
    expect(outcomes.map((o) => o.kind)).toEqual(['defer', 'dead']);

    // the same original fact enters the stream again (no repetition): its chain's timer is tombstoned at run 1
    phase = 2;
    await fx.redis.xadd(published.stream, '*', ...encodeEvent(event));
    await waitFor(
      () => outcomes.some((o) => o.kind === 'ack'),
      'the second chain re-emitted and acked',
      5_000,
    );
    expect(outcomes.map((o) => [o.kind, o.reason])).toEqual([
      ['defer', 'not confirmed yet'],
      ['dead', 'rejected'],
      ['defer', 'not confirmed yet'],
      ['ack', undefined],
    ]);
    await runner.stop(0);
  });
});

describe('a defer that cannot be written', () => {
  it('is dead at once with the reason (no crash loop): no repeat interval, bad time, id, version, size', async () => {
    let laterCalls = 0;
    const base = { domain: DOMAIN, types: ['bet.opened'], handler: async () => outcome.ack() };
    const runAt = (overrides: object) => ({
      at: () => Date.now() + 60_000,
      timerId: () => 'bet',
      ...overrides,
    });
    const jobs: JobDefinition<Bet>[] = [
      {
        ...base,
        name: 'invalid.no-every',
        handler: async () => {
          laterCalls += 1;
          return outcome.later('not yet');
        },
      },
      { ...base, name: 'invalid.at-nan', runAt: runAt({ at: () => Number.NaN }) },
      { ...base, name: 'invalid.at-fraction', runAt: runAt({ at: () => Date.now() + 60_000.5 }) },
      { ...base, name: 'invalid.long-id', runAt: runAt({ timerId: () => 'x'.repeat(300) }) },
      { ...base, name: 'invalid.version', runAt: runAt({ version: () => -1 }) },
      {
        ...base,
        name: 'invalid.too-big',
        types: ['bet.padded'],
        handler: async () => outcome.defer(Date.now() + 60_000, 'not yet'),
      },
    ];
    const runs = await Promise.all(jobs.map((job) => started(job)));
    await fx.publisher.publish(fx.event('invalid-1'));
    // encoded at just under the publisher's 64 KiB cap: the re-emission's targetGroup and repetition push it over
    const padded = fx.event('invalid-2', { betId: 'invalid-2', pad: '' }, 'bet.padded');
    const room = 65_536 - Buffer.byteLength(encodeEvent(padded).join(''));
    await fx.publisher.publish({ ...padded, data: { betId: 'invalid-2', pad: 'p'.repeat(room) } });

    for (const [i, { outcomes }] of runs.entries()) {
      const name = jobs[i]!.name;
      await waitFor(() => outcomes.length > 0, `the outcome of ${name}`);
      expect(outcomes.map((o) => [o.kind, o.reason, o.failures])).toEqual([['dead', 'invalid defer', 0]]);
      const letters = await deadLetters(name);
      expect(letters.map((l) => l.reason)).toEqual(['invalid defer']);
      expect(await pendingOf(name)).toBe(0);
    }
    expect(laterCalls).toBe(1);
    expect((await deadLetters('invalid.no-every'))[0]?.error).toMatch(/defer\.everyMs/);
    expect((await deadLetters('invalid.long-id'))[0]?.error).toMatch(/timer id/);
    expect((await deadLetters('invalid.too-big'))[0]?.error).toMatch(/bytes/);
    await Promise.all(runs.map(({ runner }) => runner.stop(0)));
  });
});

describe('shared rate limit', () => {
  it('due-retry and idle polls spend no token: claimed entries take theirs after the claim', async () => {
    let attempts = 0;
    // 4 tokens and practically no refill: the first read (1), the read after it (1) and the retry (1) fit; a
    // claim source taking tokens for its polls would empty the bucket and the retry would never run
    const { runner, outcomes } = await started(
      {
        name: 'shared.claims',
        domain: DOMAIN,
        types: ['bet.opened'],
        concurrency: 3,
        distributedRateLimit: { name: 'shared-claims', perSecond: 0.001, burst: 4 },
        handler: async () => {
          attempts += 1;
          return attempts === 1 ? outcome.retry('not yet', 300) : outcome.ack();
        },
      },
      { settings: { retryPollMs: 20, claimFloorMs: 300, blockMs: 10_000 } },
    );
    const waits: unknown[] = [];
    runner.rateLimiter?.on('wait', (w) => waits.push(w));
    const errors: unknown[] = [];
    runner.on('loopError', (e) => errors.push(e));
    await fx.publisher.publish(fx.event('shared-1'));
    await waitFor(
      () => outcomes.some((o) => o.kind === 'ack'),
      'the retry handled with the tokens left',
      5_000,
    );
    expect(outcomes.map((o) => [o.kind, o.source])).toEqual([
      ['retry', 'new'],
      ['ack', 'retry'],
    ]);
    expect(waits).toEqual([]);
    expect(errors).toEqual([]);
    await runner.stop(0);
  });
});

describe('listeners', () => {
  it('a throwing outcome or loopError listener breaks neither the pipeline nor a source loop', async () => {
    const handled: string[] = [];
    const { runner } = await started({
      name: 'listener.throws',
      domain: DOMAIN,
      types: ['bet.opened'],
      handler: async (event: EventEnvelope) => {
        handled.push(event.id);
        return outcome.ack();
      },
    });
    const loopErrors: string[] = [];
    runner.on('loopError', (e) => loopErrors.push(e.where));
    runner.on('loopError', () => {
      throw new Error('a broken loopError listener');
    });
    runner.on('outcome', () => {
      throw new Error('a broken outcome listener');
    });
    const first = fx.event('listener-1');
    await fx.publisher.publish(first);
    await waitFor(() => loopErrors.includes('outcome-listener'), 'the outcome listener error reported');
    const second = fx.event('listener-2');
    await fx.publisher.publish(second);
    await waitFor(() => handled.length === 2, 'the next event handled too');
    await waitFor(async () => (await pendingOf('listener.throws')) === 0, 'both acked');
    expect(handled).toEqual([first.id, second.id]);
    expect(new Set(loopErrors)).toEqual(new Set(['outcome-listener']));
    await runner.stop(0);
  });
});
