// The HTTP sink end to end through a real stream: published event -> job runner -> sink -> mock service, with
// Retry-After driving the retry hint, a hanging server cut and retried, and one Idempotency-Key across every
// retry, redelivery and a restarted worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createTimerMover } from '../../src/scheduler/timer-mover.js';
import { defaultBackoff } from '../../src/streams/backoff.js';
import { createHttpSink, serviceCallHandler, type HttpSink } from '../../src/sinks/http-sink.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createServicePools, type ServicePools } from '../../src/sinks/service-pools.js';
import { createServiceTokens } from '../../src/sinks/service-tokens.js';
import { startMockService, type MockService } from '../support/mock-service.js';
import { createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

const SETTLE = 'POST /internal/v1/cfb/settle';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const keys = generateServiceKeyPair();
const fast = { backoff: { ...defaultBackoff, baseMs: 20, maxMs: 100 }, retryPollMs: 20 };

let fx: StreamsFixture;
let playhub: MockService;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  fx = await createStreamsFixture(import.meta.url, { partitions: 2 });
  playhub = await startMockService({ audience: 'playhub', publicJwks: [keys.publicJwk] });
});
afterAll(async () => {
  await fx.close();
  for (const resource of opened) await resource.close();
  await playhub.close();
});

/** A fresh sink as a new worker process would build it: new pools, new token cache. */
function newSink(requestTimeoutMs = 2000): HttpSink {
  const pools: ServicePools = createServicePools(
    { playhub: playhub.url },
    { connectTimeoutMs: 1000, requestTimeoutMs },
  );
  opened.push(pools);
  const tokens = createServiceTokens({ privateJwk: keys.privateJwk, issuer: 'workers' });
  return createHttpSink({ pools, tokens, responseMaxBytes: 64 * 1024 });
}

/** cfb.settle as a job would declare it: one call per event, keyed by the bet and its T_end. */
function settleJob(name: string, sink: HttpSink) {
  return {
    name,
    domain: 'playhub',
    types: ['bet.opened'],
    handler: serviceCallHandler<{ betId: string; tEnd?: string }>(sink, (event) => ({
      service: 'playhub',
      path: '/internal/v1/cfb/settle',
      body: { betId: event.data.betId },
      idempotencyKey: idempotencyKey(name, event.data.betId, event.data.tEnd ?? 'none'),
    })),
  };
}

function collect(runner: { on(e: 'outcome', l: (o: OutcomeEvent) => void): unknown }): OutcomeEvent[] {
  const list: OutcomeEvent[] = [];
  runner.on('outcome', (o) => list.push(o));
  return list;
}

function keysSeenFor(betId: string): (string | undefined)[] {
  return playhub
    .requestsTo(SETTLE)
    .filter((r) => (r.body as { betId?: string }).betId === betId)
    .map((r) => r.idempotencyKey);
}

async function redisNowMs(): Promise<number> {
  const [s, us] = await fx.redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

function publishBet(betId: string): Promise<unknown> {
  const event: EventEnvelope = {
    ...fx.event(betId, { betId, tEnd: '1700000000000' }),
    traceparent: TRACEPARENT,
  };
  return fx.publisher.publish(event);
}

describe('sink through a job runner', () => {
  it('429 Retry-After: 2 then 200: the retry hint follows Retry-After, then the same key is acked once', async () => {
    playhub.script(SETTLE, [
      { status: 429, headers: { 'retry-after': '2' }, body: { error: { code: 'RATE_LIMITED' } } },
    ]);
    const runner = fx.runner(settleJob('cfb.settle.ra', newSink()), { settings: fast });
    const outcomes = collect(runner);
    await runner.start();
    await publishBet('bet-ra');
    await waitFor(() => outcomes.length === 1, 'the 429 outcome');
    const first = outcomes[0]!;
    expect(first).toMatchObject({ kind: 'retry', delayMs: 2000, failures: 1 });
    expect(first.reason).toMatch(/playhub POST \/internal\/v1\/cfb\/settle -> 429/);
    const partition = fx.keys.partition('playhub', Number(/:(\d+)\}/.exec(first.stream)?.[1]));
    const due = Number(await fx.redis.zscore(partition.retry('cfb.settle.ra'), first.entryId));
    const left = due - (await redisNowMs());
    expect(left).toBeLessThanOrEqual(2000);
    expect(left).toBeGreaterThan(1500);
    await waitFor(() => outcomes.length === 2, 'the ack after Retry-After', 10_000);
    expect(outcomes[1]).toMatchObject({ kind: 'ack', entryId: first.entryId });
    const sent = keysSeenFor('bet-ra');
    expect(sent).toEqual(['cfb.settle.ra:bet-ra:1700000000000', 'cfb.settle.ra:bet-ra:1700000000000']);
    expect(playhub.applied(sent[0]!)).toBe(1);
    expect(playhub.requestsTo(SETTLE).at(-1)?.headers['traceparent']).toBe(TRACEPARENT);
    await runner.stop(0);
  });

  it('a hanging server is cut by the request timeout and retried; every retry carries the same key', async () => {
    playhub.script(SETTLE, [
      { hang: true },
      { status: 503 },
      { reset: true },
      { status: 409, body: { error: { code: 'IN_PROGRESS' } } },
      { status: 500, body: { error: { code: 'INTERNAL' } } },
    ]);
    const runner = fx.runner(settleJob('cfb.settle.flaky', newSink(300)), { settings: fast });
    const outcomes = collect(runner);
    await runner.start();
    await publishBet('bet-flaky');
    await waitFor(() => outcomes.some((o) => o.kind === 'ack'), 'the ack after five failures', 15_000);
    expect(outcomes.map((o) => o.kind)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry', 'ack']);
    expect(outcomes[0]?.reason).toMatch(/UND_ERR_HEADERS_TIMEOUT/);
    expect(outcomes[2]?.reason).toMatch(/UND_ERR_SOCKET|ECONNRESET|other side closed/);
    const sent = keysSeenFor('bet-flaky');
    expect(sent).toHaveLength(6);
    expect(new Set(sent)).toEqual(new Set(['cfb.settle.flaky:bet-flaky:1700000000000']));
    expect(playhub.applied(sent[0]!)).toBe(1);
    expect(playhub.appliedTwice()).toBe(0);
    await runner.stop(0);
  });

  it('a restarted worker (new runner, new sink) retries the same event with the same key', async () => {
    playhub.script(SETTLE, [{ status: 503, headers: { 'retry-after': '1' } }]);
    const before = fx.runner(settleJob('cfb.settle.restart', newSink()), {
      settings: fast,
      consumer: 'worker-a',
    });
    const firstOutcomes = collect(before);
    await before.start();
    await publishBet('bet-restart');
    await waitFor(() => firstOutcomes.length === 1, 'the 503 outcome');
    expect(firstOutcomes[0]).toMatchObject({ kind: 'retry', delayMs: 1000 });
    await before.stop(0);

    const after = fx.runner(settleJob('cfb.settle.restart', newSink()), {
      settings: fast,
      consumer: 'worker-b',
    });
    const secondOutcomes = collect(after);
    await after.start();
    await waitFor(
      () => secondOutcomes.some((o) => o.kind === 'ack'),
      'the ack by the restarted worker',
      10_000,
    );
    expect(secondOutcomes.find((o) => o.kind === 'ack')?.entryId).toBe(firstOutcomes[0]?.entryId);
    const sent = keysSeenFor('bet-restart');
    expect(sent).toEqual([
      'cfb.settle.restart:bet-restart:1700000000000',
      'cfb.settle.restart:bet-restart:1700000000000',
    ]);
    expect(playhub.applied(sent[0]!)).toBe(1);
    await after.stop(0);
  });

  it('202 defers by its Retry-After; 409 "already done" on the next attempt acks without applying again', async () => {
    playhub.script(SETTLE, [
      { status: 202, headers: { 'retry-after': '1' } },
      { status: 409, body: { error: { code: 'ALREADY_DONE', message: 'settled by another worker' } } },
    ]);
    const runner = fx.runner(settleJob('cfb.settle.defer', newSink()), { settings: fast });
    const outcomes = collect(runner);
    // a defer is re-emitted by a timer: the mover brings it back into the stream
    const partitions = Array.from({ length: fx.partitions }, (_, i) => fx.keys.partition('playhub', i));
    const mover = createTimerMover({ redis: fx.connect(), keys: fx.keys, partitions, maxPollMs: 100 });
    await mover.start();
    await runner.start();
    await publishBet('bet-defer');
    await waitFor(() => outcomes.some((o) => o.kind === 'ack'), 'the ack after the defer', 10_000);
    expect(outcomes[0]).toMatchObject({ kind: 'defer', failures: 0 });
    expect(outcomes[0]?.delayMs).toBeLessThanOrEqual(1000);
    expect(outcomes[0]?.delayMs).toBeGreaterThan(800);
    expect(outcomes[1]).toMatchObject({ kind: 'ack' });
    expect(new Set(keysSeenFor('bet-defer'))).toEqual(new Set(['cfb.settle.defer:bet-defer:1700000000000']));
    await runner.stop(0);
    await mover.stop();
  });

  it('a 4xx goes to the DLQ at once with status, target and excerpt', async () => {
    playhub.script(SETTLE, [
      { status: 422, body: { error: { code: 'BET_NOT_OPEN', message: 'bet is cancelled' } } },
    ]);
    const runner = fx.runner(settleJob('cfb.settle.dead', newSink()), { settings: fast });
    const outcomes = collect(runner);
    await runner.start();
    await publishBet('bet-dead');
    await waitFor(() => outcomes.length === 1, 'the dead outcome');
    expect(outcomes[0]).toMatchObject({ kind: 'dead', reason: 'http 422', failures: 0 });
    const partition = fx.keys.partition('playhub', Number(/:(\d+)\}/.exec(outcomes[0]!.stream)?.[1]));
    const [[, fields] = ['', []]] = await fx.redis.xrange(partition.dlq, '-', '+');
    const letter = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
    expect(letter['error']).toContain('playhub POST /internal/v1/cfb/settle -> 422');
    expect(letter['error']).toContain('BET_NOT_OPEN');
    await runner.stop(0);
  });
});
