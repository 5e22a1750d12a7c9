// JSON API of the rest of the dashboard: the session (who is logged in, role, CSRF token + cookie), timers due soon
// over every domain's timer wheel, and the newest entries of the admin audit stream.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { listTimers } from '../control/timer-admin.js';
import type { AdminRoute, AdminServices } from './admin-context.js';
import { principalOf } from './admin-context.js';
import { json, pathPattern, queryInteger, queryText } from './http-io.js';

export function consoleApiRoutes(services: AdminServices): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: pathPattern('/api/session'),
      access: 'read',
      handle(ctx) {
        const principal = principalOf(ctx);
        const csrfToken = services.csrf.issue(principal);
        return json(
          200,
          {
            user: principal.name,
            role: principal.role,
            via: principal.via,
            canChange: principal.role === 'admin',
            csrfToken,
            service: services.config.service.name,
            prefix: services.keys.prefix,
          },
          { 'Set-Cookie': services.csrf.cookie(csrfToken, isHttps(ctx.req)) },
        );
      },
    },
    {
      method: 'GET',
      path: pathPattern('/api/timers'),
      access: 'read',
      async handle(ctx) {
        const withinMs = queryInteger(ctx.url, 'withinMs', 3_600_000, 0, 30 * 24 * 3_600_000);
        const limit = queryInteger(ctx.url, 'limit', 100, 1, 1000);
        const job = queryText(ctx.url, 'job', 64);
        const { stats } = await services.sampler.read();
        const now = services.clock.now();
        // due soon: everything up to now + withinMs, overdue ones (not moved yet) first
        const timers = await listTimers(
          { redis: services.redis, keys: services.keys },
          stats.domains.map((d) => ({ domain: d.domain, partitions: d.partitions })),
          { toMs: now + withinMs, limit, ...(job === undefined ? {} : { job }) },
        );
        return json(200, {
          at: new Date(now).toISOString(),
          withinMs,
          timers: timers.map((t) => ({ ...t, dueAt: new Date(t.dueMs).toISOString(), inMs: t.dueMs - now })),
        });
      },
    },
    {
      method: 'GET',
      path: pathPattern('/api/audit'),
      access: 'read',
      async handle(ctx) {
        const limit = queryInteger(ctx.url, 'limit', 50, 1, 1000);
        return json(200, { entries: await services.audit.recent(limit) });
      },
    },
  ];
}

/** TLS here, or at a proxy that says so: the CSRF cookie is then marked Secure. */
function isHttps(req: IncomingMessage): boolean {
  return (
    (req.socket as Partial<TLSSocket>).encrypted === true || req.headers['x-forwarded-proto'] === 'https'
  );
}
