// The job runner: one consumer of one job's group. Composes the credit-based sources (new entries, due retries,
// abandoned entries) behind the pull gate (circuit breaker, pause/drain), the batch stages (decode + validate,
// dedupe), the per-item runner (attempt, classification, outcome written) and the held-entry upkeep (heartbeat,
// graceful shutdown). RxJS carries batches; each item runs as a plain async function.
import type { EventEmitter } from 'node:events';
import { asyncScheduler, finalize, type Subscription } from 'rxjs';
import { systemClock } from '../clock.js';
import { createJobControl } from '../ops/control/job-control.js';
import { Credits } from '../streams/credits.js';
import { createDedupeWindow } from '../streams/dedupe-window.js';
import { createGroupReader } from '../streams/group-reader.js';
import { createReclaimer } from '../streams/reclaimer.js';
import { defineScripts } from '../streams/scripts.js';
import { createSeenCheck } from '../streams/seen-check.js';
import { prepareBatches } from './batch-stage.js';
import { createCircuitBreaker, type CircuitBreaker } from './circuit-breaker.js';
import { createDistributedRateLimiter, type DistributedRateLimiter } from './distributed-rate-limit.js';
import { createHeldEntries } from './held-entries.js';
import { validateJob, type JobDefinition } from './job-definition.js';
import { createPullGate } from './pull-gate.js';
import { createControlLoop } from './runner-control.js';
import { createRunnerEmitter, type RunnerEvents } from './runner-events.js';
import {
  defaultConsumerName,
  defaultRunnerSettings,
  resolveLimits,
  type RunnerDeps,
} from './runner-settings.js';
import { shutDown, startHeartbeat, type HeldUpkeepDeps } from './runner-shutdown.js';
import { runnerSources } from './runner-sources.js';
import { createRunnerWork } from './runner-work.js';

export type { ControlEvent, OutcomeEvent, RunnerEvents } from './runner-events.js';
export {
  defaultConsumerName,
  defaultRunnerSettings,
  type RunnerDeps,
  type RunnerSettings,
} from './runner-settings.js';

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

export function createJobRunner<TData>(job: JobDefinition<TData>, deps: RunnerDeps): JobRunner {
  const options = validateJob(job);
  const settings = { ...defaultRunnerSettings, ...deps.settings };
  const limits = resolveLimits(options, settings, deps.random);
  const clock = deps.clock ?? systemClock;
  const consumer = deps.consumer ?? defaultConsumerName();
  const group = options.name;
  const { redis, keys } = deps;
  const partitions = Array.from({ length: deps.partitions }, (_, i) => keys.partition(options.domain, i));
  defineScripts(redis);
  const blockingRedis = redis.duplicate();
  const dedupeWindow = createDedupeWindow(settings.dedupeWindowMs);
  const credits = new Credits(options.concurrency);
  const { emitter, emit, report } = createRunnerEmitter(group);
  const stopSources = new AbortController();
  const held = createHeldEntries(partitions);
  const reader = createGroupReader({
    redis,
    blockingRedis,
    partitions,
    group,
    consumer,
    blockMs: settings.blockMs,
    ...(options.startId === undefined ? {} : { startId: options.startId }),
  });
  const breaker = options.circuitBreaker
    ? createCircuitBreaker(options.circuitBreaker, deps.scheduler ?? asyncScheduler)
    : undefined;
  const sharedLimit = options.distributedRateLimit
    ? createDistributedRateLimiter({ redis, keys, ...options.distributedRateLimit })
    : undefined;
  const gate = createPullGate({
    breaker,
    signal: stopSources.signal,
    unblockRead: () => reader.unblock(),
    onError: report('unblock'),
  });
  const control = createControlLoop({
    control: createJobControl({ redis, keys, clock }),
    job: group,
    pollMs: settings.controlPollMs,
    gate,
    signal: stopSources.signal,
    onApplied: (event) => emit('control', event),
    onError: report('control'),
  });
  let started = false;
  let stopping: Promise<void> | undefined;
  let subscription: Subscription | undefined;
  let stopHeartbeat: () => void = () => undefined;
  let sourcesDone: () => void = () => undefined;
  const sourcesEnded = new Promise<void>((resolve) => (sourcesDone = resolve));

  // ioredis reports connection errors as events; unhandled they would print on stderr during an outage
  blockingRedis.on('error', report('blocking-connection'));
  breaker?.changes.subscribe((change) => {
    emit('circuit', { job: group, ...change });
    // a blocking read in flight would still take new entries: end it, the next fetch waits at the gate
    if (change.to === 'open' && started) gate.quiesce().catch(report('unblock'));
  });

  const upkeep: HeldUpkeepDeps = {
    redis,
    group,
    consumer,
    held,
    report,
    ownershipLost: (stream, ids) => emit('ownershipLost', { job: group, stream, ids }),
    raiseLost: (lost) => lost.forEach(({ stream, ids }) => emit('dataLoss', { job: group, stream, ids })),
  };
  const sources$ = runnerSources({
    credits,
    concurrency: options.concurrency,
    reader,
    reclaimer: createReclaimer({ redis, partitions, group, consumer, claimFloorMs: settings.claimFloorMs }),
    gate,
    held,
    sharedLimit,
    retryPollMs: settings.retryPollMs,
    claimFloorMs: settings.claimFloorMs,
    signal: stopSources.signal,
    report,
    raiseLost: (lost) => upkeep.raiseLost(lost),
  });
  const work = createRunnerWork({
    job,
    group,
    consumer,
    limits,
    redis,
    keys,
    clock,
    scheduler: deps.scheduler,
    breaker,
    dedupeWindow,
    held,
    credits,
    emitter: { emit, report },
  });
  const batches = prepareBatches({
    group,
    types: options.types,
    maxDeliveries: limits.maxDeliveries,
    registry: deps.registry,
    seenCheck: createSeenCheck({ redis, group, dedupe: dedupeWindow, clock }),
    held,
    credits,
    report,
  });

  return Object.assign(emitter, {
    job: group,
    consumer,
    breaker,
    rateLimiter: sharedLimit,
    heldCount: () => held.count(),

    async start() {
      if (started) return;
      started = true;
      await reader.ensureGroup();
      // a paused job reads nothing from its first fetch on
      await control.check().catch(report('control'));
      subscription = sources$
        .pipe(
          finalize(() => sourcesDone()),
          batches,
        )
        .subscribe({ next: (prepared) => work.dispatch(prepared), error: report('pipeline') });
      stopHeartbeat = startHeartbeat(upkeep, settings.heartbeatMs);
      void control.run();
    },

    stop(graceMs = settings.shutdownGraceMs) {
      if (!started) return Promise.resolve();
      stopping ??= (async () => {
        const released = await shutDown(
          {
            ...upkeep,
            credits,
            stopSources,
            sourcesDone: sourcesEnded,
            blockMs: settings.blockMs,
            unblockRead: () => reader.unblock(),
            abortWork: (reason) => work.abortAll(reason),
          },
          graceMs,
        );
        stopHeartbeat();
        subscription?.unsubscribe();
        breaker?.dispose();
        blockingRedis.disconnect();
        emit('stopped', { job: group, released });
      })();
      return stopping;
    },
  });
}
