// Puts cron ticks on the timer wheel: one deterministic timer per tick (`cron:<name>:<tick ISO>`, due at the tick)
// in the partition of the schedule name, so repeats from any replica are no-ops.
import { partitionOf } from '../events/partition.js';
import type { KeyBuilder, PartitionKeys } from '../streams/keys.js';
import type { CronSchedule } from './cron-schedules.js';
import { cronTickEvent } from './cron-tick-event.js';
import type { CronTickCause } from './cron-tick-event.js';
import { cronTimerId } from './cron-ticks.js';
import type { ScheduleResult, TimerWheel } from './timer-wheel.js';

/** Where a schedule's ticks go. */
export interface CronTimerTarget {
  readonly wheel: TimerWheel;
  readonly keys: KeyBuilder;
  /** Partition count of the cron domain. */
  readonly partitions: number;
  /** Domain whose partitions carry `cron.tick` (default `cron`). */
  readonly domain: string;
  /** Service id written as the events' source. */
  readonly source: string;
}

/** The partition a schedule's ticks fire in: partitionOf(schedule name). */
export function cronPartition(target: CronTimerTarget, schedule: string): PartitionKeys {
  return target.keys.partition(target.domain, partitionOf(schedule, target.partitions));
}

/**
 * Schedules the timers of `ticks` (ms); results in tick order. `version` > 0 beats the tombstone of a fired tick and
 * gives the tick's event an id of its own, so the run is not taken for a duplicate of the earlier one.
 */
export async function putCronTicks(
  target: CronTimerTarget,
  schedule: CronSchedule,
  ticks: readonly number[],
  cause: CronTickCause,
  scheduledAtMs: number,
  version?: number,
): Promise<ScheduleResult[]> {
  if (ticks.length === 0) return [];
  const timers = ticks.map((tickMs) => ({
    id: cronTimerId(schedule.name, tickMs),
    dueMs: tickMs,
    ...(version === undefined ? {} : { version }),
    event: cronTickEvent({
      schedule: schedule.name,
      tickMs,
      scheduledAtMs,
      cause,
      source: target.source,
      targetGroup: schedule.targetGroup,
      version,
    }),
  }));
  return target.wheel.scheduleMany(cronPartition(target, schedule.name), timers);
}
