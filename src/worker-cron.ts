// The worker's cron side: resolves the schedules of the enabled jobs against CRON_* at start-up (a bad
// expression or zone is a ConfigError naming the variable) and runs the scheduler that puts their ticks on the wheel.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { WorkerConfig } from './config/index.js';
import { ConfigError, ValidationError } from './errors.js';
import type { PackJob } from './jobs/catalog.js';
import { createCronScheduler } from './scheduler/cron-scheduler.js';
import type { CronScheduler } from './scheduler/cron-scheduler.js';
import { resolveCronSchedules, unusedCronVariables } from './scheduler/cron-schedules.js';
import type { CronSchedule } from './scheduler/cron-schedules.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from './scheduler/cron-tick-event.js';
import type { TimerWheel } from './scheduler/timer-wheel.js';
import type { JobDefinition } from './pipelines/job-definition.js';
import { createCronOverlapGuard, exclusiveTicks } from './scheduler/cron-overlap.js';
import type { CronTickData } from './scheduler/cron-tick-event.js';
import type { KeyBuilder } from './streams/keys.js';
import { createRedisClock } from './scheduler/redis-clock.js';

export const CRON_DOMAIN = DEFAULT_CRON_DOMAIN;

/** The schedules of the enabled jobs, each aimed at its own job (targetGroup) unless it names another. */
export function enabledSchedules(
  packJobs: readonly PackJob[],
  enabled: readonly string[],
  config: WorkerConfig,
): CronSchedule[] {
  const declarations = packJobs
    .filter((job) => enabled.includes(job.catalog.name))
    .flatMap((job) => {
      const schedules = job.schedules ?? [];
      if (schedules.length > 0 && job.catalog.domain !== CRON_DOMAIN) {
        throw new ValidationError(
          `job "${job.catalog.name}" declares cron schedules but reads domain ${job.catalog.domain} ` +
            `(expected domain ${CRON_DOMAIN}, where ${CRON_TICK_TYPE} events are)`,
        );
      }
      return schedules.map((s) => ({ ...s, targetGroup: s.targetGroup ?? job.catalog.name }));
    });
  return resolveCronSchedules(declarations, config.jobs.cronSchedules, {
    defaultZone: config.scheduler.timeZone,
    defaultZoneVariable: 'SCHEDULER_TIME_ZONE',
  });
}

/** CRON_* variables no pack reads (enabled or not): likely typos. */
export function strayCronVariables(packJobs: readonly PackJob[], config: WorkerConfig): string[] {
  return unusedCronVariables(
    packJobs.flatMap((job) => job.schedules ?? []),
    config.jobs.cronSchedules,
  );
}

/**
 * Runs the cron scheduler on Redis time (the local clock corrected by Redis TIME), so a replica whose clock runs
 * ahead neither takes future ticks for missed ones nor schedules ticks early, and one behind schedules none late.
 */
export function startCronScheduler(deps: {
  readonly config: WorkerConfig;
  readonly logger: Logger;
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly wheel: TimerWheel;
  readonly schedules: readonly CronSchedule[];
  /** The local clock the Redis offset corrects; default the system clock (tests inject a skewed one). */
  readonly localClock?: Clock;
}): CronScheduler {
  const { config, logger } = deps;
  const clock = createRedisClock(deps.redis, deps.localClock === undefined ? {} : { base: deps.localClock });
  const scheduler = createCronScheduler({
    clock,
    redis: deps.redis,
    keys: deps.keys,
    wheel: deps.wheel,
    schedules: deps.schedules,
    partitions: config.queue.partitionsDefault,
    domain: CRON_DOMAIN,
    source: config.service.id,
    lookaheadMs: config.scheduler.lookaheadMs,
    missedGraceMs: config.scheduler.missedGraceMs,
    pollMs: config.scheduler.pollMs,
  });
  scheduler.on('error', ({ schedule, error }) =>
    logger.warn({ schedule, err: error }, `cron schedule ${schedule}: pass failed, retried next pass`),
  );
  scheduler.on('missed', (event) =>
    logger.warn(
      { schedule: event.schedule, fired: event.fired.length, dropped: event.dropped },
      `cron schedule ${event.schedule} missed ticks during a downtime (policy applied)`,
    ),
  );
  if (deps.schedules.length > 0) scheduler.start();
  return scheduler;
}

/**
 * A cron job as the worker runs it: its handler under each schedule's overlap policy (a `skip` tick that finds
 * the previous run still going is acked and logged), and ticks keyed by event so one consumer's ticks never queue
 * behind each other (a busy tick is skipped, not delayed).
 */
export function withCronPolicies(
  definition: JobDefinition<never>,
  schedules: readonly CronSchedule[],
  deps: {
    readonly redis: Redis;
    readonly keys: KeyBuilder;
    readonly config: WorkerConfig;
    readonly logger: Logger;
  },
): JobDefinition<never> {
  const own = schedules.filter((s) => s.targetGroup === definition.name);
  if (own.length === 0) return definition;
  const { lockTtlMs } = deps.config.scheduler;
  // an attempt still running when its lock expires would overlap the next tick's run
  if (
    own.some((s) => s.overlap === 'skip') &&
    definition.timeoutMs !== undefined &&
    definition.timeoutMs >= lockTtlMs
  ) {
    throw new ConfigError(
      `cron job ${definition.name}: its timeoutMs=${definition.timeoutMs} is not below ` +
        `SCHEDULER_LOCK_TTL_MS=${lockTtlMs} (expected the overlap lock to outlive an attempt)`,
      'SCHEDULER_LOCK_TTL_MS',
    );
  }
  const guard = createCronOverlapGuard({
    redis: deps.redis,
    keys: deps.keys,
    lockTtlMs,
  });
  guard.on('lockLost', (event) =>
    deps.logger.warn(event, `cron job ${definition.name}: overlap lock lost, run aborted`),
  );
  const overlap = Object.fromEntries(own.map((s) => [s.name, s.overlap]));
  const handler = exclusiveTicks(definition.handler as unknown as JobDefinition<CronTickData>['handler'], {
    guard,
    overlap,
    onSkipped: (skipped) =>
      deps.logger.info(skipped, `cron job ${definition.name}: tick skipped, the previous run is still going`),
  });
  return {
    ...definition,
    handler: handler,
    keyOf: definition.keyOf ?? ((event) => event.id),
  };
}
