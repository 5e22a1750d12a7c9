// The job runner: one consumer of one job's group. Composes the credit-based sources (new entries, due
// retries, abandoned entries) with the pipeline operators (decode + validate, dedupe, keyed concurrency, then
// per item: circuit breaker, rate limit, handler with timeout, outcome classification) and the outcome writer,
// keeps held entries alive with heartbeats, stops pulling while the circuit is open, and shuts down gracefully.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  EMPTY,
  asyncScheduler,
  catchError,
  concatMap,
  defer,
  finalize,
  from,
  identity,
  map,
  merge,
  mergeMap,
  of,
  type Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { EventEnvelope } from '../events/envelope.js';
import type { EventRegistry } from '../events/registry.js';
import { readEntryHeader } from '../events/wire.js';
import { createDeferWriter } from '../scheduler/defer-writer.js';
import { createTimerWheel } from '../scheduler/timer-wheel.js';
import { createDistributedRateLimiter, type DistributedRateLimiter } from './distributed-rate-limit.js';
import { defaultBackoff, type BackoffPolicy } from '../streams/backoff.js';
import { abortableSleep, creditSource } from '../streams/credit-source.js';
import { Credits } from '../streams/credits.js';
import { createDedupeWindow } from '../streams/dedupe-window.js';
import type { Delivery } from '../streams/delivery.js';
import { deadLetterFields } from '../streams/dlq-entry.js';
import { createGroupReader } from '../streams/group-reader.js';
import { heartbeatOnce, releaseHeld } from '../streams/heartbeat.js';
import type { KeyBuilder, PartitionKeys } from '../streams/keys.js';
import { isOutcome, outcome as outcomes, type Outcome } from '../streams/outcome.js';
import { createOutcomeWriter } from '../streams/outcome-writer.js';
import { createReclaimer } from '../streams/reclaimer.js';
import { defineScripts } from '../streams/scripts.js';
import { createSeenCheck } from '../streams/seen-check.js';
import {
  createCircuitBreaker,
  throughCircuitBreaker,
  type CircuitBreaker,
  type CircuitStateChange,
} from './circuit-breaker.js';
import {
  classifyOutcome,
  isTransientFailure,
  type AttemptResult,
  type Classified,
  type RetryPolicy,
} from './classify-outcome.js';
import { decodeValidate } from './decode-validate.js';
import { dedupe } from './dedupe.js';
import { decideDefer, timeoutBeforeRun, type DeferCause } from './deferral.js';
import { validateJob, type JobDefinition } from './job-definition.js';
import { keyedConcurrency } from './keyed-concurrency.js';
import { needsHandler, type Prepared, type ToHandle } from './prepared.js';
import { rateLimit } from './rate-limit.js';
import { withTimeout } from './timeout.js';

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
  /** Time for the rate limit, the circuit breaker and handler timeouts (default: rxjs asyncScheduler). */
  readonly scheduler?: SchedulerLike;
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
  /** The job's circuit breaker changed state (open: the job pulls nothing until half-open). */
  circuit: [{ job: string } & CircuitStateChange];
}

export interface JobRunner extends EventEmitter<RunnerEvents> {
  readonly job: string;
  readonly consumer: string;
  /** The job's circuit breaker, when its definition declares one. */
  readonly breaker: CircuitBreaker | undefined;
  /** The job's rate limit shared through Redis, when its definition declares one (its `wait` events feed metrics). */
  readonly rateLimiter: DistributedRateLimiter | undefined;
  start(): Promise<void>;
  /** Stops reading, lets in-flight work finish within the grace period, then releases the rest. */
  stop(graceMs?: number): Promise<void>;
  heldCount(): number;
}

/** Most entries one reclaim call takes, leaving credits for new entries. */
const CLAIM_SHARE = 100;

export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function createJobRunner<TData>(job: JobDefinition<TData>, deps: RunnerDeps): JobRunner {
  const options = validateJob(job);
  const settings: RunnerSettings = { ...defaultRunnerSettings, ...deps.settings };
  const jobBackoff = options.retry?.backoff;
  const retryPolicy: RetryPolicy = {
    maxAttempts: options.retry?.maxAttempts ?? options.maxAttempts ?? settings.maxAttempts,
    backoff: {
      baseMs: jobBackoff?.baseMs ?? settings.backoff.baseMs,
      maxMs: jobBackoff?.maxMs ?? settings.backoff.maxMs,
      floorRatio: jobBackoff?.floorRatio ?? settings.backoff.floorRatio,
    },
    random: deps.random ?? Math.random,
  };
  const maxDeliveries = options.maxDeliveries ?? settings.maxDeliveries;
  const timeoutMs = options.timeoutMs ?? settings.handlerTimeoutMs;
  const clock = deps.clock ?? systemClock;
  const scheduler = deps.scheduler ?? asyncScheduler;
  const consumer = deps.consumer ?? defaultConsumerName();
  const group = options.name;
  const partitions: PartitionKeys[] = Array.from({ length: deps.partitions }, (_, i) =>
    deps.keys.partition(options.domain, i),
  );
  const redis = deps.redis;
  defineScripts(redis);
  const blockingRedis = redis.duplicate();
  const dedupeWindow = createDedupeWindow(settings.dedupeWindowMs);
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
  const writer = createOutcomeWriter({ redis, group, consumer, dedupe: dedupeWindow, clock });
  const deferWriter = createDeferWriter({ redis, keys: deps.keys });
  const wheel = createTimerWheel({ redis, keys: deps.keys });
  const sharedLimit =
    options.distributedRateLimit &&
    createDistributedRateLimiter({ redis, keys: deps.keys, ...options.distributedRateLimit });
  const seenCheck = createSeenCheck({ redis, group, dedupe: dedupeWindow, clock });
  const breaker = options.circuitBreaker && createCircuitBreaker(options.circuitBreaker, scheduler);
  const rateLimiter = options.rateLimit && rateLimit<ToHandle>({ ...options.rateLimit, scheduler });
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
  breaker?.changes.subscribe((change) => {
    // a listener's error must not escape into the breaker (its half-open timer runs on the scheduler)
    try {
      emitter.emit('circuit', { job: group, ...change });
    } catch (error) {
      report('circuit-listener')(error);
    }
    // a blocking read in flight would still take new entries: end it, the next fetch waits at the gate
    if (change.to === 'open' && started) reader.unblock().catch(report('unblock'));
  });

  /** While the circuit is open the job pulls nothing (the sources' credits wait here); stop ends the wait. */
  async function mayPull(): Promise<boolean> {
    if (breaker) await breaker.whenClosedOrHalfOpen(stopSources.signal);
    return !stopSources.signal.aborted;
  }
  const nothing = { deliveries: [], pauseMs: 0 };
  /** With a shared limit, tokens are taken before reading: at most as many entries as tokens granted. */
  function tokens(free: number): Promise<number> {
    return sharedLimit ? sharedLimit.take(free, stopSources.signal) : Promise.resolve(free);
  }

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
    fetch: async (free) =>
      (await mayPull()) ? { deliveries: hold(await reader.read(await tokens(free))), pauseMs: 0 } : nothing,
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
        if (!(await mayPull())) return nothing;
        const result = await reclaimer[kind](await tokens(free));
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

  /** Calls the handler once; what it returns or throws is classified later. */
  async function invokeHandler(item: ToHandle, signal: AbortSignal): Promise<AttemptResult> {
    // a call not started before a forced shutdown is not made, and is not a failure
    if (signal.aborted) return { decided: outcomes.retry('shutting down'), countsAsFailure: false };
    const { delivery, event } = item;
    const ctx = {
      job: group,
      entryId: delivery.entryId,
      attempt: delivery.failures + 1,
      failures: delivery.failures,
      partition: delivery.partition.index,
      signal,
    };
    try {
      const scheduled = await runAtVerdict(event as EventEnvelope<TData>, delivery);
      if (scheduled !== undefined) return { returned: scheduled };
      const cause = timeoutBeforeRun(job.defer, event as EventEnvelope<TData>, nowFor(delivery));
      if (cause === undefined) return { returned: await job.handler(event as EventEnvelope<TData>, ctx) };
      return { returned: await runTimeoutAction(event as EventEnvelope<TData>, cause, signal) };
    } catch (error) {
      return { threw: error };
    }
  }

  /**
   * runAt: a cancelling type cancels the entity's timer; an original event goes through the wheel even when its
   * time has passed, so a late or repeated fact meets the tombstone of a timer that already fired. Events aimed
   * at this group (its fired timers, deferrals, DLQ replays) are handled.
   */
  async function runAtVerdict(event: EventEnvelope<TData>, delivery: Delivery): Promise<Outcome | undefined> {
    const runAt = job.runAt;
    if (runAt === undefined || event.targetGroup === group) return undefined;
    const id = `${group}:${runAt.timerId(event)}`;
    if (runAt.cancelOn?.includes(event.type)) {
      await wheel.cancel(delivery.partition, id);
      return outcomes.ack();
    }
    const at = runAt.at(event);
    if (at === undefined) return undefined;
    const until = Math.max(at, nowFor(delivery));
    return { kind: 'defer', until, reason: 'scheduled', timer: { id, version: runAt.version?.(event) ?? 0 } };
  }

  /** The job's timeout action (deadline passed, run limit reached); it may not defer again. */
  async function runTimeoutAction(
    event: EventEnvelope<TData>,
    cause: DeferCause,
    signal: AbortSignal,
  ): Promise<unknown> {
    const why = cause === 'deadline' ? 'deadline passed' : 'repeat limit reached';
    if (!job.defer?.onTimeout) return outcomes.dead(why);
    const result = await job.defer.onTimeout(event, cause, signal);
    return isOutcome(result) && result.kind === 'defer'
      ? outcomes.dead(why, `the timeout action deferred: ${result.reason}`)
      : result;
  }

  /** The later of the worker clock and the entry's Redis time, so a re-emission due at a deadline is past it. */
  function nowFor(delivery: Delivery): number {
    return Math.max(clock.now(), Number(delivery.entryId.split('-')[0]));
  }

  /** The call itself: a rate-limit token, then the handler under its per-attempt timeout. */
  function runHandler(item: ToHandle): Observable<AttemptResult> {
    return of(item).pipe(
      rateLimiter ?? identity,
      withTimeout(invokeHandler, {
        timeoutMs,
        onTimeout: (): AttemptResult => ({
          decided: outcomes.retry(`handler timed out after ${timeoutMs} ms`),
        }),
        signal: abortHandlers.signal,
        scheduler,
      }),
    );
  }

  /**
   * With a breaker: while the circuit is open (or a half-open probe is out) an item waits for its admission,
   * still held, so the heartbeat keeps its entry from being reclaimed and Redis' delivery count stays put; the
   * sources pull nothing while open, so the job's credits bound how many wait.
   */
  const attemptStage: OperatorFunction<ToHandle, AttemptResult> = breaker
    ? throughCircuitBreaker(
        breaker,
        // admitted after the grace period (its entry was released): no call, and the permit goes back unrecorded
        (item: ToHandle) => (abortHandlers.signal.aborted ? EMPTY : runHandler(item)),
        { isFailure: isTransientFailure },
      )
    : mergeMap(runHandler);

  /** Writes a classified outcome; a skip or a repeat is acked without a dedupe mark and reported as what it was. */
  async function settle(
    delivery: Delivery,
    event: EventEnvelope | undefined,
    eventId: string | undefined,
    classified: Classified,
    settledAs?: 'skip' | 'duplicate',
  ): Promise<OutcomeEvent> {
    const { outcome: final, failures } = classified;
    const base = {
      job: group,
      entryId: delivery.entryId,
      stream: delivery.partition.stream,
      eventId,
      source: delivery.source,
    };
    switch (final.kind) {
      case 'ack': {
        await writer.ack(delivery, settledAs === undefined ? eventId : undefined);
        return { ...base, kind: settledAs ?? 'ack', failures };
      }
      case 'retry': {
        const delay = classified.delayMs ?? 0;
        await writer.retry(delivery, delay, failures);
        return { ...base, kind: 'retry', reason: final.reason, failures, delayMs: delay };
      }
      case 'defer': {
        // a timer re-emits the event to this group later; the delivery is acked in the same script
        if (event === undefined) throw new Error('defer of an entry that was never decoded');
        const now = clock.now();
        const timer =
          final.timer === undefined || final.until === undefined
            ? decideDefer({
                policy: job.defer,
                group,
                event: event as EventEnvelope<TData>,
                until: final.until,
                now,
                random: retryPolicy.random ?? Math.random,
              })
            : { ...final.timer, dueMs: final.until, event: { ...event, targetGroup: group } };
        const written = await deferWriter.defer({
          partition: delivery.partition,
          group,
          consumer,
          entryId: delivery.entryId,
          timer,
        });
        if (!written.acked) throw new Error(`entry ${delivery.entryId} was claimed by another consumer`);
        const delayMs = Math.max(0, timer.dueMs - now);
        return { ...base, kind: 'defer', reason: final.reason, failures, delayMs };
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

  /** One item from attempt to written outcome; always gives its credit back. */
  function handleItem(item: Prepared): Observable<void> {
    const { delivery } = item;
    const forget = (): boolean => held.get(delivery.partition)?.delete(delivery.entryId) ?? false;
    const attempted$ = defer((): Observable<AttemptResult> => {
      // after the grace period the entry was released to other consumers: do not start it here
      if (abortHandlers.signal.aborted) return EMPTY;
      return needsHandler(item) ? of(item).pipe(attemptStage) : of({ decided: item.verdict });
    });
    return attempted$.pipe(
      map((result) => ({ result, failures: delivery.failures })),
      classifyOutcome(retryPolicy),
      concatMap(async ({ classified }) => {
        // an attempt cut short by shutdown is not a failure: its release hint (due now) stands
        if (abortHandlers.signal.aborted && classified.outcome.kind !== 'ack') return;
        // forget before writing: a zero-delay retry may be claimed again before this write resolves
        forget();
        const eventId = needsHandler(item) ? item.event.id : readEntryHeader(delivery.fields).id;
        const settledAs = needsHandler(item) ? undefined : item.settledAs;
        const event = needsHandler(item) ? item.event : undefined;
        emitter.emit('outcome', await settle(delivery, event, eventId, classified, settledAs));
      }),
      catchError((error: unknown) => {
        // the outcome was not written: the entry stays pending and is reclaimed after the claim floor
        report('outcome')(error);
        return EMPTY;
      }),
      finalize(() => {
        forget();
        credits.release(1);
      }),
    );
  }

  function keyOf(item: Prepared): string {
    if (!needsHandler(item)) return `entry:${item.delivery.entryId}`;
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
    breaker,
    rateLimiter: sharedLimit || undefined,
    heldCount: () => [...held.values()].reduce((n, s) => n + s.size, 0),

    async start() {
      if (started) return;
      started = true;
      await reader.ensureGroup();
      subscription = merge(newEntries$, dueRetries$, abandoned$)
        .pipe(
          finalize(() => resolveSourcesDone()),
          concatMap((batch) =>
            of(batch).pipe(
              decodeValidate({ group, types: options.types, maxDeliveries, registry: deps.registry }),
              dedupe(seenCheck),
              catchError((error: unknown) => of(failBatch(batch, error))),
            ),
          ),
          mergeMap((items) => from(items)),
          keyedConcurrency(keyOf, handleItem),
        )
        .subscribe({ error: report('pipeline') });
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
      breaker?.dispose();
      blockingRedis.disconnect();
      emitter.emit('stopped', { job: group, released });
    },
  });

  /** A batch whose decode or dedupe check failed stays pending (reclaimed later); its credits and holds are returned. */
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
