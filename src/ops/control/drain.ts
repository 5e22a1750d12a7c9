// Drain: a job stops taking new entries and finishes the ones it holds. Sets the job's control state to `draining`,
// waits until its group has nothing pending on any partition, then leaves it `paused` and reports what is left.
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import { ValidationError } from '../../errors.js';
import type { KeyBuilder } from '../../streams/keys.js';
import type { RedisClient } from '../../streams/scripts.js';
import { readStreamStats } from '../../streams/stream-stats.js';
import { createJobControl, DEFAULT_CONTROL_POLL_MS } from './job-control.js';
import type { SetJobStateOptions } from './job-control.js';
import { discoverStreams } from './stream-discovery.js';

export interface DrainOptions extends SetJobStateOptions {
  readonly job: string;
  /** Give up after this long (the job stays `draining`); default 5 minutes. */
  readonly timeoutMs?: number;
  /** How often pending is read; default 500 ms. */
  readonly pollMs?: number;
  /**
   * Pending is trusted only after every replica has seen `draining` (their control poll interval, default 1 s):
   * until then one of them may still take new entries.
   */
  readonly settleMs?: number;
  readonly onProgress?: (pending: number, pendingAtStart: number) => void;
  readonly signal?: AbortSignal;
}

export interface DrainResult {
  readonly job: string;
  /** True when nothing was pending at the end: the job is now `paused`. */
  readonly drained: boolean;
  readonly state: 'paused' | 'draining';
  readonly version: number;
  readonly pendingAtStart: number;
  readonly pending: number;
  /** Entries never delivered to the group: they wait for `resume`. */
  readonly lag: number;
  readonly elapsedMs: number;
}

export interface DrainDeps {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  readonly clock?: Clock;
}

export async function drainJob(deps: DrainDeps, options: DrainOptions): Promise<DrainResult> {
  const { redis, keys } = deps;
  const clock = deps.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const pollMs = options.pollMs ?? 500;
  const settleMs = options.settleMs ?? DEFAULT_CONTROL_POLL_MS;
  for (const [name, value] of [
    ['timeoutMs', timeoutMs],
    ['pollMs', pollMs],
    ['settleMs', settleMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ValidationError(`drain ${name} must be a non-negative integer ms, got ${value}`);
    }
  }
  const targets = (await discoverStreams(redis, keys, { group: options.job })).map((d) => ({
    domain: d.domain,
    partitions: d.partitions,
    groups: [options.job],
  }));
  const control = createJobControl({ redis, keys, clock });
  const by = { ...(options.by === undefined ? {} : { by: options.by }), reason: options.reason ?? 'drain' };
  await control.set(options.job, 'draining', by);
  const started = clock.now();
  const read = async (): Promise<{ pending: number; lag: number }> => {
    if (targets.length === 0) return { pending: 0, lag: 0 };
    const stats = await readStreamStats(redis, keys, targets, clock);
    return {
      pending: stats.reduce((n, s) => n + s.pending, 0),
      lag: stats.reduce((n, s) => n + s.lag, 0),
    };
  };
  let figures = await read();
  const pendingAtStart = figures.pending;
  options.onProgress?.(figures.pending, pendingAtStart);
  for (;;) {
    const elapsed = clock.now() - started;
    if (figures.pending === 0 && elapsed >= settleMs) break;
    if (elapsed >= timeoutMs || options.signal?.aborted) {
      const state = await control.get(options.job);
      return {
        job: options.job,
        drained: false,
        state: 'draining',
        version: state.version,
        pendingAtStart,
        ...figures,
        elapsedMs: elapsed,
      };
    }
    const wait = figures.pending === 0 ? settleMs - elapsed : pollMs;
    await sleep(Math.max(1, Math.min(wait, timeoutMs - elapsed)), undefined, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }).catch(() => undefined);
    figures = await read();
    options.onProgress?.(figures.pending, pendingAtStart);
  }
  const paused = await control.set(options.job, 'paused', by);
  return {
    job: options.job,
    drained: true,
    state: 'paused',
    version: paused.version,
    pendingAtStart,
    ...figures,
    elapsedMs: clock.now() - started,
  };
}
