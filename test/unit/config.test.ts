// Tests of the environment schema and loader: defaults, one error listing every bad variable, secrets, .env files.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeVariables, loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

/** Loads with no .env file, so a developer's own .env never leaks into the tests. */
function load(env: Record<string, string | undefined>) {
  return loadConfig(env, { envFile: false });
}

/** The ConfigError thrown for `env`, failing the test when none is. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = load({});
    expect(config.service).toEqual({ id: 'workers', name: 'tg-miniapp-workers', nodeEnv: 'development' });
    expect(config.log.level).toBe('info');
    expect(config.admin.port).toBe(8099);
    // no credentials by default: the admin API and dashboard are off
    expect(config.admin).toEqual({
      port: 8099,
      roles: {
        admin: { user: undefined, password: undefined, token: undefined },
        readonly: { user: undefined, password: undefined, token: undefined },
      },
      health: {
        waitingWarning: 1000,
        waitingCritical: 5000,
        failedWarning: 50,
        failedCritical: 200,
        ageWarningMs: 3_600_000,
        ageCriticalMs: 21_600_000,
      },
      auditMaxLen: 100_000,
    });
    expect(config.redis).toEqual({
      url: 'redis://localhost:6379',
      sentinels: undefined,
      sentinelName: undefined,
      allowUnsafe: false,
    });
    expect(config.services).toEqual({});
    expect(config.serviceJwt).toEqual({ privateJwk: undefined, issuer: 'workers', ttlSeconds: 300 });
    expect(config.sinks).toEqual({
      connectTimeoutMs: 5000,
      requestTimeoutMs: 10_000,
      responseMaxBytes: 1_048_576,
      mtls: { certFile: undefined, keyFile: undefined, caFile: undefined },
    });
    expect(config.jobs).toEqual({
      processors: undefined,
      enableFlags: {},
      cronSchedules: {},
      auditEnabled: false,
    });
    expect(config.queue).toEqual({
      prefix: 'tg',
      dlqSuffix: '.dlq',
      partitionsDefault: 4,
      eventMaxBytes: 65_536,
      dedupeWindowMs: 3_600_000,
    });
    expect(config.retry).toEqual({
      maxAttempts: 10,
      backoffMs: 2000,
      backoffMaxMs: 300_000,
      maxDeliveries: 50,
    });
    expect(config.consumer).toEqual({
      claimFloorMs: 30_000,
      heartbeatIntervalMs: 5000,
      handlerTimeoutMs: 60_000,
      shutdownGraceMs: 25_000,
    });
  });

  it('parses the seed 001 environment into typed values', () => {
    const config = load({
      PORT: '9000',
      NODE_ENV: 'production',
      LOG_LEVEL: 'WARN',
      REDIS_URL: 'rediss://:pw@redis.internal:6380/2',
      REDIS_SENTINELS: 'sentinel-0:26379, [::1]:26380',
      REDIS_SENTINEL_NAME: 'mymaster',
      SVC_PLAYHUB_URL: 'http://svc-playhub:8082',
      SVC_FUNDING_URL: 'https://funding.internal',
      PROCESSORS: ' cfb.settle , escrow,cfb.settle',
      ENABLE_CFB_SETTLE: 'TRUE',
      ENABLE_PRICE_SAMPLER: 'no',
      ENABLE_ESCROW: '1',
      CRON_CFB_PRICE_SAMPLE: '*/1 * * * *',
      ALLOW_UNSAFE_REDIS: 'Yes',
      JOB_AUDIT_ENABLED: '0',
      MAX_ATTEMPTS_DEFAULT: '3',
      PATH: '/usr/bin',
    });
    expect(config.admin.port).toBe(9000);
    expect(config.service.nodeEnv).toBe('production');
    expect(config.log.level).toBe('warn');
    expect(config.redis).toEqual({
      url: 'rediss://:pw@redis.internal:6380/2',
      sentinels: [
        { host: 'sentinel-0', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      sentinelName: 'mymaster',
      allowUnsafe: true,
    });
    expect(config.services).toEqual({
      playhub: 'http://svc-playhub:8082',
      funding: 'https://funding.internal',
    });
    expect(config.jobs.processors).toEqual(['cfb.settle', 'escrow']);
    expect(config.jobs.enableFlags).toEqual({
      ENABLE_CFB_SETTLE: true,
      ENABLE_PRICE_SAMPLER: false,
      ENABLE_ESCROW: true,
    });
    expect(config.jobs.cronSchedules).toEqual({ CRON_CFB_PRICE_SAMPLE: '*/1 * * * *' });
    expect(config.jobs.auditEnabled).toBe(false);
    expect(config.retry.maxAttempts).toBe(3);
  });

  it('accepts .env.example as it ships and documents every variable in it', async () => {
    const example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    for (const { name, description } of describeVariables()) {
      expect(example, name).toMatch(new RegExp(`^(# )?${name}=`, 'm'));
      expect(description, name).not.toBe('');
    }
    const config = loadConfig({}, { envFile: new URL('../../.env.example', import.meta.url).pathname });
    expect(config.services.payhub).toBe('http://svc-payhub:8081');
    expect(config.queue.prefix).toBe('tg');
  });
});

describe('loadConfig errors', () => {
  it.each([
    ['PORT', '10abc', 'whole decimal number from 0 to 65535'],
    ['PORT', '1e3', 'whole decimal number'],
    ['PORT', '', 'is empty'],
    ['PORT', '-1', 'whole decimal number'],
    ['PORT', '70000', 'is out of range'],
    ['PORT', ' 8099', 'whole decimal number'],
    ['MAX_ATTEMPTS_DEFAULT', '0', '>= 1'],
    ['MAX_ATTEMPTS_DEFAULT', '99999999999999999999', 'is out of range'],
    ['BACKOFF_DEFAULT_MS', '2000.5', 'whole decimal number'],
    ['DEDUPE_WINDOW_MS', '999', 'from 1000'],
    ['PARTITIONS_DEFAULT', '1025', 'from 1 to 1024'],
    ['SHUTDOWN_GRACE_MS', '3000000000', 'is out of range'],
    ['NODE_ENV', 'staging', 'one of development, test, production'],
    ['LOG_LEVEL', 'verbose', 'one of fatal, error, warn, info, debug, trace, silent'],
    ['REDIS_URL', 'localhost:6379', 'redis:// or rediss:// URL'],
    ['REDIS_URL', 'http://localhost:6379', 'has the wrong scheme'],
    ['REDIS_SENTINELS', 'sentinel-0', 'comma-separated host:port list'],
    ['REDIS_SENTINELS', 'a:1,:2', 'bad address ":2"'],
    ['SVC_ESCROW_URL', 'svc-escrow:8092', 'http:// or https:// URL'],
    ['SVC_EVENTS_URL', 'ftp://svc-events', 'has the wrong scheme'],
    ['QUEUE_PREFIX', '{tg}', 'letters, digits'],
    ['QUEUE_PREFIX', 'a'.repeat(65), 'letters, digits'],
    ['DLQ_SUFFIX', ':dlq', 'letters, digits'],
    ['SERVICE_ID', 'my workers', 'letters, digits'],
    ['PROCESSORS', 'cfb.settle,,escrow', 'has an empty item'],
    ['PROCESSORS', 'cfb.settle,', 'has an empty item'],
    ['PROCESSORS', '', 'unset it to run every enabled job'],
    ['ENABLE_CFB_SETTLE', 'on', 'true, false, 1, 0, yes or no'],
    ['ENABLE_ESCROW', '', 'is empty'],
    ['ALLOW_UNSAFE_REDIS', 'sure', 'true, false, 1, 0, yes or no'],
    ['JOB_AUDIT_ENABLED', '2', 'true, false, 1, 0, yes or no'],
  ])('%s=%j is rejected naming the variable and what was expected', (name, value, expected) => {
    const error = configError({ [name]: value });
    expect(error.code).toBe('CONFIG');
    expect(error.variable).toBe(name);
    expect(error.message).toContain(`${name}: `);
    expect(error.message).toContain('(expected ');
    expect(error.message).toContain(expected);
  });

  it('echoes a bad non-secret value so the operator sees what was read', () => {
    expect(configError({ PORT: '80a' }).message).toContain('PORT: is not a whole decimal number');
    expect(configError({ PORT: '80a' }).message).toContain('got "80a"');
  });

  it('lists every problem at once in one ConfigError, the first bad variable in `variable`', () => {
    const error = configError({
      PORT: 'http',
      REDIS_URL: 'mysql://db',
      ENABLE_ESCROW: 'maybe',
      ENABLE_CFB_SETTLE: 'perhaps',
      MAX_ATTEMPTS_DEFAULT: '1e3',
      HEARTBEAT_INTERVAL_MS: '20000',
    });
    expect(error.variable).toBe('PORT');
    expect(error.message).toMatch(/^invalid configuration \(6 problems\):/);
    for (const name of [
      'PORT',
      'REDIS_URL',
      'ENABLE_ESCROW',
      'ENABLE_CFB_SETTLE',
      'MAX_ATTEMPTS_DEFAULT',
      'HEARTBEAT_INTERVAL_MS',
    ]) {
      expect(error.message).toMatch(new RegExp(`^  ${name}: .*\\(expected .*\\)`, 'm'));
    }
  });

  it('never echoes secrets or URL passwords', () => {
    const jwk = '{"kty":"OKP","crv":"Ed25519","d":"very-secret-d","x":"x"}';
    expect(load({ SERVICE_JWT_PRIVATE_JWK: jwk }).serviceJwt.privateJwk).toBe(jwk);
    const error = configError({
      SERVICE_JWT_PRIVATE_JWK: '',
      ENABLE_API_TOKEN: 'tok-123-secret',
      ENABLE_KEY_ROTATION: 'key-456-secret',
      REDIS_URL: 'mysql://admin:hunter2@db:3306',
      SVC_PAYHUB_URL: 'ftp://:hunter3@payhub',
    });
    expect(error.message).toContain('SERVICE_JWT_PRIVATE_JWK: is empty');
    expect(error.message).toContain('ENABLE_API_TOKEN: is not a boolean');
    expect(error.message).toContain('ENABLE_KEY_ROTATION: is not a boolean');
    expect(error.message).toContain('REDIS_URL: has the wrong scheme');
    expect(error.message).toContain('mysql://admin:***@db:3306');
    for (const secret of ['tok-123', 'key-456', 'hunter2', 'hunter3']) {
      expect(error.message).not.toContain(secret);
    }
  });

  it('reads the sink settings: timeouts, response cap, JWT lifetime and the mTLS files', () => {
    const config = load({
      SVC_CONNECT_TIMEOUT_MS: '750',
      SVC_REQUEST_TIMEOUT_MS: '2500',
      SVC_RESPONSE_MAX_BYTES: '4096',
      SERVICE_JWT_TTL_SECONDS: '120',
      SVC_MTLS_CERT_FILE: '/tls/tls.crt',
      SVC_MTLS_KEY_FILE: '/tls/tls.key',
      SVC_MTLS_CA_FILE: '/tls/ca.crt',
    });
    expect(config.serviceJwt.ttlSeconds).toBe(120);
    expect(config.sinks).toEqual({
      connectTimeoutMs: 750,
      requestTimeoutMs: 2500,
      responseMaxBytes: 4096,
      mtls: { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key', caFile: '/tls/ca.crt' },
    });
    expect(load({ SVC_MTLS_CA_FILE: '/tls/ca.crt' }).sinks.mtls.caFile).toBe('/tls/ca.crt');
  });

  it.each([
    ['SERVICE_JWT_TTL_SECONDS', '301', 'from 30 to 300'],
    ['SERVICE_JWT_TTL_SECONDS', '0', 'from 30 to 300'],
    ['SVC_RESPONSE_MAX_BYTES', '100', 'from 1024 to 67108864'],
    ['SVC_REQUEST_TIMEOUT_MS', '0', 'whole decimal number'],
    ['SVC_MTLS_CA_FILE', '', 'is empty'],
  ])('%s=%j is refused (%s)', (name, value, expected) => {
    const error = configError({ [name]: value });
    expect(error.variable).toBe(name);
    expect(error.message).toContain(expected);
  });

  it('requires the mTLS certificate and key together, naming the missing one', () => {
    expect(configError({ SVC_MTLS_CERT_FILE: '/tls/tls.crt' }).message).toMatch(
      /SVC_MTLS_KEY_FILE: is required when SVC_MTLS_CERT_FILE is set/,
    );
    expect(configError({ SVC_MTLS_KEY_FILE: '/tls/tls.key' }).message).toMatch(
      /SVC_MTLS_CERT_FILE: is required when SVC_MTLS_KEY_FILE is set/,
    );
  });

  it('reads the scheduler and external-fetch settings, refusing unknown zones and bad hosts', () => {
    const config = load({
      SCHEDULER_TIME_ZONE: 'Europe/Berlin',
      EXTERNAL_ALLOW_HOSTS: 'api.example.com, *.Binance.com',
      EXTERNAL_ALLOW_LOOPBACK_HOSTS: 'localhost',
    });
    expect(config.scheduler.timeZone).toBe('Europe/Berlin');
    expect(config.external.allowHosts).toEqual(['api.example.com', '*.binance.com']);
    expect(config.external.allowLoopbackHosts).toEqual(['localhost']);
    expect(config.external.allowHttp).toBe(false);
    expect(configError({ SCHEDULER_TIME_ZONE: 'Mars/Olympus' }).message).toMatch(
      /SCHEDULER_TIME_ZONE: is not a known time zone "Mars\/Olympus"/,
    );
    expect(configError({ EXTERNAL_ALLOW_HOSTS: 'ok.com,http://x' }).message).toMatch(
      /EXTERNAL_ALLOW_HOSTS: has a bad host "http:\/\/x"/,
    );
  });

  it('requires the cron overlap lock to outlive a handler attempt', () => {
    expect(configError({ SCHEDULER_LOCK_TTL_MS: '60000' }).message).toMatch(
      /SCHEDULER_LOCK_TTL_MS: is not above HANDLER_TIMEOUT_MS=60000/,
    );
  });

  it('requires HEARTBEAT_INTERVAL_MS to be at most a third of CLAIM_FLOOR_MS, naming both', () => {
    expect(load({ CLAIM_FLOOR_MS: '3000', HEARTBEAT_INTERVAL_MS: '1000' }).consumer.heartbeatIntervalMs).toBe(
      1000,
    );
    const error = configError({ CLAIM_FLOOR_MS: '3000', HEARTBEAT_INTERVAL_MS: '1001' });
    expect(error.variable).toBe('HEARTBEAT_INTERVAL_MS');
    expect(error.message).toContain('HEARTBEAT_INTERVAL_MS: is more than a third of CLAIM_FLOOR_MS=3000');
    expect(error.message).toContain('expected at most 1000');
    // The default heartbeat (5000) against a lowered floor fails too.
    expect(configError({ CLAIM_FLOOR_MS: '10000' }).variable).toBe('HEARTBEAT_INTERVAL_MS');
  });

  it('skips a cross-check whose inputs are themselves invalid instead of reporting nonsense', () => {
    const error = configError({ CLAIM_FLOOR_MS: 'soon', HEARTBEAT_INTERVAL_MS: '20000' });
    expect(error.message).toMatch(/\(1 problem\)/);
    expect(error.variable).toBe('CLAIM_FLOOR_MS');
  });

  it('checks the retry limits against each other', () => {
    const deliveries = configError({ MAX_ATTEMPTS_DEFAULT: '50' });
    expect(deliveries.variable).toBe('MAX_DELIVERIES_DEFAULT');
    expect(deliveries.message).toContain('must be greater than MAX_ATTEMPTS_DEFAULT=50');
    const backoff = configError({ BACKOFF_DEFAULT_MS: '5000', BACKOFF_MAX_MS: '4999' });
    expect(backoff.variable).toBe('BACKOFF_MAX_MS');
    expect(backoff.message).toContain('BACKOFF_DEFAULT_MS=5000');
  });

  it('requires REDIS_SENTINEL_NAME with REDIS_SENTINELS, and not without', () => {
    const missing = configError({ REDIS_SENTINELS: 'sentinel-0:26379' });
    expect(missing.variable).toBe('REDIS_SENTINEL_NAME');
    expect(missing.message).toContain('REDIS_SENTINEL_NAME: is required when REDIS_SENTINELS is set');
    const alone = configError({ REDIS_SENTINEL_NAME: 'mymaster' });
    expect(alone.variable).toBe('REDIS_SENTINEL_NAME');
    expect(alone.message).toContain('REDIS_SENTINELS is not');
  });
});

describe('loadConfig admin HTTP settings', () => {
  const TOKEN = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
  const OTHER_TOKEN = 'f'.repeat(40);

  it('reads the credentials of both roles, the health thresholds and the audit retention', () => {
    const config = load({
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'correct-horse-battery',
      ADMIN_TOKEN: TOKEN,
      ADMIN_READONLY_USER: 'viewer@example',
      ADMIN_READONLY_PASSWORD: 'viewer-pass-123',
      ADMIN_READONLY_TOKEN: OTHER_TOKEN,
      HEALTH_QUEUE_WARNING: '10',
      HEALTH_QUEUE_CRITICAL: '10',
      HEALTH_FAILED_WARNING: '0',
      HEALTH_FAILED_CRITICAL: '5',
      HEALTH_AGE_WARNING_MS: '60000',
      HEALTH_AGE_CRITICAL_MS: '120000',
      AUDIT_MAX_LEN: '500',
    });
    expect(config.admin.roles).toEqual({
      admin: { user: 'ops', password: 'correct-horse-battery', token: TOKEN },
      readonly: { user: 'viewer@example', password: 'viewer-pass-123', token: OTHER_TOKEN },
    });
    expect(config.admin.health).toEqual({
      waitingWarning: 10,
      waitingCritical: 10,
      failedWarning: 0,
      failedCritical: 5,
      ageWarningMs: 60_000,
      ageCriticalMs: 120_000,
    });
    expect(config.admin.auditMaxLen).toBe(500);
    // a token alone grants a role
    expect(load({ ADMIN_READONLY_TOKEN: TOKEN }).admin.roles.readonly.token).toBe(TOKEN);
  });

  it.each([
    [{ ADMIN_USER: 'ops' }, 'ADMIN_PASSWORD', 'is required when ADMIN_USER is set'],
    [{ ADMIN_PASSWORD: 'long-enough-pass' }, 'ADMIN_USER', 'is required when ADMIN_PASSWORD is set'],
    [{ ADMIN_READONLY_USER: 'viewer' }, 'ADMIN_READONLY_PASSWORD', 'is required when ADMIN_READONLY_USER'],
    [{ ADMIN_USER: 'o:ps', ADMIN_PASSWORD: 'long-enough-pass' }, 'ADMIN_USER', 'letters, digits'],
    [{ ADMIN_USER: 'ops', ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD', '12-256 characters'],
    [{ ADMIN_TOKEN: 'too-short-token' }, 'ADMIN_TOKEN', '24-512 characters'],
    [{ ADMIN_READONLY_TOKEN: `${'x'.repeat(30)} y` }, 'ADMIN_READONLY_TOKEN', '24-512 characters'],
    [
      {
        ADMIN_USER: 'ops',
        ADMIN_PASSWORD: 'long-enough-pass',
        ADMIN_READONLY_USER: 'ops',
        ADMIN_READONLY_PASSWORD: 'other-long-pass',
      },
      'ADMIN_READONLY_USER',
      'is the same as ADMIN_USER',
    ],
    [
      { ADMIN_TOKEN: TOKEN, ADMIN_READONLY_TOKEN: TOKEN },
      'ADMIN_READONLY_TOKEN',
      'is the same as ADMIN_TOKEN',
    ],
    [
      { HEALTH_QUEUE_WARNING: '100', HEALTH_QUEUE_CRITICAL: '99' },
      'HEALTH_QUEUE_CRITICAL',
      'HEALTH_QUEUE_WARNING=100',
    ],
    [{ HEALTH_FAILED_CRITICAL: '10' }, 'HEALTH_FAILED_CRITICAL', 'below HEALTH_FAILED_WARNING=50'],
    [{ HEALTH_AGE_CRITICAL_MS: '1000' }, 'HEALTH_AGE_CRITICAL_MS', 'below HEALTH_AGE_WARNING_MS=3600000'],
    [{ AUDIT_MAX_LEN: '99' }, 'AUDIT_MAX_LEN', '>= 100'],
  ])('refuses %j naming %s', (env, variable, expected) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(`${variable}: `);
    expect(error.message).toContain(expected);
  });

  it('never echoes admin passwords or tokens', () => {
    const error = configError({
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'hunter-pw',
      ADMIN_TOKEN: 'tok-secret-1',
      ADMIN_READONLY_TOKEN: 'tok secret 2 with spaces and enough length',
    });
    expect(error.message).toContain('ADMIN_PASSWORD: has characters or a length not allowed');
    expect(error.message).toContain('ADMIN_TOKEN: has characters or a length not allowed');
    for (const secret of ['hunter-pw', 'tok-secret-1', 'tok secret 2'])
      expect(error.message).not.toContain(secret);
    const same = configError({ ADMIN_TOKEN: TOKEN, ADMIN_READONLY_TOKEN: TOKEN });
    expect(same.message).not.toContain(TOKEN);
  });
});

describe('loadConfig .env file', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'workers-config-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file, real variables win, and process.env is left alone', async () => {
    const file = join(dir, 'override.env');
    await writeFile(
      file,
      [
        '# local overrides',
        'PORT=9100',
        'QUEUE_PREFIX=file',
        'ENABLE_ESCROW=false',
        'CRON_RECON_ORPHAN_HOLDS=*/10 * * * *   # every 10 minutes',
        'SERVICE_JWT_ISSUER="workers-dev"',
      ].join('\n'),
    );
    const before = { ...process.env };
    const config = loadConfig(
      { QUEUE_PREFIX: 'real', ENABLE_ESCROW: 'true', UNSET: undefined },
      { envFile: file },
    );
    expect(config.admin.port).toBe(9100);
    expect(config.queue.prefix).toBe('real');
    expect(config.jobs.enableFlags).toEqual({ ENABLE_ESCROW: true });
    expect(config.jobs.cronSchedules).toEqual({ CRON_RECON_ORPHAN_HOLDS: '*/10 * * * *' });
    expect(config.serviceJwt.issuer).toBe('workers-dev');
    expect(process.env).toEqual(before);
  });

  it('reports a bad value from the file like one from the environment', async () => {
    const file = join(dir, 'bad.env');
    await writeFile(file, 'MAX_ATTEMPTS_DEFAULT=ten\n');
    expect(() => loadConfig({}, { envFile: file })).toThrow(
      /MAX_ATTEMPTS_DEFAULT: is not a whole decimal number/,
    );
  });

  it('fails on a named file that does not exist', () => {
    expect(() => loadConfig({}, { envFile: join(dir, 'missing.env') })).toThrow(ConfigError);
  });

  it('reads ./.env from the working directory by default and skips it when absent', async () => {
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      expect(loadConfig({}).admin.port).toBe(8099);
      await writeFile(join(dir, '.env'), 'PORT=9200\n');
      expect(loadConfig({}).admin.port).toBe(9200);
      expect(loadConfig({}, { envFile: false }).admin.port).toBe(8099);
    } finally {
      process.chdir(cwd);
    }
  });
});
