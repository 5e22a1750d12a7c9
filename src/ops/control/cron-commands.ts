// Cron jobs on demand: `run <job>` puts a tick for now of each of the job's schedules on the timer wheel (it fires
// at once), and `backfill <schedule>` puts every tick of a time range there.
import type { Redis } from 'ioredis';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { WorkerConfig } from '../../config/index.js';
import { ValidationError } from '../../errors.js';
import { packJobsOf } from '../../jobs/catalog.js';
import type { JobPack } from '../../jobs/catalog.js';
import { backfillTicks } from '../../scheduler/cron-backfill.js';
import type { BackfillOptions, BackfillResult } from '../../scheduler/cron-backfill.js';
import { resolveCronSchedules } from '../../scheduler/cron-schedules.js';
import type { CronSchedule, CronScheduleDeclaration } from '../../scheduler/cron-schedules.js';
import { DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import { tickIso } from '../../scheduler/cron-ticks.js';
import { putCronTicks } from '../../scheduler/cron-timers.js';
import { createTimerWheel } from '../../scheduler/timer-wheel.js';
import type { KeyBuilder } from '../../streams/keys.js';
import { storedPartitionCount } from './stream-discovery.js';

export interface CronCommandDeps {
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly config: WorkerConfig;
  readonly packs: readonly JobPack[];
  readonly clock?: Clock;
}

/** A schedule declared by a pack job, aimed at that job unless it names another group. */
export interface DeclaredSchedule {
  readonly job: string;
  readonly declaration: CronScheduleDeclaration;
}

export interface RunNowResult {
  readonly job: string;
  readonly runs: readonly { readonly schedule: string; readonly tick: string; readonly result: string }[];
}

/** Ad-hoc schedule for `backfill --spec`: a schedule no pack declares (or a different expression for one). */
export interface ScheduleOverride {
  readonly spec?: string;
  /** Group the ticks are aimed at; required for a schedule no pack declares. */
  readonly job?: string;
}

export function declaredSchedules(packs: readonly JobPack[]): DeclaredSchedule[] {
  return packs.flatMap((pack) =>
    packJobsOf(pack).flatMap((job) =>
      (job.schedules ?? []).map((declaration) => ({ job: job.catalog.name, declaration })),
    ),
  );
}

/** The schedule as the worker would run it: declaration + its CRON_* variable (or `override.spec`). */
export function resolveSchedule(
  deps: Pick<CronCommandDeps, 'config' | 'packs'>,
  name: string,
  override: ScheduleOverride = {},
): CronSchedule {
  const declared = declaredSchedules(deps.packs).find((s) => s.declaration.name === name);
  if (declared === undefined && (override.spec === undefined || override.job === undefined)) {
    const known = declaredSchedules(deps.packs).map((s) => s.declaration.name);
    throw new ValidationError(
      `no job declares cron schedule "${name}" (schedules: ${known.join(', ') || 'none'}); ` +
        'for another schedule give both --spec and --job',
      [{ path: 'schedule', message: 'unknown schedule' }],
    );
  }
  const declaration: CronScheduleDeclaration = {
    name,
    ...declared?.declaration,
    targetGroup: override.job ?? declared?.declaration.targetGroup ?? declared?.job,
    ...(override.spec === undefined ? {} : { defaultSpec: override.spec }),
  };
  const variables =
    override.spec === undefined ? deps.config.jobs.cronSchedules : ({} as Readonly<Record<string, string>>);
  const [schedule] = resolveCronSchedules([declaration], variables, {
    defaultZone: deps.config.scheduler.timeZone,
    defaultZoneVariable: 'SCHEDULER_TIME_ZONE',
  });
  if (schedule === undefined) throw new ValidationError(`cron schedule ${name} did not resolve`);
  return schedule;
}

/** Backfills the ticks of a schedule in [fromMs, toMs] (see backfillTicks). */
export async function backfillSchedule(
  deps: CronCommandDeps,
  schedule: CronSchedule,
  fromMs: number,
  toMs: number,
  options: BackfillOptions = {},
): Promise<BackfillResult> {
  return backfillTicks(await cronTarget(deps), schedule, fromMs, toMs, options);
}

/**
 * Triggers a cron job now: each of its schedules gets a tick at the current time on the timer wheel (cause
 * `backfill`), due at once, so the timer mover fires it now. The tick is new (its own timer id and event id): a
 * re-run of the latest scheduled tick would carry that tick's event id, which the job's dedupe window skips
 * when the tick ran within it. A job without schedules is a ValidationError: it runs on events.
 */
export async function runCronJobNow(deps: CronCommandDeps, job: string): Promise<RunNowResult> {
  const packJob = deps.packs.flatMap((pack) => packJobsOf(pack)).find((j) => j.catalog.name === job);
  if (packJob === undefined) {
    const names = deps.packs.flatMap((pack) => packJobsOf(pack).map((j) => j.catalog.name)).sort();
    throw new ValidationError(`unknown job "${job}" (jobs: ${names.join(', ') || 'none'})`, [
      { path: 'job', message: 'unknown job' },
    ]);
  }
  const declarations = packJob.schedules ?? [];
  if (declarations.length === 0) {
    throw new ValidationError(
      `job ${job} is not a cron job: it runs on ${packJob.catalog.domain} events, so there is no tick to trigger ` +
        '(publish an event with `workers publish`, or requeue a dead letter)',
      [{ path: 'job', message: 'not a cron job' }],
    );
  }
  const target = await cronTarget(deps);
  const now = target.clock.now();
  const runs: { schedule: string; tick: string; result: string }[] = [];
  for (const declaration of declarations) {
    const schedule = resolveSchedule(deps, declaration.name);
    const [result = 'unchanged'] = await putCronTicks(target, schedule, [now], 'backfill', now);
    runs.push({ schedule: schedule.name, tick: tickIso(now), result });
  }
  return { job, runs };
}

async function cronTarget(deps: CronCommandDeps) {
  const partitions = await storedPartitionCount(
    deps.redis,
    deps.keys,
    DEFAULT_CRON_DOMAIN,
    deps.config.queue.partitionsDefault,
  );
  return {
    wheel: createTimerWheel({ redis: deps.redis, keys: deps.keys }),
    keys: deps.keys,
    partitions,
    domain: DEFAULT_CRON_DOMAIN,
    source: deps.config.service.id,
    clock: deps.clock ?? systemClock,
  };
}
