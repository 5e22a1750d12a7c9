// Model-based test (fast-check) of the consumer outcome state machine: random interleavings of deliver / ack /
// retry / throw / defer / dead / effect-then-crash / crash / claim-due / claim-idle / heartbeat / timer moves by
// three consumers, run against a real redis-server through the real stream components (group reader, seen check,
// decode + crash-loop guard, outcome classification, outcome writer, defer writer, reclaimer, heartbeat, mover).
//
// Why real Redis rather than a model of the Lua: every state change of the contract is one atomic script (ack +
// mark, retry hint, DLQ + ack, defer + ack, claim, heartbeat, move), so the interleavings that matter are exactly
// the sequences of script calls, which the commands generate; the runner's RxJS plumbing between those calls is
// covered by the runner's own tests. Driving the whole runner would hide the interleavings behind its timers.
//
// Checked after every command: no event is lost (its effect was applied, or an entry of it is pending or not yet
// delivered, or its re-emission is on the timer wheel, or it is in the DLQ), and every delivery carries the event's
// own id (the identity the downstream's Idempotency-Key is built from). After a drain by a healthy consumer:
// every event is applied or dead-lettered (at-least-once), none is applied under two keys (at most once at an
// idempotent downstream), and only events something decided to kill are in the DLQ.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { firstValueFrom, of } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createPublisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { decodeEntry } from '../../src/events/wire.js';
import { classifyAttempt, type AttemptResult } from '../../src/pipelines/classify-outcome.js';
import { decodeValidate } from '../../src/pipelines/decode-validate.js';
import { needsHandler } from '../../src/pipelines/prepared.js';
import { deferEntry } from '../../src/scheduler/defer-writer.js';
import { moveDueTimers } from '../../src/scheduler/timer-mover.js';
import { createDedupeWindow } from '../../src/streams/dedupe-window.js';
import type { Delivery } from '../../src/streams/delivery.js';
import { deadLetterFields } from '../../src/streams/dlq-entry.js';
import { createGroupReader, type GroupReader } from '../../src/streams/group-reader.js';
import { heartbeatOnce } from '../../src/streams/heartbeat.js';
import { createKeyBuilder, type KeyBuilder, type PartitionKeys } from '../../src/streams/keys.js';
import { outcome as outcomes, type Outcome } from '../../src/streams/outcome.js';
import { createOutcomeWriter, type OutcomeWriter } from '../../src/streams/outcome-writer.js';
import { createReclaimer, type Reclaimer } from '../../src/streams/reclaimer.js';
import { defineScripts } from '../../src/streams/scripts.js';
import { createSeenCheck } from '../../src/streams/seen-check.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { betOpened, DOMAIN } from '../support/streams-fixture.js';
import { monotonicFactory } from 'ulid';

const GROUP = 'model.job';
const PARTITIONS = 2;
const MAX_ATTEMPTS = 3;
const MAX_DELIVERIES = 4;
const CONSUMERS = ['c0', 'c1', 'c2'] as const;
type ConsumerName = (typeof CONSUMERS)[number] | 'drain';

const db = useRedisPerFile({ appendonly: true });
const nextId = monotonicFactory();
const registry = createEventRegistry();
registry.register({ type: 'bet.opened', domain: DOMAIN, schema: betOpened });
const dedupe = createDedupeWindow(60_000);
const clock = { now: () => Date.now() };
const retryPolicy = {
  maxAttempts: MAX_ATTEMPTS,
  backoff: { baseMs: 1, maxMs: 1, floorRatio: 0 },
  random: () => 0,
};

beforeAll(() => {
  defineScripts(db.redis);
});

/** What the handler does with an entry it was given. */
type HandleKind = 'ack' | 'retry' | 'throw' | 'defer' | 'dead' | 'effectThenCrash';

interface Held {
  readonly delivery: Delivery;
}

interface Consumer {
  readonly name: ConsumerName;
  readonly reader: GroupReader;
  readonly reclaimer: Reclaimer;
  readonly writer: OutcomeWriter;
  /** Entries this consumer believes it holds (its in-memory state; dropped by a crash). */
  readonly held: Map<string, Held>;
}

/** The in-memory model next to Redis: the idempotent downstream and what was decided. */
interface Model {
  readonly events: ReadonlyMap<string, EventEnvelope>;
  /** Downstream: Idempotency-Key -> applications (an idempotent downstream applies a key once). */
  readonly applied: Map<string, number>;
  /** Event id -> the keys its effects were applied under. */
  readonly keysOf: Map<string, Set<string>>;
  /** Events some consumer decided to dead-letter (returned dead, failures exhausted, crash loop). */
  readonly doomed: Set<string>;
  /** Deliveries whose entry decoded to an id that was never published. */
  readonly foreignIds: string[];
  readonly log: string[];
}

interface Real {
  readonly keys: KeyBuilder;
  readonly partitions: readonly PartitionKeys[];
  readonly consumers: Map<ConsumerName, Consumer>;
  readonly seen: ReturnType<typeof createSeenCheck>;
  /** One blocking-read connection per consumer of this run, closed after it. */
  readonly blocking: Redis[];
}

function consumer(real: Real, name: ConsumerName): Consumer {
  const existing = real.consumers.get(name);
  if (existing) return existing;
  const blockingRedis = db.redis.duplicate();
  real.blocking.push(blockingRedis);
  const created: Consumer = {
    name,
    reader: createGroupReader({
      redis: db.redis,
      blockingRedis,
      partitions: real.partitions,
      group: GROUP,
      consumer: name,
      startId: '0',
      blockMs: 1,
    }),
    reclaimer: createReclaimer({
      redis: db.redis,
      partitions: real.partitions,
      group: GROUP,
      consumer: name,
      claimFloorMs: 0,
    }),
    writer: createOutcomeWriter({ redis: db.redis, group: GROUP, consumer: name, dedupe, clock }),
    held: new Map(),
  };
  real.consumers.set(name, created);
  return created;
}

/** The downstream effect: applied once per key; the key is the delivered entry's own event id. */
function applyEffect(model: Model, eventId: string): void {
  const key = `${GROUP}:${eventId}`;
  model.applied.set(key, (model.applied.get(key) ?? 0) + 1);
  const keys = model.keysOf.get(eventId) ?? new Set<string>();
  keys.add(key);
  model.keysOf.set(eventId, keys);
}

/**
 * Takes deliveries in as the runner does: the crash-loop guard and decoding (decodeValidate), then the dedupe
 * check (a repeat of an acked event is acked without a mark and never reaches the handler).
 */
async function takeIn(model: Model, real: Real, c: Consumer, deliveries: readonly Delivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  const prepared = await firstValueFrom(
    of(deliveries).pipe(
      decodeValidate({ group: GROUP, types: ['bet.opened'], maxDeliveries: MAX_DELIVERIES, registry }),
    ),
  );
  const toHandle = prepared.filter(needsHandler);
  const seen = await real.seen(toHandle);
  for (const item of prepared) {
    const id = decodeEntry(item.delivery.fields).id;
    if (!model.events.has(id)) model.foreignIds.push(id);
    if (!needsHandler(item)) {
      // a verdict before any handler: the crash-loop guard
      if (item.verdict.kind === 'dead') model.doomed.add(id);
      await settle(model, real, c, item.delivery, item.verdict, 0);
      continue;
    }
    if (seen[toHandle.indexOf(item)] === true) {
      await c.writer.ack(item.delivery);
      continue;
    }
    c.held.set(item.delivery.entryId, { delivery: item.delivery });
  }
}

/** Writes a classified outcome the way the runner settles it. */
async function settle(
  model: Model,
  real: Real,
  c: Consumer,
  delivery: Delivery,
  final: Outcome,
  failures: number,
  delayMs = 0,
): Promise<void> {
  const event = decodeEntry(delivery.fields);
  switch (final.kind) {
    case 'ack':
      await c.writer.ack(delivery, event.id);
      return;
    case 'retry':
      await c.writer.retry(delivery, delayMs, failures);
      return;
    case 'dead':
      model.doomed.add(event.id);
      await c.writer.dead(
        delivery,
        deadLetterFields(delivery, {
          group: GROUP,
          reason: final.reason,
          error: final.error ?? final.reason,
          failures,
          deliveries: delivery.deliveries,
          failedAt: Date.now(),
        }),
      );
      return;
    case 'defer': {
      const run = (event.repetition ?? 0) + 1;
      await deferEntry(db.redis, real.keys, {
        partition: delivery.partition,
        group: GROUP,
        consumer: c.name,
        entryId: delivery.entryId,
        chain: true,
        timer: {
          id: `defer:${GROUP}:${event.id}`,
          dueMs: final.until ?? Date.now(),
          version: run,
          event: { ...event, targetGroup: GROUP, repetition: run },
        },
      });
      return;
    }
  }
}

/** Runs the "handler" on one held entry; what it does is the command's choice, the result is classified. */
async function handle(model: Model, real: Real, c: Consumer, index: number, kind: HandleKind): Promise<void> {
  const entries = [...c.held.values()];
  const held = entries[index % Math.max(1, entries.length)];
  if (held === undefined) return;
  c.held.delete(held.delivery.entryId);
  const { delivery } = held;
  const eventId = decodeEntry(delivery.fields).id;
  let result: AttemptResult;
  switch (kind) {
    case 'ack':
      applyEffect(model, eventId);
      result = { returned: outcomes.ack() };
      break;
    case 'retry':
      result = { returned: outcomes.retry('downstream 503', 0) };
      break;
    case 'throw':
      result = { threw: new Error('handler threw') };
      break;
    case 'defer':
      // due at once (Redis time is already past it): the next move re-emits it
      result = { returned: outcomes.defer(Date.now() - 1, 'not yet') };
      break;
    case 'dead':
      result = { returned: outcomes.dead('http 422') };
      break;
    case 'effectThenCrash':
      // the effect lands, the process dies before the outcome is written: everything it held is forgotten
      applyEffect(model, eventId);
      c.held.clear();
      return;
  }
  const classified = classifyAttempt(result, delivery.failures, retryPolicy);
  await settle(model, real, c, delivery, classified.outcome, classified.failures, 0);
}

async function moveAll(real: Real): Promise<void> {
  for (const p of real.partitions) {
    await moveDueTimers(db.redis, p, { batch: 100, tombstoneRetentionMs: 60_000, pruneLimit: 10 });
  }
}

/** Events that still have a representation in Redis: pending, not yet delivered, on the wheel, or in the DLQ. */
async function liveInRedis(real: Real): Promise<Set<string>> {
  const live = new Set<string>();
  for (const p of real.partitions) {
    const groups = (await db.redis.xinfo('GROUPS', p.stream)) as unknown[][];
    const info = groups.map((g) => Object.fromEntries(chunk(g))).find((g) => g['name'] === GROUP);
    const recorded = info?.['last-delivered-id'];
    const lastDelivered = typeof recorded === 'string' ? recorded : '0-0';
    const pending = new Set(
      ((await db.redis.xpending(p.stream, GROUP, '-', '+', 10_000)) as [string][]).map(([id]) => id),
    );
    for (const [id, fields] of await db.redis.xrange(p.stream, '-', '+')) {
      if (pending.has(id) || compareIds(id, lastDelivered) > 0) live.add(decodeEntry(fields).id);
    }
    for (const timer of await db.redis.zrange(p.timers, '0', '-1')) live.add(timer.split(':').pop() ?? '');
    for (const [, fields] of await db.redis.xrange(p.dlq, '-', '+')) live.add(dlqEventId(fields));
  }
  return live;
}

function dlqEventId(fields: readonly string[]): string {
  const envelope = Object.fromEntries(chunk(fields))['envelope'];
  return (JSON.parse(String(envelope)) as { id: string }).id;
}

function chunk(list: readonly unknown[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (let i = 0; i + 1 < list.length; i += 2) out.push([String(list[i]), list[i + 1]]);
  return out;
}

function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

/** Safety after every step: nothing lost, every delivery carried a published event id. */
async function checkNothingLost(model: Model, real: Real): Promise<void> {
  const live = await liveInRedis(real);
  const lost = [...model.events.keys()].filter((id) => !model.keysOf.has(id) && !live.has(id));
  expect(lost, model.log.join(' > ')).toEqual([]);
  expect(model.foreignIds).toEqual([]);
}

type Command = fc.AsyncCommand<Model, Real>;

function command(label: string, run: (model: Model, real: Real) => Promise<void>): Command {
  return {
    check: () => true,
    async run(model, real) {
      model.log.push(label);
      await run(model, real);
      await checkNothingLost(model, real);
    },
    toString: () => label,
  };
}

const consumerArb = fc.constantFrom(...CONSUMERS);
const commandArbs = [
  fc.tuple(consumerArb, fc.integer({ min: 1, max: 4 })).map(([name, n]) =>
    command(`deliver(${name},${n})`, async (model, real) => {
      const c = consumer(real, name);
      await takeIn(model, real, c, await c.reader.read(n));
    }),
  ),
  fc
    .tuple(
      consumerArb,
      fc.nat(5),
      fc.constantFrom<HandleKind>('ack', 'ack', 'retry', 'throw', 'defer', 'dead', 'effectThenCrash'),
    )
    .map(([name, index, kind]) =>
      command(`handle(${name},${index},${kind})`, (model, real) =>
        handle(model, real, consumer(real, name), index, kind),
      ),
    ),
  consumerArb.map((name) =>
    command(`crash(${name})`, async (_model, real) => {
      consumer(real, name).held.clear();
    }),
  ),
  consumerArb.map((name) =>
    command(`claimDue(${name})`, async (model, real) => {
      const c = consumer(real, name);
      await takeIn(model, real, c, (await c.reclaimer.claimDue(4)).deliveries);
    }),
  ),
  // floor 0: every pending entry without a hint counts as abandoned, live owners included (a late heartbeat)
  consumerArb.map((name) =>
    command(`claimIdle(${name})`, async (model, real) => {
      const c = consumer(real, name);
      await takeIn(model, real, c, (await c.reclaimer.claimIdle(4)).deliveries);
    }),
  ),
  consumerArb.map((name) =>
    command(`heartbeat(${name})`, async (_model, real) => {
      const c = consumer(real, name);
      const byPartition = new Map<PartitionKeys, string[]>();
      for (const { delivery } of c.held.values()) {
        byPartition.set(delivery.partition, [
          ...(byPartition.get(delivery.partition) ?? []),
          delivery.entryId,
        ]);
      }
      // the runner keeps working on entries it lost (ownershipLost); the scripts' owner checks protect them
      await heartbeatOnce(db.redis, GROUP, c.name, { snapshot: () => byPartition });
    }),
  ),
  fc.constant(command('moveTimers', (_model, real) => moveAll(real))),
];

/** A healthy consumer takes everything left (timers, hints, abandoned and new entries) and acks it. */
async function drain(model: Model, real: Real): Promise<void> {
  const d = consumer(real, 'drain');
  for (let round = 0; round < 60; round++) {
    await moveAll(real);
    await takeIn(model, real, d, (await d.reclaimer.claimDue(100)).deliveries);
    await takeIn(model, real, d, (await d.reclaimer.claimIdle(100)).deliveries);
    await takeIn(model, real, d, await d.reader.read(100));
    while (d.held.size > 0) await handle(model, real, d, 0, 'ack');
    let open = 0;
    for (const p of real.partitions) {
      open += ((await db.redis.xpending(p.stream, GROUP)) as [number])[0];
      open += await db.redis.zcard(p.timers);
    }
    const lag = await Promise.all(
      real.partitions.map(async (p) => {
        const groups = (await db.redis.xinfo('GROUPS', p.stream)) as unknown[][];
        return Number(groups.map((g) => Object.fromEntries(chunk(g)))[0]?.['lag'] ?? 0);
      }),
    );
    if (open === 0 && lag.every((n) => n === 0)) return;
  }
  throw new Error(`drain did not finish: ${model.log.join(' > ')}`);
}

async function setup(eventCount: number): Promise<{ model: Model; real: Real }> {
  const keys = createKeyBuilder({ prefix: `model-${randomBytes(4).toString('hex')}` });
  const partitions = Array.from({ length: PARTITIONS }, (_, i) => keys.partition(DOMAIN, i));
  const publisher = createPublisher({ redis: db.redis, keys, registry, partitions: () => PARTITIONS });
  const events = Array.from({ length: eventCount }, (_, i): EventEnvelope => ({
    id: nextId(),
    type: 'bet.opened',
    key: `bet-${i}`,
    occurredAt: new Date().toISOString(),
    source: 'model',
    schemaVersion: 1,
    data: { betId: `bet-${i}` },
  }));
  const real: Real = {
    keys,
    partitions,
    consumers: new Map(),
    seen: createSeenCheck({ redis: db.redis, group: GROUP, dedupe, clock }),
    blocking: [],
  };
  // the group exists before anything is published, like a job started ahead of its producers
  await consumer(real, 'c0').reader.ensureGroup();
  await publisher.publishBatch(events);
  const model: Model = {
    events: new Map(events.map((e) => [e.id, e])),
    applied: new Map(),
    keysOf: new Map(),
    doomed: new Set(),
    foreignIds: [],
    log: [],
  };
  return { model, real };
}

describe('outcome state machine against an in-memory model (real scripts, random interleavings)', () => {
  it('never loses an event, and after a drain every event is applied once or dead-lettered', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.commands(commandArbs, { maxCommands: 30 }),
        async (eventCount, commands) => {
          const { model, real } = await setup(eventCount);
          try {
            await fc.asyncModelRun(() => ({ model, real }), commands);
            await drain(model, real);
          } finally {
            for (const connection of real.blocking) connection.disconnect();
          }

          const deadIds = new Set<string>();
          for (const p of real.partitions) {
            for (const [, fields] of await db.redis.xrange(p.dlq, '-', '+')) deadIds.add(dlqEventId(fields));
          }
          const trace = model.log.join(' > ');
          // at least once: applied, or dead-lettered by a decision
          const missing = [...model.events.keys()].filter((id) => !model.keysOf.has(id) && !deadIds.has(id));
          expect(missing, trace).toEqual([]);
          // at most once at an idempotent downstream: one key per event, whatever the redeliveries
          const underTwoKeys = [...model.keysOf.values()].filter((keys) => keys.size > 1);
          expect(underTwoKeys, trace).toEqual([]);
          // only what something decided to kill reaches the DLQ
          expect(
            [...deadIds].filter((id) => !model.doomed.has(id)),
            trace,
          ).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
