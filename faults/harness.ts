// The fault suite's rig: a private redis-server, the faulty downstream, worker and mover child processes, a
// publisher, and the measurements every scenario reports (lost, duplicated, applied twice, pending, DLQ, recovery).
import { Redis } from 'ioredis';
import { monotonicFactory } from 'ulid';
import type { EventEnvelope } from '../src/events/envelope.js';
import { partitionOf } from '../src/events/partition.js';
import { createPublisher, type Publisher } from '../src/events/publisher.js';
import { createEventRegistry, type EventRegistry } from '../src/events/registry.js';
import { encodeEvent } from '../src/events/wire.js';
import { createKeyBuilder, type KeyBuilder, type PartitionKeys } from '../src/streams/keys.js';
import { fieldsToObject } from '../src/streams/dlq-entry.js';
import {
  startRedisServer,
  type RedisServerHandle,
  type RedisServerOptions,
} from '../test/support/redis-server.js';
import { betOpened, DOMAIN } from '../test/support/streams-fixture.js';
import {
  createWorkerChildren,
  type WorkerChild,
  type WorkerSettings,
} from '../test/support/worker-children.js';
import { startFaultyDownstream, type FaultyDownstream } from './downstream.js';
import { spawnMover, type MoverChild } from './mover-child.js';
import type { ScenarioResult } from './report.js';

export { DOMAIN };

/** How big a run is: CI (smallest), --quick, or the full run; `events` overrides a scenario's count. */
export interface ScenarioOptions {
  readonly size: 'ci' | 'quick' | 'full';
  readonly events?: number;
}

export interface Scenario {
  /** `<n>-<name>`: the number of the list, then a short name. */
  readonly name: string;
  readonly title: string;
  run(options: ScenarioOptions): Promise<ScenarioResult>;
}

/** The event count for this size; `--events` replaces it whatever the size. */
export function sized(options: ScenarioOptions, counts: { ci: number; quick: number; full: number }): number {
  return options.events ?? counts[options.size];
}

/** Connections of the harness carry this name, so scenario 9 can kill every other client. */
export const HARNESS_CLIENT_NAME = 'faults-harness';
export const PARTITIONS = 4;
export const JOB = 'faults.apply';

const nextId = monotonicFactory();
const PUBLISH_CHUNK = 1_000;
/** How long Redis must hold no open work before settle() gives up on events still missing. */
const QUIET_MS = 3_000;

export interface Rig {
  readonly server: RedisServerHandle;
  /** Harness connection (named), direct to Redis. */
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly registry: EventRegistry;
  readonly publisher: Publisher;
  readonly downstream: FaultyDownstream;
  readonly partitions: readonly PartitionKeys[];
  /** Every worker started so far (alive or not), in start order. */
  readonly workers: readonly WorkerChild[];
  /** A new harness connection, closed with the rig. */
  connect(url?: string): Redis;
  event(betId: string, data?: Record<string, unknown>): EventEnvelope;
  events(count: number, prefix?: string): EventEnvelope[];
  /** Publishes in chunks through the publisher (idempotent by event id). */
  publish(events: readonly EventEnvelope[], publisher?: Publisher): Promise<number>;
  /** XADDs the event as a producer in another language would: no publisher, no dedupe. */
  xaddRaw(event: EventEnvelope | { key: string; fields: string[] }): Promise<string>;
  partitionOf(key: string): PartitionKeys;
  /** The downstream Idempotency-Key the worker sends for an event (`<job>:<betId>`). */
  keyOf(event: EventEnvelope, job?: string): string;
  startWorker(settings?: Partial<WorkerSettings>): Promise<WorkerChild>;
  startWorkers(count: number, settings?: Partial<WorkerSettings>): Promise<WorkerChild[]>;
  /** Workers still running. */
  alive(): WorkerChild[];
  startMover(env?: Partial<Record<'BATCH' | 'MAX_POLL_MS', number>>): Promise<MoverChild>;
  /** Entries pending in the job's group over all partitions. */
  pending(job?: string): Promise<number>;
  /** Entries of the group's streams not yet delivered to it (lag), over all partitions. */
  lag(job?: string): Promise<number>;
  deadLetters(): Promise<DeadLetterRecord[]>;
  /** Outcome lines reported by every worker so far. */
  outcomes(): number;
  /** Lines of one kind (e.g. `dataLoss`, `loopError`) reported by every worker so far. */
  workerLines(kind: string): unknown[];
  /** ms from `since` until a worker reports an outcome beyond those it had reported at `since`. */
  recoveryAfter(since: number, timeoutMs?: number): Promise<number | null>;
  /** Resolves true when every event is applied (per job) and nothing is pending, false at the deadline. */
  settle(expected: Expected, deadlineMs: number): Promise<boolean>;
  /** Lost, duplicated and applied-twice over the expected events. */
  measure(expected: Expected): Promise<Measured>;
  close(): Promise<void>;
}

/** What a scenario expects to end applied (per job) or dead-lettered (poison). */
export interface Expected {
  readonly applied: readonly EventEnvelope[];
  readonly jobs?: readonly string[];
  /** Event id -> the DLQ reason expected for it. */
  readonly dead?: ReadonlyMap<string, string>;
}

export interface Measured {
  readonly lost: number;
  readonly duplicatedDeliveries: number;
  readonly appliedTwice: number;
  readonly deadLetters: DeadLetterRecord[];
  readonly pending: number;
}

export interface DeadLetterRecord {
  readonly eventId: string | undefined;
  readonly reason: string | undefined;
  readonly group: string | undefined;
}

export async function startRig(options: { redis?: RedisServerOptions; name: string }): Promise<Rig> {
  const server = await startRedisServer({ appendonly: true, ...options.redis });
  const connections: Redis[] = [];
  const connect = (url = server.url): Redis => {
    const client = new Redis(url, { maxRetriesPerRequest: 3, connectionName: HARNESS_CLIENT_NAME });
    // reported by the commands that fail; a scenario that kills Redis expects these
    client.on('error', () => undefined);
    connections.push(client);
    return client;
  };
  const redis = connect();
  const keys = createKeyBuilder({ prefix: `faults-${options.name}`.slice(0, 60) });
  const registry = createEventRegistry();
  registry.register({ type: 'bet.opened', domain: DOMAIN, schema: betOpened });
  const publisher = createPublisher({ redis, keys, registry, partitions: () => PARTITIONS });
  const downstream = await startFaultyDownstream();
  const children = createWorkerChildren();
  const workers: WorkerChild[] = [];
  const movers = new Set<MoverChild>();
  const partitions = Array.from({ length: PARTITIONS }, (_, i) => keys.partition(DOMAIN, i));
  const outcomeTimes: number[] = [];
  const exitedWorkers = new Set<WorkerChild>();
  const totalOutcomes = (): number => workers.reduce((sum, w) => sum + w.outcomes.length, 0);

  const rig: Rig = {
    server,
    redis,
    keys,
    registry,
    publisher,
    downstream,
    partitions,
    workers,
    connect,
    event: (betId, data = { betId }) => ({
      id: nextId(),
      type: 'bet.opened',
      key: betId,
      occurredAt: new Date().toISOString(),
      source: 'faults',
      schemaVersion: 1,
      data,
    }),
    events(count, prefix = 'bet') {
      return Array.from({ length: count }, (_, i) => rig.event(`${prefix}-${i}`));
    },
    async publish(events, via = publisher) {
      for (let i = 0; i < events.length; i += PUBLISH_CHUNK) {
        await via.publishBatch(events.slice(i, i + PUBLISH_CHUNK));
      }
      return events.length;
    },
    xaddRaw(event) {
      const fields = 'fields' in event ? event.fields : encodeEvent(event);
      return redis.xadd(rig.partitionOf(event.key).stream, '*', ...fields) as Promise<string>;
    },
    partitionOf: (key) => keys.partition(DOMAIN, partitionOf(key, PARTITIONS)),
    keyOf: (event, job = JOB) => `${job}:${(event.data as { betId: string }).betId}`,
    async startWorker(settings = {}) {
      const worker = await children.start({
        REDIS_URL: server.url,
        KEY_PREFIX: keys.prefix,
        PARTITIONS,
        JOB,
        DOWNSTREAM_URL: downstream.url,
        ...settings,
      });
      workers.push(worker);
      void worker.exited.then(() => exitedWorkers.add(worker));
      return worker;
    },
    startWorkers(count, settings) {
      return Promise.all(Array.from({ length: count }, () => rig.startWorker(settings)));
    },
    alive: () => workers.filter((w) => !exitedWorkers.has(w)),
    async startMover(env = {}) {
      const mover = await spawnMover({
        url: server.url,
        prefix: keys.prefix,
        domain: DOMAIN,
        partitions: PARTITIONS,
        ...env,
      });
      movers.add(mover);
      return mover;
    },
    async pending(job = JOB) {
      let total = 0;
      for (const p of partitions) {
        try {
          const summary = (await redis.xpending(p.stream, job)) as [number, ...unknown[]];
          total += summary[0];
        } catch (error) {
          // no group yet: nothing pending in it
          if (!(error instanceof Error) || !error.message.includes('NOGROUP')) throw error;
        }
      }
      return total;
    },
    async lag(job = JOB) {
      let total = 0;
      for (const p of partitions) {
        const groups = (await redis.xinfo('GROUPS', p.stream).catch(() => [])) as unknown[][];
        const group = groups.map((g) => fieldsOf(g)).find((g) => g['name'] === job);
        if (group === undefined) {
          total += await redis.xlen(p.stream);
        } else if (typeof group['lag'] === 'number') {
          total += group['lag'];
        } else {
          // lag is nil after trims or deletions: compare the group's position with the stream's last id
          const stream = fieldsOf((await redis.xinfo('STREAM', p.stream)) as unknown[]);
          if (stream['last-generated-id'] !== group['last-delivered-id']) total += 1;
        }
      }
      return total;
    },
    async deadLetters() {
      const letters: DeadLetterRecord[] = [];
      for (const p of partitions) {
        for (const [, fields] of await redis.xrange(p.dlq, '-', '+')) {
          const letter = fieldsToObject(fields);
          let eventId: string | undefined;
          try {
            eventId = (JSON.parse(letter['envelope'] ?? '{}') as { id?: string }).id;
          } catch {
            eventId = undefined;
          }
          letters.push({ eventId, reason: letter['reason'], group: letter['group'] });
        }
      }
      return letters;
    },
    outcomes: totalOutcomes,
    workerLines: (kind) =>
      workers.flatMap((w) =>
        w.lines.filter((line) => kind in line).map((line) => (line as Record<string, unknown>)[kind]),
      ),
    async recoveryAfter(since, timeoutMs = 60_000) {
      // a fault that ends later (a timed pause): outcomes until then are not recovery
      if (since > Date.now()) await sleep(since - Date.now());
      sampleOutcomes();
      const before = outcomeTimes.filter((t) => t < since).length;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        sampleOutcomes();
        if (outcomeTimes.length > before) return Math.max(0, (outcomeTimes[before] ?? since) - since);
        await sleep(10);
      }
      return null;
    },
    async settle(expected, deadlineMs) {
      const jobs = expected.jobs ?? [JOB];
      const deadline = Date.now() + deadlineMs;
      let quietSince: number | undefined;
      while (Date.now() < deadline) {
        sampleOutcomes();
        const applied = jobs.every((job) =>
          expected.applied.every((e) => downstream.applied(rig.keyOf(e, job)) > 0),
        );
        let open = 0;
        for (const job of jobs) open += (await rig.pending(job).catch(() => 1)) + (await rig.lag(job));
        if (applied && open === 0 && (await deadSettled(expected))) return true;
        // nothing pending, undelivered or on the timer wheel for a while: what is missing will not come
        for (const p of partitions) open += await redis.zcard(p.timers);
        if (open > 0) quietSince = undefined;
        else if (quietSince === undefined) quietSince = Date.now();
        else if (Date.now() - quietSince > QUIET_MS) return false;
        await sleep(100);
      }
      return false;
    },
    async measure(expected) {
      const jobs = expected.jobs ?? [JOB];
      let lost = 0;
      for (const job of jobs) {
        for (const e of expected.applied) if (downstream.applied(rig.keyOf(e, job)) === 0) lost += 1;
      }
      const deadLetters = await rig.deadLetters();
      for (const [eventId, reason] of expected.dead ?? []) {
        if (!deadLetters.some((d) => d.eventId === eventId && d.reason === reason)) lost += 1;
      }
      let pending = 0;
      for (const job of jobs) pending += await rig.pending(job).catch(() => -1);
      return {
        lost,
        duplicatedDeliveries: downstream.extraRequests(),
        appliedTwice: downstream.appliedTwice(),
        deadLetters,
        pending,
      };
    },
    async close() {
      clearInterval(sampler);
      await children.killAll();
      await Promise.all([...movers].map((mover) => mover.kill9()));
      for (const c of connections) c.disconnect();
      await downstream.close();
      await server.shutdown();
    },
  };

  let seen = 0;
  /** Records when outcome lines arrive (polled: worker-children keeps only the lines). */
  function sampleOutcomes(): void {
    const now = totalOutcomes();
    for (; seen < now; seen++) outcomeTimes.push(Date.now());
  }
  const sampler = setInterval(sampleOutcomes, 10);
  sampler.unref();

  async function deadSettled(expected: Expected): Promise<boolean> {
    if (expected.dead === undefined || expected.dead.size === 0) return true;
    const ids = new Set((await rig.deadLetters()).map((d) => d.eventId));
    return [...expected.dead.keys()].every((id) => ids.has(id));
  }

  return rig;
}

function fieldsOf(list: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = list[i + 1];
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` every 20 ms; false at the deadline. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await sleep(20);
  }
  return false;
}

/** Redis TIME in ms. */
export async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** A result with the rig's measurements and the scenario's own figures. */
export function resultOf(
  scenario: string,
  fields: {
    events: number;
    measured: Measured;
    recovered: boolean;
    recoveryMs?: number | null;
    earlyTimers?: number;
    startedAt: number;
    checks?: string[];
    details?: Record<string, unknown>;
  },
): ScenarioResult {
  return {
    scenario,
    events: fields.events,
    lost: fields.measured.lost,
    duplicatedDeliveries: fields.measured.duplicatedDeliveries,
    appliedTwice: fields.measured.appliedTwice,
    earlyTimers: fields.earlyTimers ?? 0,
    recovered: fields.recovered,
    recoveryMs: fields.recoveryMs ?? null,
    durationMs: Date.now() - fields.startedAt,
    checks: fields.checks ?? [],
    details: {
      ...fields.details,
      pendingAtEnd: fields.measured.pending,
      dlq: fields.measured.deadLetters.length,
    },
  };
}

/** Standard checks every scenario adds: no data-loss alarm from any worker. */
export function commonChecks(rig: Rig): string[] {
  const checks: string[] = [];
  const alarms = rig.workerLines('dataLoss');
  if (alarms.length > 0)
    checks.push(`${alarms.length} data-loss alarms: ${JSON.stringify(alarms.slice(0, 3))}`);
  return checks;
}
