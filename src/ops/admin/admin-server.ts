// The admin HTTP server (node:http, PORT): /healthz, /readyz and /metrics open; /health/queues, the JSON API and the
// dashboard behind basic or bearer credentials; mutations for the admin role only, CSRF-checked and audited.
import { createHmac, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { WorkerConfig } from '../../config/index.js';
import { ValidationError, errorMessage } from '../../errors.js';
import type { RunnerEvents } from '../../pipelines/job-runner.js';
import type { KeyBuilder } from '../../streams/keys.js';
import type { EventSource } from '../metrics/event-source.js';
import { createAdminAudit } from './admin-audit.js';
import { createAdminAuth } from './admin-auth.js';
import type { AdminPrincipal } from './admin-auth.js';
import type {
  AdminMetrics,
  AdminReadiness,
  AdminRoute,
  AdminServices,
  RouteAccess,
} from './admin-context.js';
import { createCsrfGuard } from './admin-csrf.js';
import { consoleApiRoutes } from './api-console-routes.js';
import { dlqApiRoutes } from './api-dlq-routes.js';
import { jobsApiRoutes } from './api-jobs-routes.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { healthRoutes } from './health-routes.js';
import type { AdminReply } from './http-io.js';
import { problem, writeReply } from './http-io.js';
import { DEFAULT_STATUS_RULES } from './job-status.js';
import type { StatusRules } from './job-status.js';
import { createLagHistory } from './lag-history.js';
import { createRecentOutcomes } from './recent-outcomes.js';
import { createStatsSampler } from './stats-sampler.js';

export type { AdminMetrics, AdminReadiness, RouteAccess } from './admin-context.js';

export interface AdminServerOptions {
  readonly config: WorkerConfig;
  /** A connection the admin server may use (the worker's will do); its owner closes it. */
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  /** The worker's metrics, or a function returning them once the worker has started (/metrics is 503 until then). */
  readonly metrics?: AdminMetrics | (() => AdminMetrics | undefined);
  /** Asked on every /readyz besides Redis' PING. */
  readonly readiness: () => AdminReadiness;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Default: config.admin.port (PORT); 0 = any free port (tests). */
  readonly port?: number;
  /** Default: every interface (what a pod needs); tests pass 127.0.0.1. */
  readonly host?: string;
  /** Status rules of the dashboard (window, samples); default DEFAULT_STATUS_RULES. */
  readonly statusRules?: Partial<StatusRules>;
  /** Lag samples are kept at most this often per job; default 2000 ms. */
  readonly sampleEveryMs?: number;
  /** Longest wait for Redis' PING in /readyz; default 1000 ms. */
  readonly pingTimeoutMs?: number;
  /** Wrong credentials per address per minute before it gets 429; default 20. */
  readonly authMaxFailures?: number;
}

export interface AdminServer {
  /** `http://host:port` to reach it (127.0.0.1 when listening on every interface). */
  readonly url: string;
  readonly port: number;
  /** Every route: method, path pattern and who may call it (open, read = any role, change = admin + CSRF). */
  readonly routes: readonly {
    readonly method: string;
    readonly path: string;
    readonly access: RouteAccess;
  }[];
  /** Feeds the job page's recent outcomes from the worker's runners (started later than the server). */
  watchRunners(runners: readonly EventSource<RunnerEvents>[]): () => void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const REALM = 'Basic realm="fuze-workers admin", charset="UTF-8"';

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const auth = createAdminAuth(config.admin.roles, {
    clock,
    ...(options.authMaxFailures === undefined ? {} : { maxFailures: options.authMaxFailures }),
  });
  const history = createLagHistory(
    options.sampleEveryMs === undefined ? {} : { sampleEveryMs: options.sampleEveryMs },
  );
  const metrics = options.metrics;
  const services: AdminServices = {
    config,
    redis: options.redis,
    keys: options.keys,
    logger,
    clock,
    metrics: typeof metrics === 'function' ? metrics : () => metrics,
    readiness: options.readiness,
    auth,
    csrf: createCsrfGuard({
      key: createHmac('sha256', auth.secretDigest).update('fuze-workers admin csrf v1').digest(),
      clock,
    }),
    audit: createAdminAudit({
      redis: options.redis,
      keys: options.keys,
      maxLen: config.admin.auditMaxLen,
      clock,
    }),
    sampler: createStatsSampler({ redis: options.redis, keys: options.keys, history, clock }),
    history,
    statusRules: { ...DEFAULT_STATUS_RULES, ...options.statusRules },
    outcomes: createRecentOutcomes({ clock }),
    pingTimeoutMs: options.pingTimeoutMs ?? 1000,
  };
  const routes: AdminRoute[] = [
    ...healthRoutes(services),
    ...jobsApiRoutes(services),
    ...dlqApiRoutes(services),
    ...consoleApiRoutes(services),
    ...dashboardRoutes(logger),
  ];

  const server = createServer((req, res) => {
    void handle(services, routes, req, res);
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  const port = options.port ?? config.admin.port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host =
    options.host === undefined || options.host === '0.0.0.0' || options.host === '::'
      ? '127.0.0.1'
      : options.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  if (!auth.enabled)
    logger.warn(
      'admin API and dashboard are off: no credentials configured (set ADMIN_USER + ADMIN_PASSWORD or ADMIN_TOKEN)',
    );
  logger.info({ port: address.port, roles: auth.roles }, 'admin server listening');

  return {
    url,
    port: address.port,
    routes: routes.map((r) => ({ method: r.method, path: r.path.pattern, access: r.access })),
    watchRunners: (runners) => services.outcomes.watch(runners),
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function handle(
  services: AdminServices,
  routes: readonly AdminRoute[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const requestId = requestIdOf(req);
  const remoteAddress = req.socket.remoteAddress ?? 'unknown';
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://admin.invalid');
  } catch {
    writeReply(res, problem(400, 'invalid', 'unparsable request target'));
    return;
  }
  const path = url.pathname;
  const matching = routes
    .map((route) => ({ route, params: route.path.match(path) }))
    .filter((m): m is { route: AdminRoute; params: Record<string, string> } => m.params !== undefined);
  const found = matching.find(
    (m) => m.route.method === req.method || (req.method === 'HEAD' && m.route.method === 'GET'),
  );
  const access = found?.route.access ?? matching[0]?.route.access ?? 'read';

  let principal: AdminPrincipal | undefined;
  if (access !== 'open') {
    const refused = authorise(services, req, remoteAddress, access);
    if ('status' in refused) {
      writeReply(res, refused);
      return;
    }
    principal = refused.principal;
  }
  if (found === undefined) {
    writeReply(
      res,
      matching.length > 0
        ? problem(405, 'method-not-allowed', `${req.method ?? ''} is not allowed on ${path}`, {
            Allow: [...new Set(matching.map((m) => m.route.method))].join(', '),
          })
        : problem(404, 'not-found', `no route ${path}`),
    );
    return;
  }
  try {
    const reply = await found.route.handle({
      req,
      res,
      url,
      params: found.params,
      principal,
      requestId,
      remoteAddress,
    });
    if (reply !== undefined) writeReply(res, reply);
  } catch (error) {
    writeReply(res, errorReply(services, error, { path, requestId }));
  }
}

/** The principal, or the reply refusing the request: 404 (API off), 401, 429, 403 (role or CSRF). */
function authorise(
  services: AdminServices,
  req: IncomingMessage,
  remoteAddress: string,
  access: 'read' | 'change',
): { principal: AdminPrincipal } | AdminReply {
  const { auth } = services;
  if (!auth.enabled)
    return problem(
      404,
      'admin-off',
      'the admin API and dashboard are off: no credentials are configured (ADMIN_USER + ADMIN_PASSWORD or ADMIN_TOKEN)',
    );
  const result = auth.authenticate(req.headers.authorization, remoteAddress);
  if (result.kind === 'throttled')
    return problem(429, 'throttled', 'too many wrong credentials from this address; try again later', {
      'Retry-After': String(result.retryAfterSeconds),
    });
  if (result.kind !== 'authenticated')
    return problem(
      401,
      'unauthorized',
      result.kind === 'anonymous' ? 'credentials required' : 'wrong credentials',
      { 'WWW-Authenticate': REALM },
    );
  const { principal } = result;
  if (access === 'change') {
    if (principal.role !== 'admin')
      return problem(403, 'forbidden', `the ${principal.role} role cannot change anything`);
    const csrf = services.csrf.verify(req, principal);
    if (csrf !== undefined) return problem(403, 'csrf', csrf);
  }
  return { principal };
}

function errorReply(
  services: AdminServices,
  error: unknown,
  where: { path: string; requestId: string },
): AdminReply {
  if (error instanceof ValidationError) return problem(400, 'invalid', error.message);
  services.logger.error({ err: error, ...where }, `admin: ${where.path} failed`);
  return problem(500, 'internal', `request failed: ${errorMessage(error).slice(0, 300)}`, {
    'X-Request-Id': where.requestId,
  });
}

/** The caller's X-Request-Id when it is a sane token, otherwise a new one. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
}
