// The job runner: one consumer of one job's group. Composes the credit-based sources (new entries, due
// retries, abandoned entries) with the pipeline (skip, dedupe, decode, keyed handler with timeout) and the
// outcome writer, keeps held entries alive with heartbeats, and shuts down gracefully.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { concatMap, finalize, from, merge, mergeMap, type Subscription } from 'rxjs';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { EventEnvelope } from '../events/envelope.js';
import type { EventRegistry } from '../events/registry.js';
import { decodeEntry, readEntryHeader } from '../events/wire.js';
import { backoffDelay, defaultBackoff, type BackoffPolicy } from '../streams/backoff.js';
import { abortableSleep, creditSource } from '../streams/credit-source.js';
import { Credits } from '../streams/credits.js';
import { createDedupeWindow } from '../streams/dedupe-window.js';
import type { Delivery } from '../streams/delivery.js';
import { deadLetterFields } from '../streams/dlq-entry.js';
import { createGroupReader } from '../streams/group-reader.js';
import { heartbeatOnce, releaseHeld } from '../streams/heartbeat.js';
import type { KeyBuilder, PartitionKeys } from '../streams/keys.js';
import { isOutcome, outcome as outcomes, outcomeFromError, type Outcome } from '../streams/outcome.js';
import { createOutcomeWriter } from '../streams/outcome-writer.js';
import { createReclaimer } from '../streams/reclaimer.js';
import { checkScriptResult, defineScripts, pipelineResults, queueScript } from '../streams/scripts.js';
import { runWithTimeout } from './handler-timeout.js';
import { validateJob, type JobDefinition } from './job-definition.js';
import { keyedConcurrency } from './keyed-concurrency.js';

export interface RunnerSettings {
  readonly maxAttempts: number;
  readonly maxDeliveries: number;
  readonly backoff: BackoffPolicy;
  readonly claimFloorMs: number;
  readonly heartbeatMs: number;
  readonly handlerTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly dedupeWindowMs: number;
  /** Longest sleep between retry-hint polls (a due hint waits at most this long). */
  readonly retryPollMs: number;
  readonly blockMs: number;
}

export const defaultRunnerSettings: RunnerSettings = {
  maxAttempts: 10,
  maxDeliveries: 50,
  backoff: defaultBackoff,
  claimFloorMs: 30_000,
  heartbeatMs: 5_000,
  handlerTimeoutMs: 60_000,
  shutdownGraceMs: 25_000,
  dedupeWindowMs: 3_600_000,
  retryPollMs: 250,
  blockMs: 2_000,
};

export interface RunnerDeps {
  /** Command connection; the runner duplicates it for its blocking reads. */
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly registry: EventRegistry;
  /** Partition count of the job's domain (checked against Redis by the caller at start-up). */
  readonly partitions: number;
  readonly clock?: Clock;
  readonly consumer?: string;
  readonly settings?: Partial<RunnerSettings>;
  readonly random?: () => number;
}

export interface OutcomeEvent {
  readonly job: string;
  readonly entryId: string;
  readonly stream: string;
  readonly eventId: string | undefined;
  readonly kind: Outcome['kind'] | 'skip' | 'duplicate';
  readonly source: Delivery['source'];
  readonly reason?: string;
  readonly failures: number;
  /** For retries and defers: ms until the retry hint is due. */
  readonly delayMs?: number;
}

export interface RunnerEvents {
  outcome: [OutcomeEvent];
  dataLoss: [{ job: string; stream: string; ids: string[] }];
  ownershipLost: [{ job: string; stream: string; ids: string[] }];
  loopError: [{ job: string; where: string; error: unknown }];
  stopped: [{ job: string; released: number }];
}

export interface JobRunner extends EventEmitter<RunnerEvents> {
  readonly job: string;
  readonly consumer: string;
  start(): Promise<void>;
  /** Stops reading, lets in-flight work finish within the grace period, then releases the rest. */
  stop(graceMs?: number): Promise<void>;
  heldCount(): number;
}

/** Most entries one reclaim call takes, leaving credits for new entries. */
const CLAIM_SHARE = 100;

/** What a delivery needs next: its handler, or an outcome decided before any handler (skip, repeat, poison). */
type Prepared =
  | { delivery: Delivery; event: EventEnvelope }
  | { delivery: Delivery; verdict: Outcome; settledAs?: 'skip' | 'duplicate' };

export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function createJobRunner<TData>(job: JobDefinition<TData>, deps: RunnerDeps): JobRunner {
  const options = validateJob(job);
  const settings: RunnerSettings = { ...defaultRunnerSettings, ...deps.settings };
  const maxAttempts = options.maxAttempts ?? settings.maxAttempts;
  const maxDeliveries = options.maxDeliveries ?? settings.maxDeliveries;
  const timeoutMs = options.timeoutMs ?? settings.handlerTimeoutMs;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const consumer = deps.consumer ?? defaultConsumerName();
  const group = options.name;
  const subscribed = new Set(options.types);
  const partitions: PartitionKeys[] = Array.from({ length: deps.partitions }, (_, i) =>
    deps.keys.partition(options.domain, i),
  );
  const redis = deps.redis;
  defineScripts(redis);
  const blockingRedis = redis.duplicate();
  const dedupe = createDedupeWindow(settings.dedupeWindowMs);
  const credits = new Credits(options.concurrency);
  const reader = createGroupReader({
    redis,
    blockingRedis,
    partitions,
    group,
    consumer,
    blockMs: settings.blockMs,
    ...(options.startId === undefined ? {} : { startId: options.startId }),
  });
  const reclaimer = createReclaimer({
    redis,
    partitions,
    group,
    consumer,
    claimFloorMs: settings.claimFloorMs,
  });
  const writer = createOutcomeWriter({ redis, group, consumer, dedupe, clock });
  const held = new Map<PartitionKeys, Set<string>>(partitions.map((p) => [p, new Set<string>()]));
  const stopSources = new AbortController();
  const abortHandlers = new AbortController();
  const emitter = new EventEmitter<RunnerEvents>();
  let subscription: Subscription | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let started = false;
  let resolveSourcesDone: () => void = () => undefined;
  const sourcesDone = new Promise<void>((resolve) => (resolveSourcesDone = resolve));

  const report = (where: string) => (error: unknown) =>
    emitter.emit('loopError', { job: group, where, error });
  // ioredis reports connection errors as events; unhandled they would print on stderr during an outage
  blockingRedis.on('error', report('blocking-connection'));

  function hold(deliveries: Delivery[]): Delivery[] {
    const fresh: Delivery[] = [];
    for (const d of deliveries) {
      const set = held.get(d.partition);
      // already held (a claim raced our own heartbeat): the work is ours and in progress
      if (!set || set.has(d.entryId)) continue;
      set.add(d.entryId);
      fresh.push(d);
    }
    return fresh;
  }

  function raiseLost(lost: { stream: string; ids: string[] }[]): void {
    for (const l of lost) emitter.emit('dataLoss', { job: group, stream: l.stream, ids: l.ids });
  }

  const newEntries$ = creditSource({
    credits,
    // a blocking read holds its credits for up to blockMs: leave one to each claim source so due retries
    // and abandoned entries are not kept waiting behind an idle read
    maxPerFetch: options.concurrency > 2 ? options.concurrency - 2 : options.concurrency,
    signal: stopSources.signal,
    onError: report('read'),
    fetch: async (free) => ({ deliveries: hold(await reader.read(free)), pauseMs: 0 }),
  });
  /** A reclaim source: takes a bounded share of credits, raises data-loss alarms, pauses when idle. */
  function reclaimSource(kind: 'claimDue' | 'claimIdle', idlePauseMs: (nextDueMs: number) => number) {
    const where = kind === 'claimDue' ? 'claim-due' : 'claim-idle';
    return creditSource({
      credits,
      maxPerFetch: CLAIM_SHARE,
      signal: stopSources.signal,
      onError: report(where),
      fetch: async (free) => {
        const result = await reclaimer[kind](free);
        result.errors.forEach(report(where));
        raiseLost(result.lost);
        const pauseMs = result.deliveries.length > 0 ? 0 : idlePauseMs(result.nextDueMs);
        return { deliveries: hold(result.deliveries), pauseMs };
      },
    });
  }
  const dueRetries$ = reclaimSource('claimDue', (nextDueMs) =>
    Math.min(settings.retryPollMs, nextDueMs < 0 ? Infinity : nextDueMs),
  );
  const abandoned$ = reclaimSource('claimIdle', () => Math.max(100, Math.floor(settings.claimFloorMs / 3)));

  /** Type filter, crash-loop guard, decode + validate and the dedupe check, one round trip per batch. */
  async function prepare(batch: Delivery[]): Promise<Prepared[]> {
    const prepared: Prepared[] = [];
    const toCheck: { delivery: Delivery; event: EventEnvelope }[] = [];
    for (const delivery of batch) {
      const header = readEntryHeader(delivery.fields);
      if (
        header.type === undefined ||
        !subscribed.has(header.type) ||
        (header.targetGroup !== undefined && header.targetGroup !== group)
      ) {
        prepared.push({ delivery, verdict: outcomes.ack(), settledAs: 'skip' });
        continue;
      }
      if (delivery.deliveries > maxDeliveries) {
        prepared.push({
          delivery,
          verdict: outcomes.dead('crash-loop', `delivered ${delivery.deliveries} times`),
        });
        continue;
      }
      try {
        const event = deps.registry.validate(decodeEntry(delivery.fields));
        toCheck.push({ delivery, event });
      } catch (error) {
        prepared.push({ delivery, verdict: outcomes.dead('invalid', errorMessage(error)) });
      }
    }
    if (toCheck.length > 0) {
      const seen = await checkSeen(toCheck);
      toCheck.forEach((item, i) => {
        if (seen[i])
          prepared.push({ delivery: item.delivery, verdict: outcomes.ack(), settledAs: 'duplicate' });
        else prepared.push(item);
      });
    }
    return prepared;
  }

  async function checkSeen(items: { delivery: Delivery; event: EventEnvelope }[]): Promise<boolean[]> {
    const buckets = dedupe.bucketsAt(clock.now());
    const byPartition = new Map<PartitionKeys, number[]>();
    items.forEach((item, i) => {
      const list = byPartition.get(item.delivery.partition) ?? [];
      list.push(i);
      byPartition.set(item.delivery.partition, list);
    });
    const pipeline = redis.pipeline();
    const order = [...byPartition];
    for (const [partition, indexes] of order) {
      queueScript(
        pipeline,
        'seenCheck',
        buckets.map((b) => partition.seen(group, b)),
        indexes.map((i) => items[i]?.event.id ?? ''),
      );
    }
    const replies = pipelineResults(await pipeline.exec());
    const seen = new Array<boolean>(items.length).fill(false);
    replies.forEach((reply, r) => {
      const flags = checkScriptResult('seenCheck', reply) as number[];
      order[r]?.[1].forEach((itemIndex, j) => (seen[itemIndex] = flags[j] === 1));
    });
    return seen;
  }

  async function attempt(item: { delivery: Delivery; event: EventEnvelope }): Promise<Outcome> {
    const { delivery, event } = item;
    const ctx = {
      job: group,
      entryId: delivery.entryId,
      attempt: delivery.failures + 1,
      failures: delivery.failures,
      partition: delivery.partition.index,
    };
    return runWithTimeout(
      async (signal) => {
        try {
          const result: unknown = await job.handler(event as EventEnvelope<TData>, { ...ctx, signal });
          return isOutcome(result) ? result : outcomes.retry('handler returned no outcome');
        } catch (error) {
          return outcomeFromError(error);
        }
      },
      timeoutMs,
      () => outcomes.retry(`handler timed out after ${timeoutMs} ms`),
      abortHandlers.signal,
    );
  }

  /** Writes an outcome; a skip or a repeat is acked without a dedupe mark and reported as what it was. */
  async function settle(
    delivery: Delivery,
    eventId: string | undefined,
    result: Outcome,
    settledAs?: 'skip' | 'duplicate',
  ): Promise<OutcomeEvent> {
    let final = result;
    let failures = delivery.failures;
    const base = {
      job: group,
      entryId: delivery.entryId,
      stream: delivery.partition.stream,
      eventId,
      source: delivery.source,
    };
    if (final.kind === 'retry') {
      failures += 1;
      if (failures >= maxAttempts) final = outcomes.dead('failures exhausted', final.reason);
    }
    switch (final.kind) {
      case 'ack': {
        await writer.ack(delivery, settledAs === undefined ? eventId : undefined);
        return { ...base, kind: settledAs ?? 'ack', failures };
      }
      case 'retry': {
        const delay = final.afterMs ?? backoffDelay(settings.backoff, failures, random);
        await writer.retry(delivery, delay, failures);
        return { ...base, kind: 'retry', reason: final.reason, failures, delayMs: delay };
      }
      case 'defer': {
        // until the scheduler's timer re-emission lands, a defer is a hint at `until` that is not a failure
        const delay = Math.max(0, final.until - clock.now());
        await writer.retry(delivery, delay, failures);
        return { ...base, kind: 'defer', reason: final.reason, failures, delayMs: delay };
      }
      case 'dead': {
        const letter = {
          group,
          reason: final.reason,
          error: final.error ?? final.reason,
          failures,
          deliveries: delivery.deliveries,
          failedAt: clock.now(),
        };
        await writer.dead(delivery, deadLetterFields(delivery, letter));
        return { ...base, kind: 'dead', reason: final.reason, failures };
      }
    }
  }

  async function handleItem(item: Prepared): Promise<void> {
    const { delivery } = item;
    const forget = (): boolean => held.get(delivery.partition)?.delete(delivery.entryId) ?? false;
    try {
      // after the grace period the entry was released to other consumers: do not start it here
      if (abortHandlers.signal.aborted) return;
      const eventId = 'event' in item ? item.event.id : readEntryHeader(delivery.fields).id;
      const result = 'event' in item ? await attempt(item) : item.verdict;
      // an attempt cut short by shutdown is not a failure: its release hint (due now) stands
      if (abortHandlers.signal.aborted && result.kind !== 'ack') return;
      // forget before writing: a zero-delay retry may be claimed again before this write resolves
      forget();
      const settled = await settle(delivery, eventId, result, 'verdict' in item ? item.settledAs : undefined);
      emitter.emit('outcome', settled);
    } catch (error) {
      // the outcome was not written: the entry stays pending and is reclaimed after the claim floor
      report('outcome')(error);
    } finally {
      forget();
      credits.release(1);
    }
  }

  function keyOf(item: Prepared): string {
    if (!('event' in item)) return `entry:${item.delivery.entryId}`;
    if (!job.keyOf) return item.event.key;
    try {
      return job.keyOf(item.event as EventEnvelope<TData>);
    } catch (error) {
      report('key-of')(error);
      return item.event.key;
    }
  }

  async function heartbeatLoop(): Promise<void> {
    try {
      const beat = await heartbeatOnce(redis, group, consumer, { snapshot: heldSnapshot });
      beat.errors.forEach(report('heartbeat'));
      for (const [partition, ids] of beat.gone) {
        const stillHeld = ids.filter((id) => held.get(partition)?.has(id));
        if (stillHeld.length > 0)
          emitter.emit('ownershipLost', { job: group, stream: partition.stream, ids: stillHeld });
      }
      raiseLost([...beat.lost].map(([partition, ids]) => ({ stream: partition.stream, ids })));
    } catch (error) {
      report('heartbeat')(error);
    }
  }

  function heldSnapshot(): Map<PartitionKeys, string[]> {
    return new Map([...held].map(([p, ids]) => [p, [...ids]]));
  }

  const runner = Object.assign(emitter, {
    job: group,
    consumer,
    heldCount: () => [...held.values()].reduce((n, s) => n + s.size, 0),

    async start() {
      if (started) return;
      started = true;
      await reader.ensureGroup();
      subscription = merge(newEntries$, dueRetries$, abandoned$)
        .pipe(
          finalize(() => resolveSourcesDone()),
          concatMap((batch) => from(prepare(batch).catch((error: unknown) => failBatch(batch, error)))),
          mergeMap((items) => from(items)),
          keyedConcurrency(keyOf, handleItem),
        )
        .subscribe();
      heartbeatTimer = setInterval(() => void heartbeatLoop(), settings.heartbeatMs);
    },

    async stop(graceMs = settings.shutdownGraceMs) {
      if (!started) return;
      stopSources.abort();
      await reader.unblock().catch(report('unblock'));
      const grace = new AbortController();
      const timer = setTimeout(() => grace.abort(), graceMs);
      // fetches in flight still deliver: wait for them, so what they return is handled or released
      await Promise.race([sourcesDone, abortableSleep(graceMs + settings.blockMs, grace.signal)]);
      await credits.whenIdle(grace.signal);
      clearTimeout(timer);
      let released = 0;
      if (runner.heldCount() > 0) {
        abortHandlers.abort(new Error('shutdown grace period over'));
        released = await releaseHeld(redis, group, consumer, { snapshot: heldSnapshot }).catch(
          (error: unknown) => {
            report('release')(error);
            return 0;
          },
        );
      }
      clearInterval(heartbeatTimer);
      subscription?.unsubscribe();
      blockingRedis.disconnect();
      emitter.emit('stopped', { job: group, released });
    },
  });

  /** A batch whose dedupe check failed stays pending (reclaimed later); its credits and holds are returned. */
  function failBatch(batch: Delivery[], error: unknown): Prepared[] {
    report('prepare')(error);
    for (const d of batch) {
      held.get(d.partition)?.delete(d.entryId);
      credits.release(1);
    }
    return [];
  }

  return runner;
}
