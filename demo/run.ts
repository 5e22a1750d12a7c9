// `npm run demo`: a private Redis, the mock platform, every job of the catalog running in one worker with cron
// schedules shortened to seconds, and a scenario publishing a realistic mix; a live line per second on stderr.
// Ctrl-C (or `--duration N`) stops the scenario and the worker gracefully and prints the report: JSON on stdout,
// a table on stderr.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../src/config/index.js';
import { errorMessage } from '../src/errors.js';
import { createPublisher } from '../src/events/publisher.js';
import { createEventRegistry } from '../src/events/registry.js';
import { jobPacks } from '../src/jobs/catalog.js';
import { createLogger } from '../src/ops/logger.js';
import { createKeyBuilder } from '../src/streams/keys.js';
import type { Worker } from '../src/worker.js';
import { startDashboard } from './dashboard.js';
import { catalogJobs, startDemoWorker } from './demo-worker.js';
import type { DemoDashboard } from './dashboard.js';
import {
  DEMO_PARTITIONS,
  DEMO_PREFIX,
  demoWorkerEnv,
  freshCredentials,
  packSettingsEnv,
} from './demo-env.js';
import { startMockPlatform } from './mock-platform/mock-platform.js';
import type { MockPlatform } from './mock-platform/mock-platform.js';
import { seededRandom } from './mock-platform/seeded-random.js';
import { NoRedisError, startPrivateRedis } from './private-redis.js';
import type { PrivateRedis } from './private-redis.js';
import { buildReport, formatReport, liveLine, notRunByCause, readDlqEntries } from './report.js';
import type { DemoReport } from './report.js';
import { createPublishTally, retryingProducer } from './retrying-producer.js';
import { createRunCounters } from './run-counters.js';
import { startScenario } from './scenario.js';
import type { Scenario } from './scenario.js';
import { withTimerLateness } from './timer-lateness.js';

const USAGE =
  'usage: npm run demo -- [--duration <seconds>] [--rate <bets per second, default 20>] ' +
  '[--cron <interval of every schedule, default 5s>] [--seed <seed, default demo>]';
/** Scenario errors printed before they are only counted. */
const MAX_PRINTED_ERRORS = 5;
/** The whole shutdown (worker grace included) gets this long before the demo exits anyway. */
const SHUTDOWN_LIMIT_MS = 30_000;

const say = (line: string): boolean => process.stderr.write(`${line}\n`);

function parseOptions(): { durationS?: number; rate: number; cron: string; seed: string } {
  try {
    const { values } = parseArgs({
      options: {
        duration: { type: 'string' },
        rate: { type: 'string', default: '20' },
        cron: { type: 'string', default: '5s' },
        seed: { type: 'string', default: 'demo' },
      },
    });
    const durationS = values.duration === undefined ? undefined : Number(values.duration);
    const rate = Number(values.rate);
    if ((durationS !== undefined && !(durationS > 0)) || !(rate >= 0)) throw new Error('bad value');
    return { ...(durationS === undefined ? {} : { durationS }), rate, cron: values.cron, seed: values.seed };
  } catch {
    say(USAGE);
    process.exit(2);
  }
}

interface Running {
  readonly redisServer: PrivateRedis;
  readonly redis: Redis;
  readonly platform: MockPlatform;
  readonly worker: Worker;
  readonly dashboard: DemoDashboard | undefined;
  readonly scenario: Scenario;
  readonly ticker: NodeJS.Timeout;
  readonly report: () => Promise<DemoReport>;
}

async function start(options: ReturnType<typeof parseOptions>): Promise<Running> {
  const redisServer = await startPrivateRedis();
  const redis = new Redis(redisServer.url);
  const keys = createKeyBuilder({ prefix: DEMO_PREFIX });
  const registry = createEventRegistry();
  for (const pack of jobPacks) pack.register(registry);
  const publisher = createPublisher({ redis, keys, registry, partitions: () => DEMO_PARTITIONS });
  const tally = createPublishTally();
  const platform = await startMockPlatform({
    seed: options.seed,
    // one bet in ten meets a degraded price oracle: 202 first, settled on the next ask
    degradedShare: 0.1,
    playhub: { degradedAttempts: 1, degradedRetryAfterMs: 500 },
    latency: { minMs: 1, maxMs: 15 },
    maxRecordedRequests: 2_000,
    publisher: retryingProducer({
      publisher,
      tally,
      repeatShare: 0.05,
      random: seededRandom(options.seed, 'producer-retries'),
    }),
  });

  // the packs configured by environment (providers, sources, cleanup services) read process.env
  Object.assign(process.env, packSettingsEnv(platform));
  const credentials = freshCredentials();
  const env = demoWorkerEnv({
    redisUrl: redisServer.url,
    platform,
    packs: jobPacks,
    credentials,
    cronEvery: options.cron,
  });
  const logPath = join(mkdtempSync(join(tmpdir(), 'fuze-demo-')), 'worker.log');
  const logger = createLogger(
    loadConfig(env, { envFile: false }),
    pino.destination({ dest: logPath, sync: true }),
  );
  const counters = createRunCounters();
  const packs = withTimerLateness(jobPacks, (job, lateMs) => counters.recordLateness(job, lateMs));
  const { worker, config, notRun } = await startDemoWorker(env, {
    logger,
    packs,
    redis,
    signals: counters.signals,
  });
  counters.watch(worker.runners);
  const dashboard = await startDashboard(worker, config, credentials);

  const startedAt = Date.now();
  const endsAt = options.durationS === undefined ? undefined : startedAt + options.durationS * 1000;
  say(
    `fuze-workers demo: seed ${options.seed}, ${options.rate} bets/s, every schedule ${options.cron}, ` +
      (endsAt === undefined ? 'until Ctrl-C' : `for ${options.durationS} s (Ctrl-C stops earlier)`),
  );
  say(`  redis      ${redisServer.url}  ${redisServer.description}`);
  say(`  worker     ${worker.jobs.length} jobs: ${worker.jobs.join(', ')}`);
  for (const [cause, jobs] of notRunByCause(Object.fromEntries(notRun)))
    say(`  not run    ${jobs.length} job(s), ${cause} (no mock for it yet): ${jobs.join(', ')}`);
  say(
    `  services   ${Object.entries(platform.services)
      .map(([name, service]) => `${name} ${service.url}`)
      .join(', ')}`,
  );
  say(`  feeds      ${platform.feeds.url} (price providers, news feeds, object storage)`);
  say(
    dashboard === undefined
      ? `  dashboard  not built yet (issue 10); this run's credentials: ADMIN_USER=${credentials.user} ` +
          `ADMIN_PASSWORD=${credentials.password}`
      : `  dashboard  ${dashboard.url}  user ${dashboard.user}  password ${dashboard.password}`,
  );
  say(`  worker log ${logPath}`);

  let scenarioErrors = 0;
  const scenario = startScenario({
    platform,
    publisher,
    tally,
    redis,
    keys,
    partitions: DEMO_PARTITIONS,
    betsPerSecond: options.rate,
    seed: options.seed,
    ...(endsAt === undefined ? {} : { endsAt }),
    onError: (what, error) => {
      scenarioErrors += 1;
      if (scenarioErrors <= MAX_PRINTED_ERRORS) say(`scenario: ${what} failed: ${errorMessage(error)}`);
    },
  });
  const ticker = setInterval(
    () => say(liveLine({ elapsedMs: Date.now() - startedAt, counters, published: tally, platform })),
    1000,
  );
  const report = async (): Promise<DemoReport> =>
    buildReport({
      startedAt,
      now: Date.now(),
      redis: `${redisServer.url} (${redisServer.description})`,
      catalog: catalogJobs(jobPacks),
      jobs: worker.jobs,
      notRun,
      counters,
      published: tally,
      poisonEvents: scenario.poisonEvents,
      scenarioErrors,
      platform,
      dlqByDomain: await readDlqEntries(redis, keys),
    });
  return { redisServer, redis, platform, worker, dashboard, scenario, ticker, report };
}

/** Stops everything in order (scenario, worker, dashboard, platform, Redis), printing the report in between. */
async function finish(running: Running): Promise<void> {
  clearInterval(running.ticker);
  say('stopping: scenario, then the worker (in-flight work finishes), then the platform and Redis');
  // a step that fails is said and skipped: the report and the clean-up still happen
  const attempt = async (what: string, step: () => Promise<unknown>): Promise<void> => {
    await step().catch((error: unknown) => say(`${what} failed: ${errorMessage(error)}`));
  };
  await attempt('scenario stop', () => running.scenario.stop());
  await attempt('worker stop', () => running.worker.stop());
  const report = await running.report();
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  say(`\n${formatReport(report)}`);
  await attempt('dashboard stop', async () => running.dashboard?.close());
  await attempt('platform stop', () => running.platform.close());
  running.redis.disconnect();
  await running.redisServer.shutdown();
}

async function main(): Promise<void> {
  const options = parseOptions();
  let running: Running;
  try {
    running = await start(options);
  } catch (error) {
    say(error instanceof NoRedisError ? error.message : `demo failed to start: ${errorMessage(error)}`);
    process.exit(1);
  }
  let finishing = false;
  const stop = (why: string): void => {
    if (finishing) {
      say(`${why} again: exiting without waiting`);
      process.exit(1);
    }
    finishing = true;
    setTimeout(() => {
      say(`shutdown took longer than ${SHUTDOWN_LIMIT_MS / 1000} s, exiting`);
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    finish(running).then(
      () => process.exit(0),
      (error: unknown) => {
        say(`shutdown failed: ${errorMessage(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('Ctrl-C'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (options.durationS !== undefined) setTimeout(() => stop('time is up'), options.durationS * 1000);
}

await main();
