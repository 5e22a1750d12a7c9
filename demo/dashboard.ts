// The dashboard of a demo run: the admin HTTP server (health, metrics, JSON API, dashboard) for the demo's worker,
// on a free local port, with the run's fresh credentials (ADMIN_USER / ADMIN_PASSWORD from demoWorkerEnv).
import { Redis } from 'ioredis';
import type { WorkerConfig } from '../src/config/index.js';
import { startAdminServer } from '../src/ops/admin/admin-server.js';
import { createLogger } from '../src/ops/logger.js';
import { createKeyBuilder } from '../src/streams/keys.js';
import type { Worker } from '../src/worker.js';
import type { DashboardCredentials } from './demo-env.js';

export interface DemoDashboard extends DashboardCredentials {
  /** The dashboard page, e.g. http://127.0.0.1:40123/dashboard/ */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the dashboard for the demo's worker. */
export type StartDashboard = (
  worker: Worker,
  config: WorkerConfig,
  credentials: DashboardCredentials,
) => Promise<DemoDashboard | undefined>;

export const startDashboard: StartDashboard = async (worker, config, credentials) => {
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
  const admin = await startAdminServer({
    config,
    redis,
    keys: createKeyBuilder({ prefix: config.queue.prefix, dlqSuffix: config.queue.dlqSuffix }),
    metrics: worker.metrics,
    readiness: () => ({ workerStarted: true, shuttingDown: false }),
    // stdout carries only the report: the admin server's own lines are left out of the demo
    logger: createLogger({ ...config, log: { level: 'silent' } }),
    host: '127.0.0.1',
    port: 0,
  });
  const unwatch = admin.watchRunners(worker.runners);
  return {
    ...credentials,
    url: `${admin.url}/dashboard/`,
    async close() {
      unwatch();
      await admin.close();
      redis.disconnect();
    },
  };
};
