// The instants a schedule fires at: cron expressions read on a zone's wall clock (DST-correct), intervals
// aligned to the epoch. Pure functions of the spec, so every replica computes the same ticks.
import { CronExpression } from 'cron-parser';
import type { CronFieldCollection } from 'cron-parser';
import { IANAZone } from 'luxon';
import { ValidationError } from '../errors.js';
import type { CronExpressionSpec, CronSpec } from './cron-spec.js';

const DAY_MS = 86_400_000;
/** Real zone offsets lie within [-12 h, +14 h]; walls and instants are never further apart than this. */
const MAX_OFFSET_MS = 14 * 3_600_000;

/*
 * DST rules (the ones of Vixie cron, which cron users expect):
 * - a wall time skipped when clocks go forward fires at the instant luxon gives it: pushed forward by the gap
 *   (02:30 on a Berlin spring-forward day fires at 03:30 CEST); one that falls on a real tick fires once;
 * - a wall time repeated when clocks go back fires once, at its first occurrence, unless the hour field names
 *   every hour (`*\/15 * * * *`, `0 * * * *`): such schedules fire at both occurrences, keeping their rhythm.
 */

const zones = new Map<string, IANAZone>();

function zoneOf(spec: CronExpressionSpec): IANAZone {
  let zone = zones.get(spec.zone);
  if (!zone) {
    zone = IANAZone.create(spec.zone);
    zones.set(spec.zone, zone);
  }
  return zone;
}

function offsetMs(zone: IANAZone, instant: number): number {
  return zone.offset(instant) * 60_000;
}

/** The tick's ISO-8601 UTC form, used in timer ids and event data. */
export function tickIso(tickMs: number): string {
  return new Date(tickMs).toISOString();
}

/** The deterministic timer id of one tick: `cron:<schedule>:<tick ISO>`. */
export function cronTimerId(schedule: string, tickMs: number): string {
  return `cron:${schedule}:${tickIso(tickMs)}`;
}

function checkRange(afterMs: number, untilMs: number): void {
  if (!Number.isFinite(afterMs) || !Number.isFinite(untilMs)) {
    throw new ValidationError(`tick range must be finite ms, got (${afterMs}, ${untilMs}]`);
  }
}

/** The fields as sorted numbers, and a UTC expression whose includesDate() applies cron-parser's day rules. */
interface WallPlan {
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly firstTimeOfDayMs: number;
  readonly dayRules: CronExpression;
}

const plans = new WeakMap<CronFieldCollection, WallPlan>();

function sortedNumbers(values: readonly (number | string)[]): number[] {
  return values.filter((value): value is number => typeof value === 'number').sort((a, b) => a - b);
}

function planOf(fields: CronFieldCollection): WallPlan {
  let plan = plans.get(fields);
  if (!plan) {
    const seconds = sortedNumbers(fields.second.values);
    const minutes = sortedNumbers(fields.minute.values);
    const hours = sortedNumbers(fields.hour.values);
    plan = {
      seconds,
      minutes,
      hours,
      firstTimeOfDayMs: (hours[0] ?? 0) * 3_600_000 + (minutes[0] ?? 0) * 60_000 + (seconds[0] ?? 0) * 1000,
      dayRules: new CronExpression(fields, { tz: 'UTC' }),
    };
    plans.set(fields, plan);
  }
  return plan;
}

/**
 * Wall times (local time read as if it were UTC, in ms) matching the fields within [fromWall, toWall]. Days are
 * matched by cron-parser (month, day of month/week, L, #); times of day are enumerated here, since stepping
 * cron-parser's iterator costs ~100 us per tick.
 */
function wallsIn(fields: CronFieldCollection, fromWall: number, toWall: number): number[] {
  const plan = planOf(fields);
  const walls: number[] = [];
  for (let day = Math.floor(fromWall / DAY_MS) * DAY_MS; day <= toWall; day += DAY_MS) {
    if (day + DAY_MS <= fromWall || !plan.dayRules.includesDate(new Date(day + plan.firstTimeOfDayMs)))
      continue;
    for (const hour of plan.hours) {
      const hourStart = day + hour * 3_600_000;
      if (hourStart > toWall) break;
      if (hourStart + 3_600_000 <= fromWall) continue;
      for (const minute of plan.minutes) {
        const minuteStart = hourStart + minute * 60_000;
        if (minuteStart > toWall) break;
        if (minuteStart + 60_000 <= fromWall) continue;
        for (const second of plan.seconds) {
          const wall = minuteStart + second * 1000;
          if (wall > toWall) break;
          if (wall >= fromWall) walls.push(wall);
        }
      }
    }
  }
  return walls;
}

/** The zone's one offset change in (from, to]: its instant and the offsets before and after it. */
interface Transition {
  readonly at: number;
  readonly before: number;
  readonly after: number;
}

/** Binary search for the first instant with the new offset; offsets change on whole milliseconds at most. */
function transitionIn(zone: IANAZone, from: number, to: number): Transition {
  const before = offsetMs(zone, from);
  let low = from;
  let high = to;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (offsetMs(zone, middle) === before) low = middle;
    else high = middle;
  }
  return { at: high, before, after: offsetMs(zone, high) };
}

/** The instants of one wall time near a transition: one, or two in a fold (then the first unless everyHour). */
function instantsOfWall(wall: number, transition: Transition, everyHour: boolean): number[] {
  const early = wall - transition.before;
  const late = wall - transition.after;
  const earlyValid = early < transition.at;
  const lateValid = late >= transition.at;
  if (earlyValid && lateValid) {
    const first = Math.min(early, late);
    return everyHour && early !== late ? [first, Math.max(early, late)] : [first];
  }
  if (lateValid) return [late];
  // valid before the change, or in the gap: the earlier offset pushes it past the gap, as luxon does
  return [early];
}

/** Ticks of a cron spec in (lo, hi], ascending; hi - lo is at most a day, so at most one offset change matters. */
function cronTicksInDay(spec: CronExpressionSpec, lo: number, hi: number): number[] {
  const zone = zoneOf(spec);
  const samples = [lo - DAY_MS, lo, hi, hi + DAY_MS];
  const offsets = samples.map((instant) => offsetMs(zone, instant));
  const least = Math.min(...offsets);
  const most = Math.max(...offsets);
  const walls = wallsIn(spec.fields, lo + least, hi + most);
  if (least === most) {
    return walls.map((wall) => wall - least).filter((tick) => tick > lo && tick <= hi);
  }
  const changed = offsets.findIndex((offset, i) => i > 0 && offset !== offsets[i - 1]);
  const transition = transitionIn(zone, samples[changed - 1] as number, samples[changed] as number);
  const ticks = walls
    .flatMap((wall) => instantsOfWall(wall, transition, spec.everyHour))
    .filter((tick) => tick > lo && tick <= hi)
    .sort((a, b) => a - b);
  return ticks.filter((tick, i) => i === 0 || tick !== ticks[i - 1]);
}

/** A wall-clock search that found nothing in range (impossible dates stop cron-parser's iteration). */
function isExhausted(error: unknown): boolean {
  return error instanceof Error && /loop limit|time span/i.test(error.message);
}

/** First wall after `wall`, or undefined when the expression has none. */
function wallAfter(fields: CronFieldCollection, wall: number): number | undefined {
  try {
    return new CronExpression(fields, { tz: 'UTC', currentDate: new Date(wall) }).next().getTime();
  } catch (error) {
    if (isExhausted(error)) return undefined;
    throw error;
  }
}

/** Last wall before `wall`, or undefined. */
function wallBefore(fields: CronFieldCollection, wall: number): number | undefined {
  try {
    return new CronExpression(fields, { tz: 'UTC', currentDate: new Date(wall) }).prev().getTime();
  } catch (error) {
    if (isExhausted(error)) return undefined;
    throw error;
  }
}

/** Ticks t with afterMs < t <= untilMs, ascending, at most `limit` (the earliest ones). */
export function ticksBetween(spec: CronSpec, afterMs: number, untilMs: number, limit = Infinity): number[] {
  checkRange(afterMs, untilMs);
  const ticks: number[] = [];
  if (untilMs <= afterMs || limit <= 0) return ticks;
  if (spec.kind === 'interval') {
    for (let tick = nextIntervalTick(spec.everyMs, afterMs); tick <= untilMs; tick += spec.everyMs) {
      ticks.push(tick);
      if (ticks.length >= limit) break;
    }
    return ticks;
  }
  for (let lo = afterMs; lo < untilMs;) {
    const hi = Math.min(untilMs, lo + DAY_MS);
    const day = cronTicksInDay(spec, lo, hi);
    if (day.length > 0) {
      for (const tick of day) {
        ticks.push(tick);
        if (ticks.length >= limit) return ticks;
      }
      lo = hi;
      continue;
    }
    // nothing today: jump to a day before the next matching wall (sparse schedules cross years quickly)
    const wall = wallAfter(spec.fields, hi - MAX_OFFSET_MS);
    if (wall === undefined) return ticks;
    lo = Math.max(hi, wall - MAX_OFFSET_MS - 1);
  }
  return ticks;
}

function nextIntervalTick(everyMs: number, afterMs: number): number {
  return Math.floor(afterMs / everyMs) * everyMs + everyMs;
}

/** The first tick after afterMs, or undefined when the schedule never fires again. */
export function nextTick(spec: CronSpec, afterMs: number): number | undefined {
  checkRange(afterMs, afterMs);
  if (spec.kind === 'interval') return nextIntervalTick(spec.everyMs, afterMs);
  for (let lo = afterMs; ;) {
    const hi = lo + DAY_MS;
    const day = cronTicksInDay(spec, lo, hi);
    if (day.length > 0) return day[0];
    const wall = wallAfter(spec.fields, hi - MAX_OFFSET_MS);
    if (wall === undefined) return undefined;
    lo = Math.max(hi, wall - MAX_OFFSET_MS - 1);
  }
}

/** The last tick t with afterMs < t <= atOrBeforeMs, or undefined. */
export function previousTick(spec: CronSpec, atOrBeforeMs: number, afterMs: number): number | undefined {
  checkRange(afterMs, atOrBeforeMs);
  if (atOrBeforeMs <= afterMs) return undefined;
  if (spec.kind === 'interval') {
    const tick = Math.floor(atOrBeforeMs / spec.everyMs) * spec.everyMs;
    return tick > afterMs ? tick : undefined;
  }
  for (let hi = atOrBeforeMs; hi > afterMs;) {
    const lo = Math.max(afterMs, hi - DAY_MS);
    const day = cronTicksInDay(spec, lo, hi);
    if (day.length > 0) return day[day.length - 1];
    // walls are whole seconds: the last one before lo + MAX_OFFSET_MS + 1 is the last one <= lo + MAX_OFFSET_MS
    const wall = wallBefore(spec.fields, lo + MAX_OFFSET_MS + 1);
    if (wall === undefined) return undefined;
    hi = Math.min(lo, wall + MAX_OFFSET_MS);
  }
  return undefined;
}
