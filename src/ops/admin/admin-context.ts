// What the admin routes share: their dependencies, the per-request context, the route shape (method, path, access
// level), and `audited`, which wraps an admin action in its audit entries (requested, then completed or failed).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../../clock.js';
import type { WorkerConfig } from '../../config/index.js';
import { errorMessage } from '../../errors.js';
import type { KeyBuilder } from '../../streams/keys.js';
import type { AdminAuth, AdminPrincipal } from './admin-auth.js';
import type { AdminAudit } from './admin-audit.js';
import type { CsrfGuard } from './admin-csrf.js';
import type { AdminReply, PathPattern } from './http-io.js';
import type { StatusRules } from './job-status.js';
import type { LagHistory } from './lag-history.js';
import type { RecentOutcomes } from './recent-outcomes.js';
import type { StatsSampler } from './stats-sampler.js';

/** What `/readyz` asks the process besides Redis. */
export interface AdminReadiness {
  /** The worker has started: its groups exist and its runners read. */
  readonly workerStarted: boolean;
  readonly shuttingDown: boolean;
}

/** The worker's metrics as the admin server uses them (`WorkerMetrics` has all of it). */
export interface AdminMetrics {
  readonly contentType: string;
  metricsText(): Promise<string>;
  /** For the job page's outcome counts and latency; optional. */
  readonly registry?: Registry;
}

export interface AdminServices {
  readonly config: WorkerConfig;
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  readonly logger: Logger;
  readonly clock: Clock;
  metrics(): AdminMetrics | undefined;
  readiness(): AdminReadiness;
  readonly auth: AdminAuth;
  readonly csrf: CsrfGuard;
  readonly audit: AdminAudit;
  readonly sampler: StatsSampler;
  readonly history: LagHistory;
  readonly statusRules: StatusRules;
  readonly outcomes: RecentOutcomes;
  readonly pingTimeoutMs: number;
}

export interface RouteContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  /** Set on every route but the open ones. */
  readonly principal: AdminPrincipal | undefined;
  readonly requestId: string;
  readonly remoteAddress: string;
}

/** `open`: no credentials; `read`: any role; `change`: the admin role, CSRF-checked and audited. */
export type RouteAccess = 'open' | 'read' | 'change';

export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  readonly path: PathPattern;
  readonly access: RouteAccess;
  /** A reply for the server to write, or undefined when the handler wrote the response itself (downloads). */
  handle(ctx: RouteContext): AdminReply | undefined | Promise<AdminReply | undefined>;
}

/** The principal of a route that requires one (the server checked it before the handler ran). */
export function principalOf(ctx: RouteContext): AdminPrincipal {
  if (ctx.principal === undefined) throw new Error(`route ${ctx.url.pathname} ran without a principal`);
  return ctx.principal;
}

/**
 * Runs an admin action between its audit entries: `requested` first (if it cannot be written the action does not
 * run), then `completed` with `summary(result)` or `failed` with the error. Logs the change once.
 */
export async function audited<T>(
  services: AdminServices,
  ctx: RouteContext,
  action: { readonly name: string; readonly target: string; readonly detail?: Record<string, unknown> },
  run: () => Promise<T>,
  summary: (result: T) => Record<string, unknown>,
): Promise<T> {
  const principal = principalOf(ctx);
  const base = {
    principal,
    action: action.name,
    target: action.target,
    requestId: ctx.requestId,
    remoteAddress: ctx.remoteAddress,
  };
  await services.audit.record({
    ...base,
    stage: 'requested',
    ...(action.detail === undefined ? {} : { detail: action.detail }),
  });
  let result: T;
  try {
    result = await run();
  } catch (error) {
    await services.audit
      .record({ ...base, stage: 'failed', detail: { error: errorMessage(error).slice(0, 500) } })
      .catch((auditError: unknown) =>
        services.logger.error({ err: auditError, ...logFields(base) }, 'admin audit entry not written'),
      );
    throw error;
  }
  const outcome = summary(result);
  services.logger.info(
    { ...logFields(base), ...outcome },
    `admin: ${principal.name} ${action.name} ${action.target}`,
  );
  await services.audit
    .record({ ...base, stage: 'completed', detail: outcome })
    .catch((auditError: unknown) =>
      services.logger.error({ err: auditError, ...logFields(base) }, 'admin audit entry not written'),
    );
  return result;
}

function logFields(base: {
  principal: AdminPrincipal;
  action: string;
  target: string;
  requestId: string;
}): Record<string, unknown> {
  return {
    actor: base.principal.name,
    role: base.principal.role,
    action: base.action,
    target: base.target,
    requestId: base.requestId,
  };
}
