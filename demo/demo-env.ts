// The demo worker's environment: every job of the catalog switched on by its ENABLE_* flag, every cron schedule
// shortened to seconds, the mock platform's URLs and signing key, price providers and news sources on the mock feed
// server, and fresh dashboard credentials.
import { randomBytes } from 'node:crypto';
import type { JobPack } from '../src/jobs/catalog.js';
import { cronVariableOf } from '../src/scheduler/cron-schedules.js';
import type { MockPlatform } from './mock-platform/mock-platform.js';

/** Dashboard login; the admin server is expected to read ADMIN_USER / ADMIN_PASSWORD (HTTP Basic). */
export interface DashboardCredentials {
  readonly user: string;
  readonly password: string;
}

export const DEMO_PREFIX = 'demo';
export const DEMO_PARTITIONS = 4;
/** The symbols the demo's providers and the CFB sampler cover (the mock market knows them). */
export const DEMO_SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'TON/USDT'] as const;
/** News sources on the mock feed server, one per feed format. */
export const DEMO_SOURCES = [
  { id: 'coin-wire', format: 'rss' },
  { id: 'ton-blog', format: 'atom' },
  { id: 'chain-daily', format: 'json' },
] as const;
/** The price provider whose answers fail now and then (scripted 503s on its route of the feed server). */
export const FLAKY_PROVIDER = { id: 'flaky-quotes', route: 'GET /prices/quotes', share: 0.4 } as const;
/** Services whose object storage the cleanup visits. */
export const CLEANUP_SERVICES = ['campaigns', 'events'] as const;

/** A new random password per run, printed once with the URLs. */
export function freshCredentials(): DashboardCredentials {
  return { user: 'demo', password: randomBytes(12).toString('base64url') };
}

/**
 * The variables the environment-configured packs read from process.env (src/jobs/pack-settings.ts): set them there
 * before the packs' jobs are read, or the per-provider and per-source schedules are missing.
 */
export function packSettingsEnv(platform: Pick<MockPlatform, 'feeds'>): Record<string, string> {
  const { feeds } = platform;
  return {
    PRICE_PROVIDERS: JSON.stringify([
      { id: 'mockx', format: 'ticks', url: feeds.providerUrl('ticks'), symbols: DEMO_SYMBOLS },
      { id: FLAKY_PROVIDER.id, format: 'quotes', url: feeds.providerUrl('quotes'), symbols: DEMO_SYMBOLS },
    ]),
    CFB_PRICE_SAMPLE_SYMBOLS: DEMO_SYMBOLS.join(','),
    WATCHLIST_SOURCES: JSON.stringify(
      DEMO_SOURCES.map((source) => ({ id: source.id, url: feeds.feedUrl(source.id, source.format) })),
    ),
    STORAGE_CLEANUP_SERVICES: CLEANUP_SERVICES.join(','),
    STORAGE_CLEANUP_DELETES_PER_SECOND: '50',
    // holds older than 10 minutes with no correlation are orphans; the scenario creates some 2 hours old
    PAYHUB_ORPHAN_HOLD_TTL_MS: '600000',
    CAMPAIGNS_PROOF_RECHECK_JITTER_MS: '200',
    EXPORT_RECHECK_MS: '500',
  };
}

/** ENABLE_*=true for every job's flag, and every schedule of an enabled job every `every` (e.g. `5s`). */
export function enableEverything(packs: readonly JobPack[], every: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pack of packs) {
    for (const job of pack.jobs) {
      if (job.catalog.enableFlag !== undefined) env[job.catalog.enableFlag] = 'true';
      for (const schedule of job.schedules ?? [])
        env[schedule.variable ?? cronVariableOf(schedule.name)] = every;
    }
  }
  return env;
}

export interface DemoEnvInput {
  readonly redisUrl: string;
  readonly platform: Pick<MockPlatform, 'workerEnv' | 'feeds'>;
  readonly packs: readonly JobPack[];
  readonly credentials: DashboardCredentials;
  /** Interval of every cron schedule; default `5s`. */
  readonly cronEvery?: string;
  /** Admin HTTP port (PORT); default the worker's. */
  readonly adminPort?: number;
}

/** The whole worker environment; `packs` must be read after packSettingsEnv() is in process.env. */
export function demoWorkerEnv(input: DemoEnvInput): Record<string, string> {
  return {
    SERVICE_ID: 'workers',
    SERVICE_NAME: 'fuze-workers-demo',
    LOG_LEVEL: 'info',
    REDIS_URL: input.redisUrl,
    QUEUE_PREFIX: DEMO_PREFIX,
    PARTITIONS_DEFAULT: String(DEMO_PARTITIONS),
    ...input.platform.workerEnv,
    ...packSettingsEnv(input.platform),
    // seconds instead of minutes, so a 20 s run shows retries, backoff, reclaim and cron ticks
    SCHEDULER_POLL_MS: '200',
    SCHEDULER_LOCK_TTL_MS: '20000',
    HANDLER_TIMEOUT_MS: '10000',
    BACKOFF_DEFAULT_MS: '200',
    BACKOFF_MAX_MS: '2000',
    CLAIM_FLOOR_MS: '3000',
    HEARTBEAT_INTERVAL_MS: '1000',
    SHUTDOWN_GRACE_MS: '5000',
    EXTERNAL_TIMEOUT_MS: '3000',
    ...(input.adminPort === undefined ? {} : { PORT: String(input.adminPort) }),
    ADMIN_USER: input.credentials.user,
    ADMIN_PASSWORD: input.credentials.password,
    ...enableEverything(input.packs, input.cronEvery ?? '5s'),
  };
}
