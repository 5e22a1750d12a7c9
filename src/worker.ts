// The worker: connects to Redis, refuses an unsafe one, checks partition counts, and runs one job runner per
// job enabled by PROCESSORS/ENABLE_*, logging what operators must see; stop() shuts it all down gracefully.
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { resolveProcessors, unusedEnableFlags } from './config/index.js';
import type { JobCatalogEntry, WorkerConfig } from './config/index.js';
import { ValidationError, WorkersError, errorMessage } from './errors.js';
import { ensurePartitionCount } from './events/partition-store.js';
import { createEventRegistry } from './events/registry.js';
import type { EventRegistry } from './events/registry.js';
import { definitionOf, jobPacks, packJobsOf } from './jobs/catalog.js';
import type { JobPack, PackJob } from './jobs/catalog.js';
import { createLogger } from './ops/logger.js';
import type { JobDefinition } from './pipelines/job-definition.js';
import { createJobRunner } from './pipelines/job-runner.js';
import type { JobRunner, RunnerSettings } from './pipelines/job-runner.js';
import { defaultBackoff } from './streams/backoff.js';
import { createKeyBuilder } from './streams/keys.js';
import { checkRedisSafety } from './streams/redis-safety.js';
import { createRetentionLoop } from './streams/retention-loop.js';
import type { RetentionDomain, RetentionLoop } from './streams/retention-loop.js';
import { createTrimmer } from './streams/trimmer.js';
import type { JobSignals, PackContext } from './jobs/pack-context.js';
import type { CronScheduler } from './scheduler/cron-scheduler.js';
import { registerCronTick } from './scheduler/cron-tick-event.js';
import { createTimerMover } from './scheduler/timer-mover.js';
import {
  CRON_DOMAIN,
  enabledSchedules,
  startCronScheduler,
  strayCronVariables,
  withCronPolicies,
} from './worker-cron.js';
import { createWorkerContext } from './worker-context.js';
import { instrumentWorker } from './ops/metrics/instrument-worker.js';
import { createWorkerMetrics } from './ops/metrics/worker-metrics.js';
import type { WorkerMetrics } from './ops/metrics/worker-metrics.js';
import { traceJob } from './ops/tracing/consumer-span.js';
import type { TimerMover } from './scheduler/timer-mover.js';

export interface WorkerOptions {
  readonly config: WorkerConfig;
  /** Default: the packs this build ships (`jobPacks`). */
  readonly packs?: readonly JobPack[];
  /** Default: `createLogger(config)`. */
  readonly logger?: Logger;
  /** An open connection to use instead of REDIS_URL; its owner closes it (stop() leaves it open). */
  readonly redis?: Redis;
  /** The environment packs read their own settings from (process env + .env); default: process.env. */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** What jobs report beside outcomes (provider health, alerts); default: the worker's metrics. */
  readonly signals?: JobSignals;
}

export interface Worker {
  /** Names of the jobs this process runs, sorted. */
  readonly jobs: readonly string[];
  readonly runners: readonly JobRunner[];
  /** The periodic retention trimmer over the enabled jobs' domains (idle when TRIM_INTERVAL_MS=0). */
  readonly retention: RetentionLoop;
  /** Moves due timers (defer, repeat, scheduled events) of the enabled jobs' domains into their streams. */
  readonly timers: TimerMover;
  /** Puts the enabled jobs' cron ticks on the timer wheel (idle without schedules). */
  readonly cron: CronScheduler;
  /** Prometheus metrics of this worker (the admin server serves `metrics.metricsText()`). */
  readonly metrics: WorkerMetrics;
  /** Stops every runner in parallel within the grace period (default SHUTDOWN_GRACE_MS), then closes Redis. */
  stop(graceMs?: number): Promise<void>;
}

/** One log line per job and loop location per interval, so a Redis outage does not flood the logs. */
export const LOOP_ERROR_LOG_INTERVAL_MS = 10_000;

/** The runner settings the environment controls; poll and block intervals keep the runner's defaults. */
export function runnerSettingsFrom(
  config: WorkerConfig,
): Omit<RunnerSettings, 'retryPollMs' | 'blockMs' | 'controlPollMs'> {
  return {
    maxAttempts: config.retry.maxAttempts,
    maxDeliveries: config.retry.maxDeliveries,
    backoff: { ...defaultBackoff, baseMs: config.retry.backoffMs, maxMs: config.retry.backoffMaxMs },
    claimFloorMs: config.consumer.claimFloorMs,
    heartbeatMs: config.consumer.heartbeatIntervalMs,
    handlerTimeoutMs: config.consumer.handlerTimeoutMs,
    shutdownGraceMs: config.consumer.shutdownGraceMs,
    dedupeWindowMs: config.queue.dedupeWindowMs,
  };
}

/**
 * Starts the worker. Everything that can be wrong without Redis (PROCESSORS, pack declarations) is checked
 * before connecting. Throws ConfigError, UnsafeRedisError, PartitionMismatchError, ValidationError (a broken
 * pack) or a WorkersError with code REDIS_UNAVAILABLE; on any failure the connection it opened is closed.
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config);
  const registry = createEventRegistry();
  registerCronTick(registry, CRON_DOMAIN);
  const packJobs = collectJobs(options.packs ?? jobPacks, registry, options.environment ?? process.env);
  const catalog = packJobs.map((job) => job.catalog);
  const jobs = resolveProcessors(catalog, config.jobs.processors, config.jobs.enableFlags);
  const schedules = enabledSchedules(packJobs, jobs, config);

  const warnLimited = rateLimitedLog(logger, LOOP_ERROR_LOG_INTERVAL_MS);
  const redis = options.redis ?? (await connectRedis(config.redis, warnLimited));
  const ownsRedis = options.redis === undefined;
  const keys = createKeyBuilder({ prefix: config.queue.prefix, dlqSuffix: config.queue.dlqSuffix });
  const partitions = config.queue.partitionsDefault;
  let streamTargets: RetentionDomain[] = [];
  const metrics = createWorkerMetrics({ redis, keys, streams: () => streamTargets, logger });
  const context = createWorkerContext({
    config,
    logger,
    redis,
    keys,
    registry,
    metrics,
    signals: options.signals ?? metrics.signals,
  });
  const runners: JobRunner[] = [];
  let timers: TimerMover | undefined;
  let definitions: JobDefinition<never>[];
  const closeRedis = async (): Promise<void> => {
    await context.close();
    if (ownsRedis) await redis.quit().catch(() => redis.disconnect());
  };

  try {
    // factories get the context, so they run once Redis is there; what they refuse (a missing key) fails the start
    definitions = jobs.map((name) =>
      withCronPolicies(enabledDefinition(packJobs, name, context, registry), schedules, {
        redis,
        keys,
        config,
        logger,
      }),
    );
    await checkRedisSafety(redis, { allowUnsafe: config.redis.allowUnsafe, logger });
    for (const domain of workerDomains(definitions, schedules)) {
      await ensurePartitionCount(redis, keys, domain, partitions);
    }
    const settings = runnerSettingsFrom(config);
    streamTargets = domainPartitions(definitions, schedules, partitions);
    for (const definition of definitions) {
      // the span is outermost, so the handler's timing sits inside it
      const instrumented = traceJob(metrics.instrumentJob(definition));
      const runner = createJobRunner(instrumented, { redis, keys, registry, partitions, settings });
      watchRunner(runner, logger, warnLimited);
      runners.push(runner);
    }
    await Promise.all(runners.map((runner) => runner.start()));
    // the mover subscribes to wake-ups: a Redis that fails here fails the start like a runner would
    timers = await startTimerMover(redis, keys, logger, domainPartitions(definitions, schedules, partitions));
  } catch (error) {
    await Promise.allSettled([...runners.map((runner) => runner.stop(0)), timers?.stop()]);
    await closeRedis();
    throw error;
  }

  const unused = unusedEnableFlags(catalog, config.jobs.enableFlags);
  if (unused.length > 0)
    logger.warn({ flags: unused }, `ENABLE_* variables that match no job: ${unused.join(', ')}`);
  const stray = strayCronVariables(packJobs, config);
  if (stray.length > 0)
    logger.warn({ variables: stray }, `CRON_* variables no job reads: ${stray.join(', ')}`);
  if (jobs.length === 0)
    logger.warn('no job is enabled: PROCESSORS and ENABLE_* select nothing in this build');
  const retention = startRetention(config, redis, keys, logger, retentionDomains(definitions, partitions));
  const cron = startCronScheduler({ config, logger, redis, keys, wheel: context.wheel, schedules });
  const unwatch = instrumentWorker({ runners, timers, retention }, metrics, { logger });
  logger.info({ jobs, partitions, schedules: schedules.map((s) => s.name) }, 'worker started');

  let stopping: Promise<void> | undefined;
  return {
    jobs,
    runners,
    retention,
    timers,
    cron,
    metrics,
    stop(graceMs = config.consumer.shutdownGraceMs) {
      stopping ??= (async () => {
        await Promise.all([retention.stop(), timers.stop(), cron.stop()]);
        unwatch();
        const released = new Map<string, number>();
        for (const runner of runners)
          runner.once('stopped', (event) => released.set(event.job, event.released));
        const results = await Promise.allSettled(runners.map((runner) => runner.stop(graceMs)));
        results.forEach((result, i) => {
          if (result.status === 'rejected')
            logger.error({ job: runners[i]?.job, err: result.reason }, 'job runner failed to stop cleanly');
        });
        await closeRedis();
        logger.info({ released: Object.fromEntries(released) }, 'worker stopped');
      })();
      return stopping;
    },
  };
}

/** Registers every pack's event types and returns their jobs; a job name declared twice is a build error. */
function collectJobs(
  packs: readonly JobPack[],
  registry: EventRegistry,
  environment: Readonly<Record<string, string | undefined>>,
): PackJob[] {
  const packOf = new Map<string, string>();
  const jobs: PackJob[] = [];
  for (const pack of packs) {
    pack.register(registry);
    for (const job of packJobsOf(pack, environment)) {
      const other = packOf.get(job.catalog.name);
      if (other !== undefined) {
        throw new ValidationError(
          `job "${job.catalog.name}" is declared by packs "${other}" and "${pack.name}" (expected one declaration)`,
          [{ path: 'jobs', message: 'duplicate job name' }],
        );
      }
      packOf.set(job.catalog.name, pack.name);
      jobs.push(job);
    }
  }
  return jobs;
}

/** Builds an enabled job's definition and checks it agrees with its catalog entry and the registry. */
function enabledDefinition(
  packJobs: readonly PackJob[],
  name: string,
  context: PackContext,
  registry: EventRegistry,
): JobDefinition<never> {
  const job = packJobs.find((candidate) => candidate.catalog.name === name);
  if (job === undefined) throw new ValidationError(`job "${name}" was resolved but no pack declares it`);
  const definition = definitionOf(job, context);
  const entry: JobCatalogEntry = job.catalog;
  if (definition.name !== entry.name || definition.domain !== entry.domain) {
    throw new ValidationError(
      `job "${entry.name}": its catalog entry says ${entry.name} in domain ${entry.domain} but its definition ` +
        `says ${definition.name} in domain ${definition.domain} (expected both to agree)`,
      [{ path: 'definition', message: 'name or domain differs from the catalog entry' }],
    );
  }
  for (const type of definition.types) {
    // A type of another domain is published to other streams, so this job would never see it.
    const domain = registry.domainOf(type);
    if (domain !== definition.domain) {
      throw new ValidationError(
        `job "${name}" subscribes to "${type}" of domain ${domain} but reads domain ${definition.domain} ` +
          `(expected only types of ${definition.domain})`,
        [{ path: 'types', message: 'event type of another domain' }],
      );
    }
  }
  return definition;
}

type LimitedLog = (key: string, level: 'warn' | 'error', fields: object, message: string) => void;

/** Logs the first line per key, then at most one per interval, counting the lines it left out. */
function rateLimitedLog(logger: Logger, intervalMs: number): LimitedLog {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, level, fields, message) => {
    const now = Date.now();
    const previous = last.get(key);
    if (previous !== undefined && now - previous.at < intervalMs) {
      previous.suppressed += 1;
      return;
    }
    last.set(key, { at: now, suppressed: 0 });
    logger[level]({ ...fields, suppressed: previous?.suppressed ?? 0 }, message);
  };
}

/** Connects once (standalone, or through Sentinel) and fails fast; after that ioredis reconnects on its own. */
async function connectRedis(settings: WorkerConfig['redis'], log: LimitedLog): Promise<Redis> {
  const options: RedisOptions = { lazyConnect: true };
  if (settings.sentinels !== undefined) {
    options.sentinels = settings.sentinels.map(({ host, port }) => ({ host, port }));
    options.name = settings.sentinelName;
  }
  // With sentinels, REDIS_URL still carries the credentials, database and TLS of the master connection.
  const redis = new Redis(settings.url, options);
  let lastError: unknown;
  let connected = false;
  redis.on('error', (error: unknown) => {
    lastError = error;
    // Before the first connection the failure is thrown instead; afterwards ioredis retries and we say so.
    if (connected) log('redis', 'warn', { err: error }, `Redis connection error: ${errorMessage(error)}`);
  });
  try {
    await redis.connect();
    connected = true;
    return redis;
  } catch (error) {
    redis.disconnect();
    const target =
      settings.sentinels === undefined
        ? redactedUrl(settings.url)
        : `sentinels ${settings.sentinels.map((s) => `${s.host}:${s.port}`).join(',')} (master "${settings.sentinelName ?? ''}")`;
    throw new WorkersError(
      'REDIS_UNAVAILABLE',
      `cannot connect to Redis at ${target}: ${errorMessage(lastError ?? error)} ` +
        '(expected a reachable Redis at REDIS_URL, or REDIS_SENTINELS)',
      { cause: lastError ?? error },
    );
  }
}

/** protocol://host:port only: the URL may carry a password. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'REDIS_URL';
  }
}

/** Domains the worker reads or schedules into: its jobs' domains, and the cron domain when it has schedules. */
function workerDomains(
  definitions: readonly JobDefinition<never>[],
  schedules: readonly unknown[],
): Set<string> {
  const domains = new Set(definitions.map((job) => job.domain));
  if (schedules.length > 0) domains.add(CRON_DOMAIN);
  return domains;
}

function domainPartitions(
  definitions: readonly JobDefinition<never>[],
  schedules: readonly unknown[],
  partitions: number,
): RetentionDomain[] {
  const withGroups = retentionDomains(definitions, partitions);
  const known = new Set(withGroups.map((d) => d.domain));
  const extra = [...workerDomains(definitions, schedules)].filter((domain) => !known.has(domain));
  return [...withGroups, ...extra.map((domain) => ({ domain, partitions, groups: [] }))];
}

/** Logs what operators must see from a runner: loop errors (rate-limited), data loss, lost ownership, circuit. */
function watchRunner(runner: JobRunner, logger: Logger, warnLimited: LimitedLog): void {
  runner.on('loopError', ({ job, where, error }) =>
    warnLimited(`${job}\0${where}`, 'error', { job, where, err: error }, `job ${job}: ${where} failed`),
  );
  runner.on('dataLoss', ({ job, stream, ids }) =>
    logger.error(
      { job, stream, ids },
      `DATA LOSS: job ${job} held ${ids.length} entries that were deleted from ${stream} before they were handled`,
    ),
  );
  runner.on('ownershipLost', ({ job, stream, ids }) =>
    logger.warn(
      { job, stream, ids },
      `job ${job} lost ${ids.length} entries of ${stream} to another consumer while handling them`,
    ),
  );
  runner.on('circuit', ({ job, from, to }) =>
    logger.warn({ job, from, to }, `job ${job}: circuit ${to} (was ${from})`),
  );
}

function retentionDomains(
  definitions: readonly JobDefinition<never>[],
  partitions: number,
): RetentionDomain[] {
  const groups = new Map<string, string[]>();
  for (const job of definitions) groups.set(job.domain, [...(groups.get(job.domain) ?? []), job.name]);
  return [...groups].map(([domain, names]) => ({ domain, partitions, groups: names }));
}

function startRetention(
  config: WorkerConfig,
  redis: Redis,
  keys: ReturnType<typeof createKeyBuilder>,
  logger: Logger,
  domains: RetentionDomain[],
): RetentionLoop {
  const trimmer = createTrimmer({ redis, keys, logger });
  const retention = createRetentionLoop({
    trimmer,
    domains,
    policy: config.retention,
    intervalMs: config.retention.trimIntervalMs,
  });
  retention.on('error', ({ domain, partition, error }) =>
    logger.warn({ domain, partition, err: error }, `retention trim of ${domain}:${partition} failed`),
  );
  retention.start();
  return retention;
}

/** Any number of movers may run (each timer enters its stream once), so every worker runs one. */
async function startTimerMover(
  redis: Redis,
  keys: ReturnType<typeof createKeyBuilder>,
  logger: Logger,
  domains: RetentionDomain[],
): Promise<TimerMover> {
  const partitions = domains.flatMap(({ domain, partitions: count }) =>
    Array.from({ length: count }, (_, i) => keys.partition(domain, i)),
  );
  const mover = createTimerMover({ redis, keys, partitions });
  const warnLimited = rateLimitedLog(logger, LOOP_ERROR_LOG_INTERVAL_MS);
  mover.on('error', ({ partition, error }) =>
    warnLimited(
      `timers\0${partition?.tag ?? ''}`,
      'warn',
      { partition: partition?.tag, err: error },
      'timer mover failed',
    ),
  );
  mover.on('deadLettered', ({ partition, count }) =>
    logger.error({ partition: partition.tag, count }, 'timers with unreadable payloads were dead-lettered'),
  );
  await mover.start();
  return mover;
}
