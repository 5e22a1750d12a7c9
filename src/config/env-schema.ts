// The zod schema of the worker's environment (seed 001 names) and the typed WorkerConfig it produces.
import { z } from 'zod';
import {
  BOOLEAN_EXPECTED,
  booleanVar,
  choiceVar,
  durationVar,
  integerVar,
  hostListVar,
  nameListVar,
  timeZoneVar,
  optionalPatternVar,
  optionalTextVar,
  parseBooleanFlag,
  processorsVar,
  sentinelsVar,
  textVar,
  urlVar,
} from './env-variables.js';
import type { SentinelAddress } from './env-variables.js';

/** Redis refuses bulk strings over 512 MiB (proto-max-bulk-len), so no event can be bigger. */
const MAX_EVENT_BYTES = 512 * 1024 * 1024;
/** The same rule as the key builder's: these names end up inside Redis keys. */
const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const DLQ_SUFFIX = /^[A-Za-z0-9_.-]{1,16}$/;
/** Basic auth splits user from password at the first colon, so a user name has none. */
const ADMIN_USER = /^[A-Za-z0-9_.@-]{1,64}$/;
const ADMIN_PASSWORD = /^[^\s]{12,256}$/;
/** RFC 6750 token68 characters; long enough to be a generated secret (e.g. `openssl rand -hex 32`). */
const ADMIN_TOKEN = /^[A-Za-z0-9._~+/=-]{24,512}$/;

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The internal services the sinks can call, each reached through its own SVC_*_URL variable. */
export const SERVICE_URL_VARIABLES = {
  payhub: 'SVC_PAYHUB_URL',
  playhub: 'SVC_PLAYHUB_URL',
  campaigns: 'SVC_CAMPAIGNS_URL',
  escrow: 'SVC_ESCROW_URL',
  discovery: 'SVC_DISCOVERY_URL',
  price: 'SVC_PRICE_URL',
  funding: 'SVC_FUNDING_URL',
  watchlist: 'SVC_WATCHLIST_URL',
  events: 'SVC_EVENTS_URL',
  deposits: 'SVC_DEPOSITS_URL',
  exchange: 'SVC_EXCHANGE_URL',
  commerce: 'SVC_COMMERCE_URL',
} as const;
export type ServiceName = keyof typeof SERVICE_URL_VARIABLES;

/** Prefix of the per-job feature toggles (`ENABLE_CFB_SETTLE=true`). */
export const ENABLE_FLAG_PREFIX = 'ENABLE_';
/** Prefix of the cron schedules (`CRON_RECON_ORPHAN_HOLDS=*\/10 * * * *`), parsed by the scheduler. */
export const CRON_PREFIX = 'CRON_';

/** The roles of the admin HTTP API: `readonly` may read everything, only `admin` may change anything. */
export const ADMIN_ROLES = ['admin', 'readonly'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** Credentials of one admin role: basic (user + password) and/or a bearer token; none = the role is not granted. */
export interface AdminRoleCredentials {
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly token: string | undefined;
}

/** Seed 003's alerting thresholds for `/health/queues`: a queue is `warning` above the first, `critical` above the second. */
export interface QueueHealthThresholds {
  /** Entries not yet delivered to the job (waiting). */
  readonly waitingWarning: number;
  readonly waitingCritical: number;
  /** Dead letters of the job's domain (failed). */
  readonly failedWarning: number;
  readonly failedCritical: number;
  /** Age of the oldest waiting or pending entry (job age), ms. */
  readonly ageWarningMs: number;
  readonly ageCriticalMs: number;
}

/** The validated environment, grouped by the component that reads it. */
export interface WorkerConfig {
  readonly service: { readonly id: string; readonly name: string; readonly nodeEnv: NodeEnv };
  readonly log: { readonly level: LogLevel };
  /** Admin HTTP: health, readiness, metrics, JSON API, dashboard. */
  readonly admin: {
    readonly port: number;
    /** No credentials for any role = the JSON API and dashboard are off (health, readiness and metrics stay). */
    readonly roles: Readonly<Record<AdminRole, AdminRoleCredentials>>;
    readonly health: QueueHealthThresholds;
    /** Entries kept in the admin audit stream (exact MAXLEN). */
    readonly auditMaxLen: number;
  };
  readonly redis: {
    readonly url: string;
    readonly sentinels: readonly SentinelAddress[] | undefined;
    readonly sentinelName: string | undefined;
    /** Start even without AOF + noeviction (warns loudly instead of refusing). */
    readonly allowUnsafe: boolean;
  };
  /** Base URLs of the internal services; a missing one means jobs needing it cannot run. */
  readonly services: Readonly<Partial<Record<ServiceName, string>>>;
  readonly serviceJwt: {
    readonly privateJwk: string | undefined;
    readonly issuer: string;
    /** Lifetime of a signed service JWT (at most 300 s). */
    readonly ttlSeconds: number;
  };
  /** Outbound calls to the internal services. */
  /** Calls to external providers (feeds, price APIs, webhooks) through the SSRF guard. */
  readonly external: {
    /** Exact host names or `*.suffix` patterns; empty = any public host. */
    readonly allowHosts: readonly string[];
    readonly allowHttp: boolean;
    /** Named hosts allowed to resolve to loopback (tests, the demo's mock providers); logged at start-up. */
    readonly allowLoopbackHosts: readonly string[];
    readonly maxBytes: number;
    readonly timeoutMs: number;
    readonly connectTimeoutMs: number;
    readonly maxRedirects: number;
  };
  /** The cron scheduler (schedules themselves are CRON_* variables). */
  readonly scheduler: {
    /** IANA zone of schedules without a TZ= prefix. */
    readonly timeZone: string;
    readonly lookaheadMs: number;
    readonly missedGraceMs: number;
    readonly pollMs: number;
    /** Overlap lock of `skip` schedules; above HANDLER_TIMEOUT_MS. */
    readonly lockTtlMs: number;
  };
  readonly sinks: {
    readonly connectTimeoutMs: number;
    /** Applies to the response headers and, separately, to each gap while reading the body. */
    readonly requestTimeoutMs: number;
    /** Responses bigger than this are cut off while reading. */
    readonly responseMaxBytes: number;
    /** Optional mTLS: PEM file paths; cert and key come together, the CA alone pins the servers' CA. */
    readonly mtls: {
      readonly certFile: string | undefined;
      readonly keyFile: string | undefined;
      readonly caFile: string | undefined;
    };
  };
  readonly jobs: {
    /** PROCESSORS: job names and domain aliases to run; undefined = every enabled job. */
    readonly processors: readonly string[] | undefined;
    /** Every ENABLE_* variable present, keyed by its full name. */
    readonly enableFlags: Readonly<Record<string, boolean>>;
    /** Every CRON_* variable present, keyed by its full name, unparsed. */
    readonly cronSchedules: Readonly<Record<string, string>>;
    readonly auditEnabled: boolean;
  };
  readonly queue: {
    readonly prefix: string;
    readonly dlqSuffix: string;
    readonly partitionsDefault: number;
    readonly eventMaxBytes: number;
    readonly dedupeWindowMs: number;
  };
  /** The retention trimmer (DESIGN.md §4): stream and DLQ limits. */
  readonly retention: {
    /** 0 = the trimmer does not run in this process. */
    readonly trimIntervalMs: number;
    readonly minRetentionMs: number;
    readonly hardCap: number;
    /** Domains whose streams may drop unacked entries over the hard cap (explicit policy). */
    readonly dropUnackedDomains: readonly string[];
    readonly dlqMaxLen: number;
    readonly dlqMaxAgeMs: number;
  };
  readonly retry: {
    readonly maxAttempts: number;
    readonly backoffMs: number;
    readonly backoffMaxMs: number;
    /** Crash-loop guard on Redis' delivery count, above maxAttempts so crashes never dead-letter healthy work. */
    readonly maxDeliveries: number;
  };
  readonly consumer: {
    readonly claimFloorMs: number;
    readonly heartbeatIntervalMs: number;
    readonly handlerTimeoutMs: number;
    readonly shutdownGraceMs: number;
  };
}

function serviceUrlVar(service: string): z.ZodType<string | undefined, string | undefined> {
  return urlVar(`Base URL of the internal ${service} API (optional).`, ['http:', 'https:'], undefined);
}

/** The fixed variables, in the order their problems are reported. */
const fixedVariables = {
  SERVICE_ID: textVar('Identity of this service in logs, JWTs and event `source`.', {
    fallback: 'workers',
    pattern: KEY_NAME,
    expected: '1-64 letters, digits, "_", "." or "-"',
  }),
  SERVICE_NAME: textVar('Human-readable service name.', { fallback: 'tg-miniapp-workers' }),
  PORT: integerVar('Admin HTTP port: health, readiness, metrics, dashboard (0 = any free port).', {
    fallback: 8099,
    min: 0,
    max: 65535,
  }),
  NODE_ENV: choiceVar('Runtime environment.', NODE_ENVS, 'development'),
  LOG_LEVEL: choiceVar('pino log level.', LOG_LEVELS, 'info'),
  REDIS_URL: urlVar(
    'Redis connection URL (standalone, or auth/db/TLS with sentinels).',
    ['redis:', 'rediss:'],
    'redis://localhost:6379',
  ),
  REDIS_SENTINELS: sentinelsVar('Redis Sentinel addresses; when set, REDIS_SENTINEL_NAME names the master.'),
  REDIS_SENTINEL_NAME: optionalTextVar(
    'Master name monitored by the sentinels; required with REDIS_SENTINELS.',
    'the sentinel master name, e.g. mymaster',
  ),
  SVC_PAYHUB_URL: serviceUrlVar('Payhub'),
  SVC_PLAYHUB_URL: serviceUrlVar('PlayHub'),
  SVC_CAMPAIGNS_URL: serviceUrlVar('Campaigns'),
  SVC_ESCROW_URL: serviceUrlVar('Escrow'),
  SVC_DISCOVERY_URL: serviceUrlVar('Discovery'),
  SVC_PRICE_URL: serviceUrlVar('Price'),
  SVC_FUNDING_URL: serviceUrlVar('Funding'),
  SVC_WATCHLIST_URL: serviceUrlVar('Watchlist'),
  SVC_EVENTS_URL: serviceUrlVar('Events'),
  SVC_COMMERCE_URL: serviceUrlVar('Commerce (fx, translations, products, sitemaps, domains; seed 003)'),
  SVC_DEPOSITS_URL: serviceUrlVar('Deposits (M-Pesa and on-chain deposits, seed 004)'),
  SVC_EXCHANGE_URL: serviceUrlVar('Exchange (market data, matching engine, balances, deposits; seed 002)'),
  SERVICE_JWT_PRIVATE_JWK: optionalTextVar(
    'Ed25519 private JWK (JSON) that signs service JWTs; keep it in a secret manager.',
    'a private JWK as JSON, optional',
  ),
  SERVICE_JWT_ISSUER: textVar('`iss` claim of service JWTs.', { fallback: 'workers' }),
  SERVICE_JWT_TTL_SECONDS: integerVar(
    'Lifetime of a service JWT (s); tokens are reused until shortly before.',
    {
      fallback: 300,
      min: 30,
      max: 300,
    },
  ),
  SVC_CONNECT_TIMEOUT_MS: durationVar('Time to open a connection to an internal service (ms).', 5000),
  SVC_REQUEST_TIMEOUT_MS: durationVar(
    'Time an internal service may take to send its response headers, and between body chunks (ms).',
    10_000,
  ),
  SVC_RESPONSE_MAX_BYTES: integerVar('Largest response body read from an internal service (bytes).', {
    fallback: 1_048_576,
    min: 1024,
    max: 67_108_864,
  }),
  SVC_MTLS_CERT_FILE: optionalTextVar(
    'PEM client certificate for mTLS to the internal services; needs SVC_MTLS_KEY_FILE.',
    'a path to a PEM certificate, optional',
  ),
  SVC_MTLS_KEY_FILE: optionalTextVar(
    'PEM private key of the mTLS client certificate; needs SVC_MTLS_CERT_FILE.',
    'a path to a PEM private key, optional',
  ),
  SVC_MTLS_CA_FILE: optionalTextVar(
    'PEM CA bundle the internal services’ certificates must chain to (optional; default: system CAs).',
    'a path to a PEM CA bundle, optional',
  ),
  EXTERNAL_ALLOW_HOSTS: hostListVar(
    'External hosts jobs may fetch from: names or *.suffix patterns; unset = any public host.',
  ),
  EXTERNAL_ALLOW_HTTP: booleanVar(
    'Allow plain http:// to external providers (https only by default).',
    false,
  ),
  EXTERNAL_ALLOW_LOOPBACK_HOSTS: hostListVar(
    'Named hosts allowed to resolve to loopback (tests, demo mock providers); logged at start-up.',
  ),
  EXTERNAL_MAX_BYTES: integerVar('Largest external response body read (bytes).', {
    fallback: 1_048_576,
    min: 1024,
  }),
  EXTERNAL_TIMEOUT_MS: durationVar('Whole external request, redirects and body included (ms).', 10_000),
  EXTERNAL_CONNECT_TIMEOUT_MS: durationVar('External connect timeout (ms).', 5000),
  EXTERNAL_MAX_REDIRECTS: integerVar('Redirects followed (each re-checked).', {
    fallback: 3,
    min: 0,
    max: 20,
  }),
  SCHEDULER_TIME_ZONE: timeZoneVar('IANA time zone of CRON_* schedules without a TZ= prefix.', 'UTC'),
  SCHEDULER_LOOKAHEAD_MS: durationVar('How far ahead cron ticks are put on the timer wheel (ms).', 10_000),
  SCHEDULER_MISSED_GRACE_MS: durationVar(
    'A cron tick later than this when first seen counts as missed (ms).',
    10_000,
  ),
  SCHEDULER_POLL_MS: durationVar('Longest sleep of the cron scheduler between passes (ms).', 1000),
  SCHEDULER_LOCK_TTL_MS: durationVar(
    'Overlap lock of a running cron job (refreshed while it runs); above HANDLER_TIMEOUT_MS.',
    120_000,
  ),
  PROCESSORS: processorsVar(
    'Jobs to run: job names and domain aliases (cfb.settle,escrow); unset = every enabled job.',
  ),
  QUEUE_PREFIX: textVar('Prefix of every Redis key.', {
    fallback: 'tg',
    pattern: KEY_NAME,
    expected: '1-64 letters, digits, "_", "." or "-"',
  }),
  MAX_ATTEMPTS_DEFAULT: integerVar('Failures before an entry is dead-lettered.', { fallback: 10, min: 1 }),
  BACKOFF_DEFAULT_MS: durationVar('Base of the exponential retry backoff (ms).', 2000),
  BACKOFF_MAX_MS: durationVar('Cap of the retry backoff (ms).', 300_000),
  MAX_DELIVERIES_DEFAULT: integerVar(
    'Crash-loop guard on Redis delivery count; above MAX_ATTEMPTS_DEFAULT.',
    {
      fallback: 50,
      min: 2,
    },
  ),
  DLQ_SUFFIX: textVar('Suffix of a partition stream key naming its dead-letter stream.', {
    fallback: '.dlq',
    pattern: DLQ_SUFFIX,
    expected: '1-16 letters, digits, "_", "." or "-"',
  }),
  DEDUPE_WINDOW_MS: durationVar(
    'How long acked and published event ids are remembered (ms).',
    3_600_000,
    1000,
  ),
  CLAIM_FLOOR_MS: durationVar('Idle time after which a dead consumer’s entries are reclaimed (ms).', 30_000),
  HEARTBEAT_INTERVAL_MS: durationVar('How often a consumer refreshes the entries it holds (ms).', 5000),
  SHUTDOWN_GRACE_MS: durationVar('Time in-flight handlers get to finish on SIGTERM (ms).', 25_000),
  HANDLER_TIMEOUT_MS: durationVar(
    'Time a handler attempt may take before it counts as a retry (ms).',
    60_000,
  ),
  EVENT_MAX_BYTES: integerVar('Largest encoded event accepted at publish (bytes).', {
    fallback: 65_536,
    min: 1024,
    max: MAX_EVENT_BYTES,
  }),
  PARTITIONS_DEFAULT: integerVar('Partitions of a domain created by this worker.', {
    fallback: 4,
    min: 1,
    max: 1024,
  }),
  ALLOW_UNSAFE_REDIS: booleanVar(
    'Start even when Redis has no AOF or evicts keys (warn instead of refusing).',
    false,
  ),
  JOB_AUDIT_ENABLED: booleanVar('Record every outbound job call in the audit stream.', false),
  TRIM_INTERVAL_MS: durationVar('How often the retention trimmer runs (ms); 0 turns it off.', 60_000, 0),
  STREAM_MIN_RETENTION_MS: durationVar(
    'Acked entries younger than this stay in the stream for replay (ms).',
    3_600_000,
    0,
  ),
  STREAM_HARD_CAP: integerVar('Entries per partition stream above which the trimmer raises its alarm.', {
    fallback: 1_000_000,
    min: 1,
  }),
  STREAM_DROP_UNACKED_DOMAINS: nameListVar(
    'Domains whose streams drop their oldest entries over the hard cap even when unacked (counted).',
  ),
  DLQ_MAX_LEN: integerVar('Dead letters kept per partition.', { fallback: 100_000, min: 1 }),
  DLQ_MAX_AGE_MS: durationVar('Dead letters older than this are trimmed (ms).', 1_209_600_000),
  ADMIN_USER: adminUserVar('Admin HTTP basic-auth user of the admin role (with ADMIN_PASSWORD).'),
  ADMIN_PASSWORD: adminPasswordVar(
    'Admin HTTP basic-auth password of the admin role; keep it in a secret manager.',
  ),
  ADMIN_TOKEN: adminTokenVar('Admin HTTP bearer token of the admin role; keep it in a secret manager.'),
  ADMIN_READONLY_USER: adminUserVar(
    'Admin HTTP basic-auth user of the read-only role (with ADMIN_READONLY_PASSWORD).',
  ),
  ADMIN_READONLY_PASSWORD: adminPasswordVar('Admin HTTP basic-auth password of the read-only role.'),
  ADMIN_READONLY_TOKEN: adminTokenVar('Admin HTTP bearer token of the read-only role.'),
  HEALTH_QUEUE_WARNING: integerVar('/health/queues: waiting entries of a job above which it is at warning.', {
    fallback: 1000,
    min: 0,
  }),
  HEALTH_QUEUE_CRITICAL: integerVar('/health/queues: waiting entries of a job above which it is critical.', {
    fallback: 5000,
    min: 0,
  }),
  HEALTH_FAILED_WARNING: integerVar(
    '/health/queues: dead letters of a job’s domain above which it is at warning.',
    {
      fallback: 50,
      min: 0,
    },
  ),
  HEALTH_FAILED_CRITICAL: integerVar(
    '/health/queues: dead letters of a job’s domain above which it is critical.',
    {
      fallback: 200,
      min: 0,
    },
  ),
  HEALTH_AGE_WARNING_MS: durationVar(
    '/health/queues: age of a job’s oldest waiting or pending entry above which it is at warning (ms).',
    3_600_000,
  ),
  HEALTH_AGE_CRITICAL_MS: durationVar(
    '/health/queues: age of a job’s oldest waiting or pending entry above which it is critical (ms).',
    21_600_000,
  ),
  AUDIT_MAX_LEN: integerVar('Entries kept in the admin audit stream (who changed what).', {
    fallback: 100_000,
    min: 100,
  }),
};

function adminUserVar(description: string): z.ZodType<string | undefined, string | undefined> {
  return optionalPatternVar(description, ADMIN_USER, '1-64 letters, digits, "_", ".", "@" or "-", optional');
}

function adminPasswordVar(description: string): z.ZodType<string | undefined, string | undefined> {
  return optionalPatternVar(description, ADMIN_PASSWORD, '12-256 characters without spaces, optional');
}

function adminTokenVar(description: string): z.ZodType<string | undefined, string | undefined> {
  return optionalPatternVar(
    description,
    ADMIN_TOKEN,
    '24-512 characters of letters, digits and -._~+/= (e.g. openssl rand -hex 32), optional',
  );
}

type FixedEnv = z.output<z.ZodObject<typeof fixedVariables>>;
type VariableName = keyof typeof fixedVariables;

/** Runs a cross-variable check only when the variables it compares parsed, so it never reads garbage. */
function whenValid(...names: VariableName[]) {
  return {
    when: (payload: z.core.ParsePayload): boolean =>
      !payload.issues.some((issue) => names.some((name) => issue.path?.[0] === name)),
  };
}

function prefixed(env: Record<string, unknown>, prefix: string): [string, string][] {
  return Object.entries(env).filter(
    (entry): entry is [string, string] => entry[0].startsWith(prefix) && typeof entry[1] === 'string',
  );
}

function toWorkerConfig(env: FixedEnv & Record<string, unknown>): WorkerConfig {
  const services: Partial<Record<ServiceName, string>> = {};
  for (const [service, name] of Object.entries(SERVICE_URL_VARIABLES) as [ServiceName, VariableName][]) {
    const url = env[name];
    if (typeof url === 'string') services[service] = url;
  }
  return {
    service: { id: env.SERVICE_ID, name: env.SERVICE_NAME, nodeEnv: env.NODE_ENV },
    log: { level: env.LOG_LEVEL },
    admin: {
      port: env.PORT,
      roles: {
        admin: { user: env.ADMIN_USER, password: env.ADMIN_PASSWORD, token: env.ADMIN_TOKEN },
        readonly: {
          user: env.ADMIN_READONLY_USER,
          password: env.ADMIN_READONLY_PASSWORD,
          token: env.ADMIN_READONLY_TOKEN,
        },
      },
      health: {
        waitingWarning: env.HEALTH_QUEUE_WARNING,
        waitingCritical: env.HEALTH_QUEUE_CRITICAL,
        failedWarning: env.HEALTH_FAILED_WARNING,
        failedCritical: env.HEALTH_FAILED_CRITICAL,
        ageWarningMs: env.HEALTH_AGE_WARNING_MS,
        ageCriticalMs: env.HEALTH_AGE_CRITICAL_MS,
      },
      auditMaxLen: env.AUDIT_MAX_LEN,
    },
    redis: {
      url: env.REDIS_URL,
      sentinels: env.REDIS_SENTINELS,
      sentinelName: env.REDIS_SENTINEL_NAME,
      allowUnsafe: env.ALLOW_UNSAFE_REDIS,
    },
    services,
    serviceJwt: {
      privateJwk: env.SERVICE_JWT_PRIVATE_JWK,
      issuer: env.SERVICE_JWT_ISSUER,
      ttlSeconds: env.SERVICE_JWT_TTL_SECONDS,
    },
    external: {
      allowHosts: env.EXTERNAL_ALLOW_HOSTS,
      allowHttp: env.EXTERNAL_ALLOW_HTTP,
      allowLoopbackHosts: env.EXTERNAL_ALLOW_LOOPBACK_HOSTS,
      maxBytes: env.EXTERNAL_MAX_BYTES,
      timeoutMs: env.EXTERNAL_TIMEOUT_MS,
      connectTimeoutMs: env.EXTERNAL_CONNECT_TIMEOUT_MS,
      maxRedirects: env.EXTERNAL_MAX_REDIRECTS,
    },
    scheduler: {
      timeZone: env.SCHEDULER_TIME_ZONE,
      lookaheadMs: env.SCHEDULER_LOOKAHEAD_MS,
      missedGraceMs: env.SCHEDULER_MISSED_GRACE_MS,
      pollMs: env.SCHEDULER_POLL_MS,
      lockTtlMs: env.SCHEDULER_LOCK_TTL_MS,
    },
    sinks: {
      connectTimeoutMs: env.SVC_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: env.SVC_REQUEST_TIMEOUT_MS,
      responseMaxBytes: env.SVC_RESPONSE_MAX_BYTES,
      mtls: {
        certFile: env.SVC_MTLS_CERT_FILE,
        keyFile: env.SVC_MTLS_KEY_FILE,
        caFile: env.SVC_MTLS_CA_FILE,
      },
    },
    jobs: {
      processors: env.PROCESSORS,
      enableFlags: Object.fromEntries(
        prefixed(env, ENABLE_FLAG_PREFIX).map(([name, raw]) => [name, parseBooleanFlag(raw) ?? false]),
      ),
      cronSchedules: Object.fromEntries(prefixed(env, CRON_PREFIX)),
      auditEnabled: env.JOB_AUDIT_ENABLED,
    },
    queue: {
      prefix: env.QUEUE_PREFIX,
      dlqSuffix: env.DLQ_SUFFIX,
      partitionsDefault: env.PARTITIONS_DEFAULT,
      eventMaxBytes: env.EVENT_MAX_BYTES,
      dedupeWindowMs: env.DEDUPE_WINDOW_MS,
    },
    retention: {
      trimIntervalMs: env.TRIM_INTERVAL_MS,
      minRetentionMs: env.STREAM_MIN_RETENTION_MS,
      hardCap: env.STREAM_HARD_CAP,
      dropUnackedDomains: env.STREAM_DROP_UNACKED_DOMAINS,
      dlqMaxLen: env.DLQ_MAX_LEN,
      dlqMaxAgeMs: env.DLQ_MAX_AGE_MS,
    },
    retry: {
      maxAttempts: env.MAX_ATTEMPTS_DEFAULT,
      backoffMs: env.BACKOFF_DEFAULT_MS,
      backoffMaxMs: env.BACKOFF_MAX_MS,
      maxDeliveries: env.MAX_DELIVERIES_DEFAULT,
    },
    consumer: {
      claimFloorMs: env.CLAIM_FLOOR_MS,
      heartbeatIntervalMs: env.HEARTBEAT_INTERVAL_MS,
      handlerTimeoutMs: env.HANDLER_TIMEOUT_MS,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    },
  };
}

/**
 * The whole environment -> WorkerConfig. Unknown variables pass through untouched (the process
 * environment holds PATH and friends); every ENABLE_* must be a boolean, every CRON_* is kept raw.
 * Each issue's path[0] is the variable it is about.
 */
export const workerEnvSchema = z
  .looseObject(fixedVariables)
  // Always runs (even after field issues) so one start-up lists every bad toggle at once.
  .superRefine(
    (env, ctx) => {
      for (const [name, raw] of prefixed(env, ENABLE_FLAG_PREFIX)) {
        if (parseBooleanFlag(raw) === undefined) {
          const wrong = raw === '' ? 'is empty' : 'is not a boolean';
          ctx.addIssue({ code: 'custom', path: [name], message: `${wrong} (expected ${BOOLEAN_EXPECTED})` });
        }
      }
    },
    { when: () => true },
  )
  .superRefine(
    (env, ctx) => {
      if (env.REDIS_SENTINELS !== undefined && env.REDIS_SENTINEL_NAME === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['REDIS_SENTINEL_NAME'],
          message:
            'is required when REDIS_SENTINELS is set (expected the sentinel master name, e.g. mymaster)',
        });
      }
      if (env.REDIS_SENTINELS === undefined && env.REDIS_SENTINEL_NAME !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['REDIS_SENTINEL_NAME'],
          message: 'is set but REDIS_SENTINELS is not (expected both, or neither to use REDIS_URL alone)',
        });
      }
    },
    whenValid('REDIS_SENTINELS', 'REDIS_SENTINEL_NAME'),
  )
  .superRefine(
    (env, ctx) => {
      if (env.MAX_DELIVERIES_DEFAULT <= env.MAX_ATTEMPTS_DEFAULT) {
        ctx.addIssue({
          code: 'custom',
          path: ['MAX_DELIVERIES_DEFAULT'],
          message:
            `must be greater than MAX_ATTEMPTS_DEFAULT=${env.MAX_ATTEMPTS_DEFAULT} ` +
            `(expected > ${env.MAX_ATTEMPTS_DEFAULT}: crashes also raise the delivery count)`,
        });
      }
    },
    whenValid('MAX_DELIVERIES_DEFAULT', 'MAX_ATTEMPTS_DEFAULT'),
  )
  .superRefine(
    (env, ctx) => {
      if (env.BACKOFF_MAX_MS < env.BACKOFF_DEFAULT_MS) {
        ctx.addIssue({
          code: 'custom',
          path: ['BACKOFF_MAX_MS'],
          message: `is below BACKOFF_DEFAULT_MS=${env.BACKOFF_DEFAULT_MS} (expected >= ${env.BACKOFF_DEFAULT_MS})`,
        });
      }
    },
    whenValid('BACKOFF_MAX_MS', 'BACKOFF_DEFAULT_MS'),
  )
  .superRefine(
    (env, ctx) => {
      // Several heartbeats must fit in the claim floor, or a slow but live consumer loses its entries.
      if (env.HEARTBEAT_INTERVAL_MS * 3 > env.CLAIM_FLOOR_MS) {
        const most = Math.floor(env.CLAIM_FLOOR_MS / 3);
        ctx.addIssue({
          code: 'custom',
          path: ['HEARTBEAT_INTERVAL_MS'],
          message:
            `is more than a third of CLAIM_FLOOR_MS=${env.CLAIM_FLOOR_MS} ` +
            `(expected at most ${most}, or raise CLAIM_FLOOR_MS)`,
        });
      }
    },
    whenValid('HEARTBEAT_INTERVAL_MS', 'CLAIM_FLOOR_MS'),
  )
  .superRefine(
    (env, ctx) => {
      // a certificate without its key (or the reverse) cannot authenticate: refuse rather than call without mTLS
      const [present, missing] =
        env.SVC_MTLS_CERT_FILE === undefined
          ? ['SVC_MTLS_KEY_FILE', 'SVC_MTLS_CERT_FILE']
          : ['SVC_MTLS_CERT_FILE', 'SVC_MTLS_KEY_FILE'];
      if ((env.SVC_MTLS_CERT_FILE === undefined) !== (env.SVC_MTLS_KEY_FILE === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [missing],
          message: `is required when ${present} is set (expected both mTLS files, or neither)`,
        });
      }
    },
    whenValid('SVC_MTLS_CERT_FILE', 'SVC_MTLS_KEY_FILE'),
  )
  .superRefine(
    (env, ctx) => {
      // a lock that expires while its run is still going lets the next tick start beside it
      if (env.SCHEDULER_LOCK_TTL_MS <= env.HANDLER_TIMEOUT_MS) {
        ctx.addIssue({
          code: 'custom',
          path: ['SCHEDULER_LOCK_TTL_MS'],
          message: `is not above HANDLER_TIMEOUT_MS=${env.HANDLER_TIMEOUT_MS} (expected more than it)`,
        });
      }
    },
    whenValid('SCHEDULER_LOCK_TTL_MS', 'HANDLER_TIMEOUT_MS'),
  )
  .superRefine(
    (env, ctx) => {
      // a user without its password (or the reverse) cannot log in: refuse rather than run without the role
      for (const [user, password] of [
        ['ADMIN_USER', 'ADMIN_PASSWORD'],
        ['ADMIN_READONLY_USER', 'ADMIN_READONLY_PASSWORD'],
      ] as const) {
        const [present, missing] = env[user] === undefined ? [password, user] : [user, password];
        if ((env[user] === undefined) !== (env[password] === undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: [missing],
            message: `is required when ${present} is set (expected both, or neither)`,
          });
        }
      }
      // one credential for two roles would make the read-only role unreachable (or the admin one read-only)
      if (env.ADMIN_USER !== undefined && env.ADMIN_USER === env.ADMIN_READONLY_USER) {
        ctx.addIssue({
          code: 'custom',
          path: ['ADMIN_READONLY_USER'],
          message: 'is the same as ADMIN_USER (expected a different user for the read-only role)',
        });
      }
      if (env.ADMIN_TOKEN !== undefined && env.ADMIN_TOKEN === env.ADMIN_READONLY_TOKEN) {
        ctx.addIssue({
          code: 'custom',
          path: ['ADMIN_READONLY_TOKEN'],
          message: 'is the same as ADMIN_TOKEN (expected a different token for the read-only role)',
        });
      }
    },
    whenValid(
      'ADMIN_USER',
      'ADMIN_PASSWORD',
      'ADMIN_TOKEN',
      'ADMIN_READONLY_USER',
      'ADMIN_READONLY_PASSWORD',
      'ADMIN_READONLY_TOKEN',
    ),
  )
  .superRefine(
    (env, ctx) => {
      for (const [warning, critical] of [
        ['HEALTH_QUEUE_WARNING', 'HEALTH_QUEUE_CRITICAL'],
        ['HEALTH_FAILED_WARNING', 'HEALTH_FAILED_CRITICAL'],
        ['HEALTH_AGE_WARNING_MS', 'HEALTH_AGE_CRITICAL_MS'],
      ] as const) {
        if (env[critical] < env[warning]) {
          ctx.addIssue({
            code: 'custom',
            path: [critical],
            message: `is below ${warning}=${env[warning]} (expected >= ${env[warning]})`,
          });
        }
      }
    },
    whenValid(
      'HEALTH_QUEUE_WARNING',
      'HEALTH_QUEUE_CRITICAL',
      'HEALTH_FAILED_WARNING',
      'HEALTH_FAILED_CRITICAL',
      'HEALTH_AGE_WARNING_MS',
      'HEALTH_AGE_CRITICAL_MS',
    ),
  )
  .transform(toWorkerConfig);

/** Names and descriptions of the fixed variables, for docs and `workers config` output. */
export function describeVariables(): { name: string; description: string }[] {
  return Object.entries(fixedVariables).map(([name, schema]) => ({
    name,
    description: schema.description ?? '',
  }));
}
