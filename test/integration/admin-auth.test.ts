// Admin HTTP access control against a real worker and redis-server: every route but /healthz, /readyz and /metrics
// answers 401 without (or with wrong) credentials, the read-only role gets 403 on every mutation, CSRF is enforced
// for basic-auth mutations (token, cookie, origin), each mutation writes audit entries (who, what), the audit stream
// keeps AUDIT_MAX_LEN entries, the API is off without credentials, and /readyz follows Redis and the worker.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/index.js';
import type { WorkerConfig } from '../../src/config/index.js';
import { createAdminAuth } from '../../src/ops/admin/admin-auth.js';
import { startAdminServer, type AdminServer } from '../../src/ops/admin/admin-server.js';
import { createLogger } from '../../src/ops/logger.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { createFixturePack, FIXTURE_JOB } from '../support/worker-fixture-jobs.js';

const file = useRedisPerFile({ appendonly: true, maxmemoryPolicy: 'noeviction' });
const prefix = testPrefix(import.meta.url);
const keys = createKeyBuilder({ prefix });
const silent = pino({ level: 'silent' });

const ADMIN = { user: 'ops-admin', password: 'admin-password-123' };
const VIEWER = { user: 'ops-viewer', password: 'viewer-password-123' };
const ADMIN_TOKEN = randomBytes(24).toString('hex');
const VIEWER_TOKEN = randomBytes(24).toString('hex');
const AUDIT_MAX_LEN = 100;

let config: WorkerConfig;
let worker: Worker | undefined;
let admin: AdminServer;
const readiness = { workerStarted: false, shuttingDown: false };
let readyBeforeStart: { status: number; body: { checks: Record<string, string> } };
const extraServers: AdminServer[] = [];
const extraConnections: Redis[] = [];

const basic = (c: { user: string; password: string }) =>
  `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}`;
const bearer = (token: string) => `Bearer ${token}`;

async function call(
  method: string,
  path: string,
  options: { auth?: string; headers?: Record<string, string>; body?: unknown; server?: AdminServer } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers; text: string }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth !== undefined) headers['authorization'] = options.auth;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${(options.server ?? admin).url}${path}`, {
    method,
    headers,
    redirect: 'manual',
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (metrics, static files)
  }
  return { status: response.status, body, headers: response.headers, text };
}

/** A CSRF session for a basic-auth user: the token and the cookie header the browser would send back. */
async function csrfSession(c: {
  user: string;
  password: string;
}): Promise<{ token: string; cookie: string }> {
  const session = await call('GET', '/api/session', { auth: basic(c) });
  expect(session.status).toBe(200);
  const setCookie = session.headers.get('set-cookie') ?? '';
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  return { token: String(session.body['csrfToken']), cookie: setCookie.split(';')[0] ?? '' };
}

/** The route's path with sample values for its parameters. */
function concrete(path: string): string {
  return path.replace(':job', FIXTURE_JOB).replace(':name', FIXTURE_JOB);
}

async function auditEntries(): Promise<Record<string, string>[]> {
  const entries = (await file.redis.xrange(keys.audit, '-', '+')) as [string, string[]][];
  return entries.map(([, raw]) => {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) out[raw[i]!] = raw[i + 1]!;
    return out;
  });
}

beforeAll(async () => {
  config = loadConfig(
    {
      REDIS_URL: file.server.url,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      PARTITIONS_DEFAULT: '2',
      TRIM_INTERVAL_MS: '0',
      ADMIN_USER: ADMIN.user,
      ADMIN_PASSWORD: ADMIN.password,
      ADMIN_TOKEN,
      ADMIN_READONLY_USER: VIEWER.user,
      ADMIN_READONLY_PASSWORD: VIEWER.password,
      ADMIN_READONLY_TOKEN: VIEWER_TOKEN,
      AUDIT_MAX_LEN: String(AUDIT_MAX_LEN),
    },
    { envFile: false },
  );
  admin = await startAdminServer({
    config,
    redis: file.redis,
    keys,
    metrics: () => worker?.metrics,
    readiness: () => readiness,
    logger: silent,
    port: 0,
    host: '127.0.0.1',
    // the route matrix below sends ~80 wrong credentials from one address (the throttle is tested on its own)
    authMaxFailures: 10_000,
  });
  readyBeforeStart = (await call('GET', '/readyz')) as unknown as typeof readyBeforeStart;
  worker = await startWorker({ config, packs: [createFixturePack().pack], logger: silent });
  admin.watchRunners(worker.runners);
  readiness.workerStarted = true;
});

afterAll(async () => {
  await Promise.all([admin?.close(), ...extraServers.map((s) => s.close())]);
  await worker?.stop(0);
  for (const c of extraConnections) c.disconnect();
});

describe('admin HTTP: open routes', () => {
  it('/healthz answers without credentials; /readyz follows the worker, shutdown and Redis', async () => {
    expect(await call('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(readyBeforeStart.status).toBe(503);
    expect(readyBeforeStart.body.checks).toMatchObject({ redis: 'ok', worker: 'starting' });
    expect(await call('GET', '/readyz')).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { redis: 'ok', worker: 'started', shutdown: 'no' } },
    });
    readiness.shuttingDown = true;
    try {
      expect(await call('GET', '/readyz')).toMatchObject({
        status: 503,
        body: { checks: { shutdown: 'shutting down' } },
      });
    } finally {
      readiness.shuttingDown = false;
    }

    // a Redis that does not answer: a closed port, commands fail at once instead of queueing
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const deadRedis = new Redis(deadPort, '127.0.0.1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    deadRedis.on('error', () => undefined);
    extraConnections.push(deadRedis);
    const cut = await startAdminServer({
      config,
      redis: deadRedis,
      keys,
      readiness: () => ({ workerStarted: true, shuttingDown: false }),
      logger: silent,
      port: 0,
      host: '127.0.0.1',
      pingTimeoutMs: 500,
    });
    extraServers.push(cut);
    const ready = await call('GET', '/readyz', { server: cut });
    expect(ready.status).toBe(503);
    expect(String((ready.body['checks'] as Record<string, string>)['redis'])).toMatch(/^error: /);
    expect(await call('GET', '/metrics', { server: cut })).toMatchObject({ status: 503 });
  });

  it('/metrics serves the Prometheus text of the worker without credentials', async () => {
    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.text).toMatch(/^# HELP fuze_/m);
  });
});

describe('admin HTTP: credentials and roles', () => {
  it('answers 401 on every other route without credentials or with wrong ones', async () => {
    const guarded = admin.routes.filter((r) => r.access !== 'open');
    expect(admin.routes.filter((r) => r.access === 'open').map((r) => r.path)).toEqual([
      '/healthz',
      '/readyz',
      '/metrics',
    ]);
    expect(guarded.length).toBeGreaterThan(15);
    const wrong = [
      basic({ user: ADMIN.user, password: 'not-the-password' }),
      basic({ user: 'nobody', password: ADMIN.password }),
      bearer('x'.repeat(48)),
      `Digest ${ADMIN_TOKEN}`,
    ];
    for (const route of [...guarded, { method: 'GET', path: '/no/such/route' }]) {
      const body = route.method === 'POST' ? {} : undefined;
      const anonymous = await call(route.method, concrete(route.path), { body });
      expect(anonymous.status, `${route.method} ${route.path}`).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      for (const auth of wrong) {
        const refused = await call(route.method, concrete(route.path), { auth, body });
        expect(refused.status, `${route.method} ${route.path} with ${auth.slice(0, 12)}`).toBe(401);
      }
    }
  });

  it('lets both roles read, and answers 403 to the read-only role on every mutation', async () => {
    const mutations = admin.routes.filter((r) => r.access === 'change');
    expect(mutations.map((r) => r.path).sort()).toEqual([
      '/api/dlq/drop',
      '/api/dlq/requeue',
      '/api/jobs/:job/pause',
      '/api/jobs/:job/resume',
    ]);
    const before = (await auditEntries()).length;
    const viewer = await csrfSession(VIEWER);
    for (const route of mutations) {
      for (const auth of [basic(VIEWER), bearer(VIEWER_TOKEN)]) {
        const answer = await call('POST', concrete(route.path), {
          auth,
          body: { fingerprint: 'abcd' },
          headers: { 'x-csrf-token': viewer.token, cookie: viewer.cookie },
        });
        expect(answer.status, `${route.path} as read-only`).toBe(403);
        expect(answer.body['error']).toBe('forbidden');
      }
    }
    expect(await file.redis.hget(keys.jobControl(FIXTURE_JOB), 'state')).toBeNull();
    expect((await auditEntries()).length).toBe(before);

    for (const auth of [basic(ADMIN), bearer(ADMIN_TOKEN), basic(VIEWER), bearer(VIEWER_TOKEN)]) {
      const session = await call('GET', '/api/session', { auth });
      expect(session.status).toBe(200);
      expect(await call('GET', '/api/overview', { auth })).toMatchObject({ status: 200 });
      expect(await call('GET', `/api/jobs/${FIXTURE_JOB}`, { auth })).toMatchObject({ status: 200 });
      expect(await call('GET', '/health/queues', { auth })).toMatchObject({ status: 200 });
    }
    expect((await call('GET', '/api/session', { auth: basic(VIEWER) })).body).toMatchObject({
      user: VIEWER.user,
      role: 'readonly',
      canChange: false,
    });
    expect((await call('GET', '/api/session', { auth: bearer(ADMIN_TOKEN) })).body).toMatchObject({
      user: 'token:admin',
      role: 'admin',
      via: 'bearer',
    });
  });

  it('serves the dashboard, redirects / to it, and answers 404 for unknown routes once authenticated', async () => {
    const root = await call('GET', '/', { auth: basic(VIEWER) });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dashboard/');
    const page = await call('GET', '/dashboard/', { auth: basic(VIEWER) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.text).toContain('/vendor/uplot/uPlot.iife.min.js');
    const uplot = await call('GET', '/vendor/uplot/uPlot.iife.min.js', { auth: basic(VIEWER) });
    expect(uplot.status).toBe(200);
    expect(uplot.text).toContain('uPlot');
    const again = await fetch(`${admin.url}/dashboard/app.js`, {
      headers: { authorization: basic(VIEWER), 'if-none-match': uplot.headers.get('etag') ?? '' },
    });
    expect(again.status).toBe(200);
    const etag = again.headers.get('etag') ?? '';
    const cached = await fetch(`${admin.url}/dashboard/app.js`, {
      headers: { authorization: basic(VIEWER), 'if-none-match': etag },
    });
    expect(cached.status).toBe(304);
    expect(await call('GET', '/no/such/route', { auth: basic(VIEWER) })).toMatchObject({ status: 404 });
    expect(await call('POST', '/api/overview', { auth: basic(ADMIN), body: {} })).toMatchObject({
      status: 405,
    });
  });
});

describe('admin HTTP: CSRF and audit', () => {
  it('refuses basic-auth mutations without a valid same-origin token; accepts a valid one and audits it', async () => {
    const path = `/api/jobs/${FIXTURE_JOB}/pause`;
    const auth = basic(ADMIN);
    const mine = await csrfSession(ADMIN);
    const viewers = await csrfSession(VIEWER);
    const [issued, nonce, mac] = mine.token.split('.');
    const tampered = `${issued}.${nonce}.${mac?.startsWith('A') ? 'B' : 'A'}${mac?.slice(1)}`;
    const host = new URL(admin.url).host;
    const refusals: [string, Record<string, string>, RegExp][] = [
      ['no token', {}, /missing x-csrf-token/],
      ['header without cookie', { 'x-csrf-token': mine.token }, /missing fuze_csrf cookie/],
      ['cookie without header', { cookie: mine.cookie }, /missing x-csrf-token/],
      ['header and cookie differ', { 'x-csrf-token': mine.token, cookie: viewers.cookie }, /does not match/],
      [
        "another user's token",
        { 'x-csrf-token': viewers.token, cookie: viewers.cookie },
        /not issued to this user/,
      ],
      ['tampered token', { 'x-csrf-token': tampered, cookie: `fuze_csrf=${tampered}` }, /not issued/],
      [
        'another origin',
        { 'x-csrf-token': mine.token, cookie: mine.cookie, origin: 'http://evil.example' },
        /another origin/,
      ],
      [
        'cross-site fetch',
        { 'x-csrf-token': mine.token, cookie: mine.cookie, 'sec-fetch-site': 'cross-site' },
        /cross-site/,
      ],
    ];
    const before = (await auditEntries()).length;
    for (const [what, headers, message] of refusals) {
      const answer = await call('POST', path, { auth, headers, body: { reason: 'csrf test' } });
      expect(answer.status, what).toBe(403);
      expect(answer.body['error'], what).toBe('csrf');
      expect(String(answer.body['message']), what).toMatch(message);
    }
    expect(await file.redis.hget(keys.jobControl(FIXTURE_JOB), 'state')).toBeNull();
    expect((await auditEntries()).length).toBe(before);

    // a text/plain body (what a cross-site form could send) is refused even with a valid token
    const plain = await fetch(`${admin.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: auth,
        'x-csrf-token': mine.token,
        cookie: mine.cookie,
        'content-type': 'text/plain',
      },
      body: '{}',
    });
    expect(plain.status).toBe(400);

    const accepted = await call('POST', path, {
      auth,
      headers: {
        'x-csrf-token': mine.token,
        cookie: mine.cookie,
        origin: `http://${host}`,
        'sec-fetch-site': 'same-origin',
        'x-request-id': 'req-pause-1',
      },
      body: { reason: 'maintenance window' },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ job: FIXTURE_JOB, state: 'paused' });
    expect(await file.redis.hgetall(keys.jobControl(FIXTURE_JOB))).toMatchObject({
      state: 'paused',
      updatedBy: `${ADMIN.user} (admin http)`,
      reason: 'maintenance window',
    });

    const written = (await auditEntries()).filter((e) => e['requestId'] === 'req-pause-1');
    expect(written.map((e) => e['stage'])).toEqual(['requested', 'completed']);
    for (const entry of written) {
      expect(entry).toMatchObject({
        actor: ADMIN.user,
        role: 'admin',
        via: 'basic',
        action: 'job.pause',
        target: FIXTURE_JOB,
        remoteAddress: expect.stringMatching(/127\.0\.0\.1/) as unknown,
      });
      expect(Date.parse(entry['at'] ?? '')).not.toBeNaN();
    }
    expect(JSON.parse(written[0]!['detail'] ?? '{}')).toMatchObject({
      from: 'running',
      to: 'paused',
      reason: 'maintenance window',
    });
    expect(JSON.parse(written[1]!['detail'] ?? '{}')).toMatchObject({ state: 'paused' });

    // bearer requests need no CSRF token: a browser never adds that header on its own
    const resumed = await call('POST', `/api/jobs/${FIXTURE_JOB}/resume`, {
      auth: bearer(ADMIN_TOKEN),
      body: {},
    });
    expect(resumed).toMatchObject({ status: 200, body: { state: 'running' } });
    const audit = await call('GET', '/api/audit?limit=2', { auth: basic(VIEWER) });
    expect(audit.body['entries']).toMatchObject([
      { actor: 'token:admin', role: 'admin', via: 'bearer', action: 'job.resume', stage: 'completed' },
      { actor: 'token:admin', action: 'job.resume', stage: 'requested' },
    ]);
  });

  it('keeps AUDIT_MAX_LEN entries in the audit stream', async () => {
    for (let i = 0; i < 50; i += 1) {
      const action = i % 2 === 0 ? 'pause' : 'resume';
      const answer = await call('POST', `/api/jobs/${FIXTURE_JOB}/${action}`, {
        auth: bearer(ADMIN_TOKEN),
        body: {},
      });
      expect(answer.status).toBe(200);
    }
    expect(await file.redis.xlen(keys.audit)).toBe(AUDIT_MAX_LEN);
  });

  it('refuses unknown jobs and malformed bodies without writing an audit entry', async () => {
    const before = await file.redis.xlen(keys.audit);
    const lastBefore = (await file.redis.xrevrange(keys.audit, '+', '-', 'COUNT', 1))[0]?.[0];
    expect(
      await call('POST', '/api/jobs/no.such.job/pause', { auth: bearer(ADMIN_TOKEN), body: {} }),
    ).toMatchObject({ status: 404 });
    expect(
      await call('POST', `/api/jobs/${FIXTURE_JOB}/pause`, {
        auth: bearer(ADMIN_TOKEN),
        body: { reason: 'x', unexpected: true },
      }),
    ).toMatchObject({ status: 400, body: { error: 'invalid' } });
    expect(await file.redis.xlen(keys.audit)).toBe(before);
    expect((await file.redis.xrevrange(keys.audit, '+', '-', 'COUNT', 1))[0]?.[0]).toBe(lastBefore);
  });
});

describe('admin HTTP: secrets stay out of logs', () => {
  it('redacts the admin passwords and tokens when the config is logged', () => {
    const lines: string[] = [];
    const logger = createLogger(
      { log: { level: 'info' }, service: config.service },
      { write: (line: string) => void lines.push(line) },
    );
    logger.info({ config }, 'config');
    logger.info({ ADMIN_PASSWORD: ADMIN.password, ADMIN_READONLY_TOKEN: VIEWER_TOKEN }, 'env');
    const output = lines.join('');
    expect(output).toContain(ADMIN.user);
    for (const secret of [ADMIN.password, VIEWER.password, ADMIN_TOKEN, VIEWER_TOKEN])
      expect(output).not.toContain(secret);
  });
});

describe('admin HTTP: off without credentials, throttled on repeated wrong ones', () => {
  it('serves health, readiness and metrics but no API or dashboard when no credentials are configured', async () => {
    const open = loadConfig(
      { REDIS_URL: file.server.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' },
      { envFile: false },
    );
    const off = await startAdminServer({
      config: open,
      redis: file.redis,
      keys,
      metrics: () => worker?.metrics,
      readiness: () => ({ workerStarted: true, shuttingDown: false }),
      logger: silent,
      port: 0,
      host: '127.0.0.1',
    });
    extraServers.push(off);
    expect(await call('GET', '/healthz', { server: off })).toMatchObject({ status: 200 });
    expect(await call('GET', '/readyz', { server: off })).toMatchObject({ status: 200 });
    expect(await call('GET', '/metrics', { server: off })).toMatchObject({ status: 200 });
    for (const path of ['/dashboard/', '/api/overview', '/health/queues']) {
      const answer = await call('GET', path, { server: off, auth: basic(ADMIN) });
      expect(answer.status, path).toBe(404);
      expect(answer.body['error']).toBe('admin-off');
    }
    expect(
      await call('POST', `/api/jobs/${FIXTURE_JOB}/pause`, {
        server: off,
        auth: bearer(ADMIN_TOKEN),
        body: {},
      }),
    ).toMatchObject({ status: 404 });
  });

  it('compares credentials per role and throttles an address after repeated wrong ones', () => {
    const clock = new ManualClock(1_000_000);
    const auth = createAdminAuth(config.admin.roles, { clock, maxFailures: 3, throttleWindowMs: 60_000 });
    expect(auth.roles).toEqual(['admin', 'readonly']);
    expect(auth.authenticate(basic(ADMIN), 'a')).toMatchObject({
      kind: 'authenticated',
      principal: { name: ADMIN.user, role: 'admin', via: 'basic' },
    });
    expect(auth.authenticate(bearer(VIEWER_TOKEN), 'a')).toMatchObject({
      principal: { name: 'token:readonly', role: 'readonly', via: 'bearer' },
    });
    expect(auth.authenticate(undefined, 'a')).toEqual({ kind: 'anonymous' });
    // a password of one role with the user of another is not a match
    expect(auth.authenticate(basic({ user: ADMIN.user, password: VIEWER.password }), 'a')).toEqual({
      kind: 'refused',
    });
    for (let i = 0; i < 2; i += 1)
      expect(auth.authenticate(bearer('w'.repeat(40)), 'b').kind).toBe('refused');
    expect(auth.authenticate(bearer('w'.repeat(40)), 'b').kind).toBe('refused');
    // the address is now throttled, even with good credentials; others are not
    expect(auth.authenticate(basic(ADMIN), 'b')).toMatchObject({ kind: 'throttled', retryAfterSeconds: 60 });
    expect(auth.authenticate(basic(ADMIN), 'c').kind).toBe('authenticated');
    clock.advance(60_001);
    expect(auth.authenticate(basic(ADMIN), 'b').kind).toBe('authenticated');
    expect(createAdminAuth(loadConfig({}, { envFile: false }).admin.roles).enabled).toBe(false);
  });
});
