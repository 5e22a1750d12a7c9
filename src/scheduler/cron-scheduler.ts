// The cron scheduler loop (one per replica): for each schedule, read its high-water mark, put the ticks in
// (mark, now + lookahead] on the timer wheel, then move the mark forward. Missed ticks after a downtime are decided
// once, by whichever replica moves the mark first (compare-and-set), and applied per the schedule's policy.
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { ConfigError } from '../errors.js';
import type { KeyBuilder } from '../streams/keys.js';
import { abortableSleep } from '../streams/credit-source.js';
import { backfillTicks } from './cron-backfill.js';
import type { BackfillOptions, BackfillResult } from './cron-backfill.js';
import { createCronMarks } from './cron-mark.js';
import type { CronSchedule, MissedPolicy } from './cron-schedules.js';
import { DEFAULT_CRON_DOMAIN } from './cron-tick-event.js';
import type { CronTickCause } from './cron-tick-event.js';
import { nextTick, previousTick, ticksBetween } from './cron-ticks.js';
import { putCronTicks } from './cron-timers.js';
import type { CronTimerTarget } from './cron-timers.js';
import type { CalibratedClock } from './redis-clock.js';
import type { ScheduleResult, TimerWheel } from './timer-wheel.js';

export interface CronSchedulerOptions {
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly wheel: TimerWheel;
  readonly schedules: readonly CronSchedule[];
  /** Partition count of the cron domain. */
  readonly partitions: number;
  /** Domain whose partitions carry `cron.tick`; default `cron`. */
  readonly domain?: string;
  /** Service id written as the events' source; default `workers`. */
  readonly source?: string;
  /**
   * Decides what is due to be scheduled and what was missed; the mover's Redis TIME decides when a tick fires.
   * Give the worker a Redis clock (createRedisClock), so a skewed replica clock neither drops nor pre-schedules
   * ticks; a CalibratedClock is synced before each schedule's pass. Default: the system clock.
   */
  readonly clock?: Clock | CalibratedClock;
  /** How far ahead ticks are put on the wheel; default 10 s. A replica paused for less loses nothing. */
  readonly lookaheadMs?: number;
  /** A tick more than this late when first seen counts as missed (missed policy); default 10 s. */
  readonly missedGraceMs?: number;
  /** Longest sleep between passes; default 1 s. */
  readonly pollMs?: number;
  /** Most ticks one pass puts on the wheel per schedule (the next pass continues at once); default 1000. */
  readonly maxTicksPerPass?: number;
  /** Most missed ticks the `all` policy fires after one downtime (the latest are kept); default 1000. */
  readonly maxCatchUpTicks?: number;
}

export interface CronScheduledEvent {
  readonly schedule: string;
  readonly cause: CronTickCause;
  readonly ticks: readonly number[];
  /** Per tick: `scheduled` here, or `unchanged`/`tombstoned` when another replica or run was first. */
  readonly results: readonly ScheduleResult[];
}

export interface CronMissedEvent {
  readonly schedule: string;
  readonly policy: MissedPolicy;
  /** The missed range (fromMs, toMs]: the mark before the downtime, and now - missedGraceMs. */
  readonly fromMs: number;
  readonly toMs: number;
  /** The missed ticks put on the wheel (cause `missed`). */
  readonly fired: readonly number[];
  /** `all` policy: missed ticks within the window left out by maxCatchUpTicks. */
  readonly dropped: number;
}

export interface CronSchedulerEvents {
  scheduled: [CronScheduledEvent];
  missed: [CronMissedEvent];
  /** Emitted only when someone listens; the schedule is tried again on the next pass. */
  error: [{ schedule: string; error: unknown }];
}

export interface CronScheduler extends EventEmitter<CronSchedulerEvents> {
  /** Starts the loop; passes run until stop(). */
  start(): void;
  /** Stops the loop after the pass in flight. */
  stop(): Promise<void>;
  /** One pass over every schedule (what the loop runs); errors are reported per schedule, not thrown. */
  runPass(): Promise<void>;
  /** Puts every tick of a schedule in [fromMs, toMs] on the wheel; see backfillTicks. */
  backfill(
    schedule: string,
    fromMs: number,
    toMs: number,
    options?: BackfillOptions,
  ): Promise<BackfillResult>;
}

interface ScheduleState {
  readonly schedule: CronSchedule;
  /** Local time of the next pass that can have work: a new tick entering the lookahead, or a mark refresh. */
  nextPassAt: number;
}

/** Passes a schedule retries a lost compare-and-set before leaving the catch-up to the next pass. */
const CATCH_UP_ATTEMPTS = 3;

function isCalibrated(clock: Clock): clock is CalibratedClock {
  return typeof (clock as Partial<CalibratedClock>).sync === 'function';
}

function positive(name: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`cron scheduler option ${name} must be an integer >= ${min}, got ${value}`, name);
  }
  return value;
}

export function createCronScheduler(options: CronSchedulerOptions): CronScheduler {
  const clock = options.clock ?? systemClock;
  const lookaheadMs = positive('lookaheadMs', options.lookaheadMs ?? 10_000, 0);
  const missedGraceMs = positive('missedGraceMs', options.missedGraceMs ?? 10_000, 0);
  const pollMs = positive('pollMs', options.pollMs ?? 1000);
  const maxTicksPerPass = positive('maxTicksPerPass', options.maxTicksPerPass ?? 1000);
  const maxCatchUpTicks = positive('maxCatchUpTicks', options.maxCatchUpTicks ?? 1000);
  // While idle the mark (now + lookahead after a pass) is refreshed well before it lags now by the grace, so a
  // quiet schedule never looks like a downtime to another replica.
  const refreshMs = Math.max(100, Math.floor((lookaheadMs + missedGraceMs) / 2));
  const target: CronTimerTarget = {
    wheel: options.wheel,
    keys: options.keys,
    partitions: positive('partitions', options.partitions),
    domain: options.domain ?? DEFAULT_CRON_DOMAIN,
    source: options.source ?? 'workers',
  };
  const marks = createCronMarks(options.redis, options.keys);
  const states = new Map<string, ScheduleState>();
  for (const schedule of options.schedules) {
    if (states.has(schedule.name)) {
      throw new ConfigError(`cron schedule ${schedule.name} is given twice`, schedule.name);
    }
    states.set(schedule.name, { schedule, nextPassAt: 0 });
  }
  const emitter = new EventEmitter<CronSchedulerEvents>();
  let stopping: AbortController | undefined;
  let loopDone: Promise<void> | undefined;

  async function put(schedule: CronSchedule, ticks: readonly number[], cause: CronTickCause): Promise<void> {
    if (ticks.length === 0) return;
    const results = await putCronTicks(target, schedule, ticks, cause, clock.now());
    emitter.emit('scheduled', { schedule: schedule.name, cause, ticks, results });
  }

  /** The missed ticks in (fromMs, toMs] the policy fires, and how many the catch-up cap left out. */
  function chooseMissed(
    schedule: CronSchedule,
    fromMs: number,
    toMs: number,
    now: number,
  ): { fired: number[]; dropped: number } {
    const { missed, spec } = schedule;
    if (missed === 'skip') return { fired: [], dropped: 0 };
    if (missed === 'once') {
      const latest = previousTick(spec, toMs, fromMs);
      return { fired: latest === undefined ? [] : [latest], dropped: 0 };
    }
    const within = ticksBetween(spec, Math.max(fromMs, now - missed.all.withinMs), toMs);
    const fired = within.slice(-maxCatchUpTicks);
    return { fired, dropped: within.length - fired.length };
  }

  /** Schedules catch-up ticks a previous pass (maybe on another replica) recorded but did not confirm. */
  async function confirmPending(schedule: CronSchedule, pending: string): Promise<void> {
    const ticks = pending.split(',').map(Number);
    await put(
      schedule,
      [...new Set(ticks)].sort((a, b) => a - b),
      'missed',
    );
    await marks.settle(schedule.name, pending);
  }

  /**
   * Missed ticks: when the mark lags now - grace, move it there from exactly the mark read (compare-and-set) with
   * the policy's choice recorded as pending, then schedule the choice. Returns the mark to continue from, or
   * undefined when other replicas kept moving it (left to the next pass).
   */
  async function catchUp(schedule: CronSchedule, mark: number, now: number): Promise<number | undefined> {
    let current = mark;
    for (let attempt = 0; attempt < CATCH_UP_ATTEMPTS; attempt++) {
      const boundary = now - missedGraceMs;
      if (current >= boundary) return current;
      const { fired, dropped } = chooseMissed(schedule, current, boundary, now);
      const moved = await marks.advance(schedule.name, boundary, { expected: current, pending: fired });
      if (!moved.moved) {
        current = moved.current ?? current;
        continue;
      }
      if (fired.length > 0) {
        const pending = fired.join(',');
        await put(schedule, fired, 'missed');
        await marks.settle(schedule.name, pending);
      }
      emitter.emit('missed', {
        schedule: schedule.name,
        policy: schedule.missed,
        fromMs: current,
        toMs: boundary,
        fired,
        dropped,
      });
      return boundary;
    }
    return current >= now - missedGraceMs ? current : undefined;
  }

  async function passSchedule(state: ScheduleState): Promise<void> {
    const { schedule } = state;
    if (isCalibrated(clock)) await clock.sync();
    const now = clock.now();
    const read = await marks.read(schedule.name);
    if (read.pending !== undefined && read.pending !== '') await confirmPending(schedule, read.pending);
    let mark = read.mark;
    if (mark === undefined) {
      // first pass ever: nothing before now is owed; another replica may have set the mark first
      const init = await marks.advance(schedule.name, now, { expected: 'none' });
      mark = init.current ?? now;
    }
    const from = await catchUp(schedule, mark, now);
    if (from === undefined) {
      state.nextPassAt = now;
      return;
    }
    const horizon = now + lookaheadMs;
    let known = from;
    if (from < horizon) {
      const ticks = ticksBetween(schedule.spec, from, horizon, maxTicksPerPass);
      // schedule before moving the mark: a crash in between re-schedules the same ids, which is a no-op
      await put(schedule, ticks, 'schedule');
      const full = ticks.length === maxTicksPerPass;
      const moved = await marks.advance(schedule.name, full ? (ticks[ticks.length - 1] ?? horizon) : horizon);
      known = Math.max(moved.current ?? horizon, from);
      if (full) {
        state.nextPassAt = now;
        return;
      }
    }
    const next = nextTick(schedule.spec, known);
    const dueForTick = next === undefined ? Infinity : next - lookaheadMs;
    state.nextPassAt = Math.min(dueForTick, now + refreshMs);
  }

  async function runPass(): Promise<void> {
    const now = clock.now();
    await Promise.all(
      [...states.values()]
        .filter((state) => state.nextPassAt <= now)
        .map(async (state) => {
          try {
            await passSchedule(state);
          } catch (error) {
            state.nextPassAt = clock.now() + pollMs;
            if (emitter.listenerCount('error') > 0) {
              emitter.emit('error', { schedule: state.schedule.name, error });
            }
          }
        }),
    );
  }

  async function loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await runPass();
      const earliest = Math.min(...[...states.values()].map((state) => state.nextPassAt));
      await abortableSleep(Math.min(pollMs, Math.max(1, earliest - clock.now())), signal);
    }
  }

  return Object.assign(emitter, {
    start() {
      if (stopping) return;
      stopping = new AbortController();
      loopDone = loop(stopping.signal);
    },
    async stop() {
      stopping?.abort();
      await loopDone;
    },
    runPass,
    async backfill(name: string, fromMs: number, toMs: number, backfillOptions?: BackfillOptions) {
      const state = states.get(name);
      if (!state) {
        throw new ConfigError(
          `unknown cron schedule "${name}" (expected one of ${[...states.keys()].sort().join(', ') || 'none'})`,
          name,
        );
      }
      return backfillTicks({ ...target, clock }, state.schedule, fromMs, toMs, backfillOptions);
    },
  });
}
