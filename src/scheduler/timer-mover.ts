// The timer mover (DESIGN.md §6): per partition, one script moves due timers (Redis TIME) into the stream, then the
// loop sleeps until the next one is due (bounded by maxPollMs) unless a wake-up names the partition. Any number of
// movers may run at once: each timer is moved and removed in the same script, so it enters the stream once.
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { ConfigError, ScriptError } from '../errors.js';
import type { KeyBuilder, PartitionKeys } from '../streams/keys.js';
import { defineScripts, runScript } from '../streams/scripts.js';
import { DEFAULT_TOMBSTONE_RETENTION_MS } from './timer-request.js';
import { parseTimerWake } from './timer-wake.js';

/** What one move call did. */
export interface MoveResult {
  readonly moved: number;
  /** ms (Redis time) until the next timer is due: 0 = due now, -1 = no timer left. */
  readonly nextDelayMs: number;
  /** Timer members the script read (due ones plus the head peek): 1 when nothing is due. */
  readonly examined: number;
  /** Timers whose payload was missing or unreadable, sent to the partition DLQ. */
  readonly deadLettered: number;
  /** Expired tombstones removed. */
  readonly pruned: number;
}

export interface MoveOptions {
  readonly batch: number;
  readonly tombstoneRetentionMs: number;
  readonly pruneLimit: number;
}

/** One call of the move script on one partition. */
export async function moveDueTimers(
  redis: Redis,
  partition: PartitionKeys,
  options: MoveOptions,
): Promise<MoveResult> {
  const reply = await runScript(
    redis,
    'timerMove',
    [
      partition.stream,
      partition.dlq,
      partition.timers,
      partition.timerPayloads,
      partition.timerTombstones,
      partition.timerTombstoneExpiry,
    ],
    [options.batch, options.tombstoneRetentionMs, options.pruneLimit],
  );
  if (!Array.isArray(reply) || reply.length !== 5 || !reply.every((n) => typeof n === 'number')) {
    throw new ScriptError('timerMove', 0, `unexpected reply ${JSON.stringify(reply)}`);
  }
  const [moved, nextDelayMs, examined, deadLettered, pruned] = reply;
  return {
    moved: moved ?? 0,
    nextDelayMs: nextDelayMs ?? -1,
    examined: examined ?? 0,
    deadLettered: deadLettered ?? 0,
    pruned: pruned ?? 0,
  };
}

export interface TimerMoverOptions {
  /** Command connection for the move script. */
  readonly redis: Redis;
  /** Connection for SUBSCRIBE; default: a duplicate of `redis`, closed on stop. */
  readonly subscriber?: Redis;
  readonly keys: KeyBuilder;
  readonly partitions: readonly PartitionKeys[];
  /** Most timers one script call moves; default 500. */
  readonly batch?: number;
  /** Longest sleep between polls of a partition (a missed wake-up costs at most this); default 1000. */
  readonly maxPollMs?: number;
  /** Local time, only to judge whether a wake-up is nearer than the planned one; default the system clock. */
  readonly clock?: Clock;
  /** How long a fired timer's tombstone lives; default 30 days. */
  readonly tombstoneRetentionMs?: number;
  /** Most expired tombstones pruned per call; default 100. */
  readonly pruneLimit?: number;
}

export interface TimerMoverEvents {
  moved: [{ partition: PartitionKeys; count: number; nextDelayMs: number }];
  deadLettered: [{ partition: PartitionKeys; count: number }];
  /** Emitted only when someone listens; the loop retries after maxPollMs. */
  error: [{ partition?: PartitionKeys; error: unknown }];
}

export interface TimerMover extends EventEmitter<TimerMoverEvents> {
  /** Subscribes to wake-ups, then starts one loop per partition. */
  start(): Promise<void>;
  /** Stops the loops (an in-flight script call finishes) and unsubscribes. */
  stop(): Promise<void>;
}

interface PartitionLoop {
  readonly partition: PartitionKeys;
  running: boolean;
  /** A wake-up arrived while the script ran: poll again without sleeping. */
  rerun: boolean;
  /** Local time the current sleep ends. */
  wakeAt: number;
  wake: (() => void) | undefined;
  done: Promise<void> | undefined;
}

export function createTimerMover(options: TimerMoverOptions): TimerMover {
  const { redis, keys } = options;
  const clock = options.clock ?? systemClock;
  const batch = option('batch', options.batch ?? 500, 1);
  const maxPollMs = option('maxPollMs', options.maxPollMs ?? 1_000, 1);
  const moveOptions: MoveOptions = {
    batch,
    tombstoneRetentionMs: option(
      'tombstoneRetentionMs',
      options.tombstoneRetentionMs ?? DEFAULT_TOMBSTONE_RETENTION_MS,
      1,
    ),
    pruneLimit: option('pruneLimit', options.pruneLimit ?? 100, 0),
  };
  defineScripts(redis);
  const loops = new Map<string, PartitionLoop>();
  for (const partition of options.partitions) {
    loops.set(partition.tag, {
      partition,
      running: false,
      rerun: false,
      wakeAt: 0,
      wake: undefined,
      done: undefined,
    });
  }
  const emitter = new EventEmitter<TimerMoverEvents>();
  const ownsSubscriber = options.subscriber === undefined;
  let subscriber: Redis | undefined;
  let state: 'idle' | 'running' | 'stopped' = 'idle';

  function report(error: unknown, partition?: PartitionKeys): void {
    if (emitter.listenerCount('error') > 0)
      emitter.emit('error', partition ? { partition, error } : { error });
  }

  function onMessage(channel: string, message: string): void {
    if (channel !== keys.timerWakeChannel) return;
    const wake = parseTimerWake(message);
    const loop = wake && loops.get(wake.tag);
    if (!wake || !loop) return;
    if (loop.running) loop.rerun = true;
    else if (loop.wake && clock.now() + wake.delayMs < loop.wakeAt) loop.wake();
  }

  const onSubscriberError = (error: unknown): void => report(error);

  function sleep(loop: PartitionLoop, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        loop.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      loop.wakeAt = clock.now() + ms;
      loop.wake = done;
    });
  }

  async function run(loop: PartitionLoop): Promise<void> {
    while (state === 'running') {
      loop.running = true;
      loop.rerun = false;
      let pauseMs: number;
      try {
        const result = await moveDueTimers(redis, loop.partition, moveOptions);
        if (result.moved > 0) {
          emitter.emit('moved', {
            partition: loop.partition,
            count: result.moved,
            nextDelayMs: result.nextDelayMs,
          });
        }
        if (result.deadLettered > 0) {
          emitter.emit('deadLettered', { partition: loop.partition, count: result.deadLettered });
        }
        pauseMs = result.nextDelayMs < 0 ? maxPollMs : Math.min(result.nextDelayMs, maxPollMs);
      } catch (error) {
        report(error, loop.partition);
        pauseMs = maxPollMs;
        loop.rerun = false;
      } finally {
        loop.running = false;
      }
      if (state !== 'running') break;
      if (pauseMs > 0 && !loop.rerun) await sleep(loop, pauseMs);
    }
  }

  const mover = Object.assign(emitter, {
    async start() {
      if (state !== 'idle') return;
      state = 'running';
      subscriber = options.subscriber ?? redis.duplicate();
      if (ownsSubscriber) subscriber.on('error', onSubscriberError);
      subscriber.on('message', onMessage);
      try {
        await subscriber.subscribe(keys.timerWakeChannel);
      } catch (error) {
        // without wake-ups the movers still poll every maxPollMs
        report(error);
      }
      if (state !== 'running') return;
      for (const loop of loops.values()) loop.done = run(loop);
    },

    async stop() {
      if (state !== 'running') {
        state = 'stopped';
        return;
      }
      state = 'stopped';
      for (const loop of loops.values()) loop.wake?.();
      await Promise.all([...loops.values()].map((loop) => loop.done ?? Promise.resolve()));
      if (subscriber) {
        subscriber.off('message', onMessage);
        if (ownsSubscriber) {
          subscriber.disconnect();
          subscriber.off('error', onSubscriberError);
        }
      }
    },
  });
  return mover;
}

function option(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`timer mover option ${name} must be an integer >= ${min}, got ${value}`, name);
  }
  return value;
}
