// The admin server as the worker process runs it: started before the worker (so /healthz answers during start-up)
// on a Redis connection of its own, told when the worker is running and when it is stopping.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WorkerConfig } from '../../config/index.js';
import { errorMessage } from '../../errors.js';
import { createKeyBuilder } from '../../streams/keys.js';
import type { Worker } from '../../worker.js';
import { startAdminServer } from './admin-server.js';

export interface AdminProcess {
  readonly url: string;
  /** The worker is running: readiness and the dashboard follow it. */
  attach(worker: Worker): void;
  /** Readiness turns 503 at once (the pod leaves the Service before its work stops). */
  markStopping(): void;
  close(): Promise<void>;
}

export async function startAdminProcess(config: WorkerConfig, logger: Logger): Promise<AdminProcess> {
  const { sentinels, sentinelName, url } = config.redis;
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    ...(sentinels === undefined ? {} : { sentinels: sentinels.map((s) => ({ ...s })), name: sentinelName }),
  });
  // the worker reports Redis outages; here a failed ping shows in /readyz instead of on stderr
  redis.on('error', (error: unknown) =>
    logger.debug({ err: errorMessage(error) }, 'admin Redis connection error'),
  );
  let worker: Worker | undefined;
  let stopping = false;
  const keys = createKeyBuilder({ prefix: config.queue.prefix, dlqSuffix: config.queue.dlqSuffix });
  const server = await startAdminServer({
    config,
    redis,
    keys,
    logger,
    metrics: () => worker?.metrics,
    readiness: () => ({ workerStarted: worker !== undefined, shuttingDown: stopping }),
  }).catch((error: unknown) => {
    redis.disconnect();
    throw error;
  });
  let unwatch: (() => void) | undefined;
  return {
    url: server.url,
    attach(started) {
      worker = started;
      unwatch = server.watchRunners(started.runners);
    },
    markStopping() {
      stopping = true;
    },
    async close() {
      unwatch?.();
      await server.close();
      redis.disconnect();
    },
  };
}
