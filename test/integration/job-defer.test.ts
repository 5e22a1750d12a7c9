// Defer and repeat through the runner, the timer wheel and a real mover: a 202 from a mock PlayHub re-emits the
// bet until 200, past its window the timeout action (push) runs once, and `every` + `limit` repeats a job.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { decodeEntry } from '../../src/events/wire.js';
import type { JobDefinition } from '../../src/pipelines/job-definition.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { deferTimerId } from '../../src/pipelines/deferral.js';
import { createTimerMover, type TimerMover } from '../../src/scheduler/timer-mover.js';
import { createHttpSink, type HttpSink } from '../../src/sinks/http-sink.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createServicePools } from '../../src/sinks/service-pools.js';
import { createServiceTokens } from '../../src/sinks/service-tokens.js';
import { outcome } from '../../src/streams/outcome.js';
import { startMockService, type MockService } from '../support/mock-service.js';
import { createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

const SETTLE = 'POST /internal/v1/cfb/settle';
const PUSH = 'POST /internal/v1/cfb/push';
const jwk = generateServiceKeyPair();
type Bet = { betId: string; tEnd?: string };

let fx: StreamsFixture;
let playhub: MockService;
let mover: TimerMover;
let sink: HttpSink;
let closePools: () => Promise<void>;
const moverErrors: unknown[] = [];

beforeAll(async () => {
  fx = await createStreamsFixture(import.meta.url, { partitions: 2 });
  playhub = await startMockService({ audience: 'playhub', publicJwks: [jwk.publicJwk] });
  const pools = createServicePools(
    { playhub: playhub.url },
    { connectTimeoutMs: 1000, requestTimeoutMs: 2000 },
  );
  closePools = () => pools.close();
  const tokens = createServiceTokens({ privateJwk: jwk.privateJwk, issuer: 'workers' });
  sink = createHttpSink({ pools, tokens, responseMaxBytes: 64 * 1024 });
  const partitions = Array.from({ length: fx.partitions }, (_, i) => fx.keys.partition('playhub', i));
  mover = createTimerMover({
    redis: fx.connect(),
    subscriber: fx.connect(),
    keys: fx.keys,
    partitions,
    maxPollMs: 100,
  });
  mover.on('error', (error) => moverErrors.push(error));
  await mover.start();
});
afterAll(async () => {
  await mover.stop();
  expect(moverErrors).toEqual([]);
  await fx.close();
  await closePools();
  await playhub.close();
});

/** Starts a runner (its group is created at `$`, so before anything is published) and collects its outcomes. */
async function collect(job: JobDefinition<Bet>): Promise<OutcomeEvent[]> {
  const runner = fx.runner(job);
  const list: OutcomeEvent[] = [];
  // other groups' re-emissions land in the same streams and are skipped here: keep this group's own work
  runner.on('outcome', (o) => o.kind !== 'skip' && list.push(o));
  await runner.start();
  return list;
}

/** cfb.settle: settle at PlayHub; past the settlement window, push (void/refund) instead, exactly once. */
function settleJob(name: string, windowEndsAt: number): JobDefinition<Bet> {
  const call = (path: string, event: EventEnvelope<Bet>, signal: AbortSignal) =>
    sink.outcomeOf(
      {
        service: 'playhub',
        path,
        body: { betId: event.data.betId },
        idempotencyKey: idempotencyKey(name, event.data.betId, event.data.tEnd ?? 'none'),
      },
      { event, signal },
    );
  return {
    name,
    domain: 'playhub',
    types: ['bet.opened'],
    handler: (event, ctx) => call('/internal/v1/cfb/settle', event, ctx.signal),
    defer: {
      jitterMs: 200,
      deadline: () => windowEndsAt,
      onTimeout: (event, _cause, signal) => call('/internal/v1/cfb/push', event, signal),
    },
  };
}

function requestsFor(route: string, betId: string) {
  return playhub.requestsTo(route).filter((r) => (r.body as Bet).betId === betId);
}

/** The re-emitted entries of one event id in the partition stream (everything after the original). */
async function reemissions(stream: string, eventId: string): Promise<EventEnvelope[]> {
  const entries = await fx.redis.xrange(stream, '-', '+');
  return entries
    .map(([, fields]) => decodeEntry(fields))
    .filter((e) => e.id === eventId && e.repetition !== undefined);
}

describe('defer through the timer wheel', () => {
  it('202 twice: re-emitted to the group with jitter until 200, then acked; one key, applied once', async () => {
    playhub.script(SETTLE, [
      { status: 202, headers: { 'retry-after': '1' }, body: { status: 'ORACLE_DEGRADED' } },
      { status: 202, headers: { 'retry-after': '1' }, body: { status: 'ORACLE_DEGRADED' } },
    ]);
    const outcomes = await collect(settleJob('cfb.settle.d1', Date.now() + 60_000));
    const event = fx.event('bet-d1', { betId: 'bet-d1', tEnd: '1700000000000' });
    await fx.publisher.publish(event);
    await waitFor(() => outcomes.some((o) => o.kind === 'ack'), 'the bet settled after two deferrals');

    expect(outcomes.map((o) => o.kind)).toEqual(['defer', 'defer', 'ack']);
    for (const deferral of outcomes.slice(0, 2)) {
      expect(deferral.failures).toBe(0);
      expect(deferral.delayMs).toBeGreaterThanOrEqual(900);
      expect(deferral.delayMs).toBeLessThanOrEqual(1200);
    }
    const stream = outcomes[0]!.stream;
    const copies = await reemissions(stream, event.id);
    expect(copies.map((c) => [c.targetGroup, c.repetition])).toEqual([
      ['cfb.settle.d1', 1],
      ['cfb.settle.d1', 2],
    ]);
    const keysSent = requestsFor(SETTLE, 'bet-d1').map((r) => r.idempotencyKey);
    expect(keysSent).toHaveLength(3);
    expect(new Set(keysSent).size).toBe(1);
    expect(playhub.applied(keysSent[0]!)).toBe(1);
    expect(requestsFor(PUSH, 'bet-d1')).toHaveLength(0);
  });

  it('past the settlement window the timeout action (push) runs once, with its own retry', async () => {
    playhub.script(
      SETTLE,
      Array.from({ length: 10 }, () => ({ status: 202, headers: { 'retry-after': '1' } })),
    );
    playhub.script(PUSH, [{ status: 503 }]);
    const outcomes = await collect(settleJob('cfb.settle.d2', Date.now() + 1_500));
    const event = fx.event('bet-d2', { betId: 'bet-d2', tEnd: '1700000000001' });
    await fx.publisher.publish(event);
    await waitFor(() => outcomes.some((o) => o.kind === 'ack'), 'the push after the window');

    // deferred while inside the window, then the push failed once (503) and was retried, then acked
    const kinds = outcomes.map((o) => o.kind);
    expect(kinds.at(-2)).toBe('retry');
    expect(kinds.at(-1)).toBe('ack');
    expect(kinds.filter((k) => k === 'defer').length).toBeGreaterThanOrEqual(1);
    const pushes = requestsFor(PUSH, 'bet-d2');
    expect(pushes).toHaveLength(2);
    expect(pushes[0]?.idempotencyKey).toBe(pushes[1]?.idempotencyKey);
    expect(playhub.applied(pushes[0]!.idempotencyKey!)).toBe(1);
    // no timer is left that could bring the bet back
    const partition = fx.keys.partition('playhub', Number(/:(\d+)\}/.exec(outcomes[0]!.stream)?.[1]));
    expect(await fx.redis.zscore(partition.timers, deferTimerId('cfb.settle.d2', event.id))).toBeNull();
  });
});

describe('repeat: every + limit', () => {
  function repeatJob(name: string, confirmedAtRun: number | undefined, finals: string[]): JobDefinition<Bet> {
    return {
      name,
      domain: 'playhub',
      types: ['bet.opened'],
      handler: async (event) =>
        (event.repetition ?? 0) + 1 === confirmedAtRun ? outcome.ack() : outcome.later('not confirmed yet'),
      defer: {
        everyMs: 1_000,
        limit: 5,
        onTimeout: async (event, cause) => {
          finals.push(`${event.data.betId}:${cause}:${event.repetition ?? 0}`);
          return outcome.ack();
        },
      },
    };
  }

  it('every 1 s limit 5: five runs, then the final action once', async () => {
    const finals: string[] = [];
    const outcomes = await collect(repeatJob('deposit.confirm.r1', undefined, finals));
    await fx.publisher.publish(fx.event('dep-1', { betId: 'dep-1' }));
    await waitFor(() => outcomes.some((o) => o.kind === 'ack'), 'the final action', 20_000);
    expect(outcomes.map((o) => o.kind)).toEqual(['defer', 'defer', 'defer', 'defer', 'defer', 'ack']);
    expect(outcomes.slice(0, 4).every((o) => (o.delayMs ?? 0) >= 900)).toBe(true);
    expect(finals).toEqual(['dep-1:limit:5']);
  });

  it('stops at the run that reports the awaited state, with no timer left behind', async () => {
    const finals: string[] = [];
    const outcomes = await collect(repeatJob('deposit.confirm.r2', 3, finals));
    const event = fx.event('dep-2', { betId: 'dep-2' });
    await fx.publisher.publish(event);
    await waitFor(() => outcomes.some((o) => o.kind === 'ack'), 'confirmation at the 3rd run', 10_000);
    expect(outcomes.map((o) => o.kind)).toEqual(['defer', 'defer', 'ack']);
    expect(finals).toEqual([]);
    const partition = fx.keys.partition('playhub', Number(/:(\d+)\}/.exec(outcomes[0]!.stream)?.[1]));
    expect(await fx.redis.zscore(partition.timers, deferTimerId('deposit.confirm.r2', event.id))).toBeNull();
  });
});
