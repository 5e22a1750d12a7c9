// Probe and monitoring routes: /healthz (process up), /readyz (Redis answers PING, the worker started, not shutting
// down), /metrics (Prometheus text), and /health/queues + /health/queue/:name (seed 003's shape, credentials needed).
import { errorMessage } from '../../errors.js';
import type { GroupStats } from '../control/group-stats.js';
import type { AdminRoute, AdminServices } from './admin-context.js';
import { json, pathPattern, problem, text } from './http-io.js';
import { evaluateJobStatus } from './job-status.js';
import { queueHealth, queueNames, queuesHealth } from './queue-health.js';

export function healthRoutes(services: AdminServices): AdminRoute[] {
  const verdictOf = (group: GroupStats) =>
    evaluateJobStatus(services.history.samples(group.domain, group.group), group.state, services.statusRules);

  return [
    {
      method: 'GET',
      path: pathPattern('/healthz'),
      access: 'open',
      handle: () => json(200, { status: 'ok' }),
    },
    {
      method: 'GET',
      path: pathPattern('/readyz'),
      access: 'open',
      async handle() {
        const { workerStarted, shuttingDown } = services.readiness();
        const redis = await ping(services);
        const checks = {
          redis,
          worker: workerStarted ? 'started' : 'starting',
          shutdown: shuttingDown ? 'shutting down' : 'no',
        };
        const ready = redis === 'ok' && workerStarted && !shuttingDown;
        return json(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
      },
    },
    {
      method: 'GET',
      path: pathPattern('/metrics'),
      access: 'open',
      async handle() {
        const metrics = services.metrics();
        if (metrics === undefined) return problem(503, 'unavailable', 'metrics are not available yet');
        return text(200, await metrics.metricsText(), metrics.contentType);
      },
    },
    {
      method: 'GET',
      path: pathPattern('/health/queues'),
      access: 'read',
      async handle() {
        const { stats } = await services.sampler.read();
        const health = queuesHealth(stats, services.config.admin.health, verdictOf);
        // a monitor that only looks at the status code sees a critical queue
        return json(health.status === 'critical' ? 503 : 200, health);
      },
    },
    {
      method: 'GET',
      path: pathPattern('/health/queue/:name'),
      access: 'read',
      async handle(ctx) {
        const { stats } = await services.sampler.read();
        const names = queueNames(stats.groups);
        const index = names.indexOf(ctx.params['name'] ?? '');
        const group = stats.groups[index];
        if (group === undefined)
          return problem(404, 'not-found', `no queue (job) named "${ctx.params['name'] ?? ''}"`);
        const health = queueHealth(group, services.config.admin.health, verdictOf(group));
        return json(health.level === 'critical' ? 503 : 200, { name: names[index], ...health });
      },
    },
  ];
}

/** 'ok', or what went wrong; never waits longer than the ping timeout (ioredis queues commands while offline). */
async function ping(services: AdminServices): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${services.pingTimeoutMs} ms`)),
        services.pingTimeoutMs,
      );
    });
    const answer = await Promise.race([services.redis.ping(), timeout]);
    return answer === 'PONG' ? 'ok' : `unexpected answer ${String(answer)}`;
  } catch (error) {
    return `error: ${errorMessage(error).slice(0, 200)}`;
  } finally {
    clearTimeout(timer);
  }
}
