// Backfill: puts every tick of a schedule in a time range on the timer wheel (past ticks fire at once, future ones
// at their time). Ticks that already fired keep their tombstone and are not run again unless forced; a forced tick
// gets a new timer version and with it an event id of its own, so the earlier run's dedupe mark does not stop it.
import type { Clock } from '../clock.js';
import { ValidationError } from '../errors.js';
import type { CronSchedule } from './cron-schedules.js';
import { ticksBetween, tickIso } from './cron-ticks.js';
import { putCronTicks } from './cron-timers.js';
import type { CronTimerTarget } from './cron-timers.js';

export const DEFAULT_BACKFILL_MAX_TICKS = 100_000;
const BACKFILL_BATCH = 1000;

export interface BackfillOptions {
  /** Run again ticks that already fired (a newer timer version beats their tombstone). Default false. */
  readonly force?: boolean;
  /** Refuse ranges holding more ticks than this; default 100,000. */
  readonly maxTicks?: number;
  /** Called after each batch, for CLI progress. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface BackfillResult {
  /** Ticks in the range. */
  readonly ticks: number;
  /** Newly put on the wheel (or, forced, rescheduled). */
  readonly scheduled: number;
  /** Already pending on the wheel. */
  readonly alreadyPending: number;
  /**
   * Already fired (or cancelled): their tombstone stopped them. Tombstones expire after the wheel's retention
   * (default 30 days), so older ticks count as scheduled and run again.
   */
  readonly alreadyFired: number;
  readonly firstTick: string | undefined;
  readonly lastTick: string | undefined;
}

/** Schedules the ticks t of `schedule` with fromMs <= t <= toMs; returns what happened to them. */
export async function backfillTicks(
  target: CronTimerTarget & { readonly clock: Clock },
  schedule: CronSchedule,
  fromMs: number,
  toMs: number,
  options: BackfillOptions = {},
): Promise<BackfillResult> {
  const maxTicks = options.maxTicks ?? DEFAULT_BACKFILL_MAX_TICKS;
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || fromMs > toMs) {
    throw new ValidationError(`backfill range must be integer ms with from <= to, got [${fromMs}, ${toMs}]`);
  }
  if (!Number.isSafeInteger(maxTicks) || maxTicks < 1) {
    throw new ValidationError(`backfill maxTicks must be a positive integer, got ${maxTicks}`);
  }
  const ticks = ticksBetween(schedule.spec, fromMs - 1, toMs, maxTicks + 1);
  if (ticks.length > maxTicks) {
    throw new ValidationError(
      `backfill of ${schedule.name} from ${tickIso(fromMs)} to ${tickIso(toMs)} holds more than ${maxTicks} ticks ` +
        '(narrow the range or raise maxTicks)',
    );
  }
  const now = target.clock.now();
  const version = options.force ? now : undefined;
  let scheduled = 0;
  let alreadyPending = 0;
  let alreadyFired = 0;
  for (let start = 0; start < ticks.length; start += BACKFILL_BATCH) {
    const batch = ticks.slice(start, start + BACKFILL_BATCH);
    const results = await putCronTicks(target, schedule, batch, 'backfill', now, version);
    for (const result of results) {
      if (result === 'scheduled' || result === 'rescheduled') scheduled++;
      else if (result === 'unchanged') alreadyPending++;
      else alreadyFired++;
    }
    options.onProgress?.(start + batch.length, ticks.length);
  }
  const first = ticks[0];
  const last = ticks[ticks.length - 1];
  return {
    ticks: ticks.length,
    scheduled,
    alreadyPending,
    alreadyFired,
    firstTick: first === undefined ? undefined : tickIso(first),
    lastTick: last === undefined ? undefined : tickIso(last),
  };
}
