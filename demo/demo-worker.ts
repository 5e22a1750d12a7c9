// Starts the demo's worker with every catalog job that can run against the mock platform: each job's definition is
// built once beforehand, and a job that refuses with a ConfigError (a service or provider URL the mock platform does
// not provide) is left out and reported with that reason; PROCESSORS then names the others.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { loadConfig } from '../src/config/index.js';
import type { WorkerConfig } from '../src/config/index.js';
import { ConfigError } from '../src/errors.js';
import { createEventRegistry } from '../src/events/registry.js';
import { definitionOf } from '../src/jobs/catalog.js';
import type { JobPack } from '../src/jobs/catalog.js';
import { registerCronTick } from '../src/scheduler/cron-tick-event.js';
import { createKeyBuilder } from '../src/streams/keys.js';
import { startWorker } from '../src/worker.js';
import type { Worker, WorkerOptions } from '../src/worker.js';
import { createWorkerContext } from '../src/worker-context.js';

export interface DemoWorker {
  readonly worker: Worker;
  readonly config: WorkerConfig;
  /** Catalog jobs left out, with the reason their definition gave. */
  readonly notRun: ReadonlyMap<string, string>;
}

/** Every job name the packs declare, in catalog order. */
export function catalogJobs(packs: readonly JobPack[]): string[] {
  return packs.flatMap((pack) => pack.jobs.map((job) => job.catalog.name));
}

/** Builds every job's definition once; those refusing with a ConfigError are returned with its message. */
export async function jobsThatCannotRun(
  packs: readonly JobPack[],
  deps: { readonly config: WorkerConfig; readonly redis: Redis; readonly logger: Logger },
): Promise<Map<string, string>> {
  const registry = createEventRegistry();
  registerCronTick(registry);
  for (const pack of packs) pack.register(registry);
  const keys = createKeyBuilder({ prefix: deps.config.queue.prefix, dlqSuffix: deps.config.queue.dlqSuffix });
  const context = createWorkerContext({ ...deps, keys, registry });
  const notRun = new Map<string, string>();
  try {
    for (const job of packs.flatMap((pack) => pack.jobs)) {
      try {
        definitionOf(job, context);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        notRun.set(job.catalog.name, error.message);
      }
    }
  } finally {
    await context.close();
  }
  return notRun;
}

export async function startDemoWorker(
  env: Readonly<Record<string, string>>,
  options: Omit<WorkerOptions, 'config' | 'logger' | 'redis'> & {
    readonly packs: readonly JobPack[];
    readonly logger: Logger;
    /** A connection for the pre-check (the worker opens its own). */
    readonly redis: Redis;
  },
): Promise<DemoWorker> {
  const { redis, ...workerOptions } = options;
  const notRun = await jobsThatCannotRun(options.packs, {
    config: loadConfig(env, { envFile: false }),
    redis,
    logger: options.logger,
  });
  const runnable = catalogJobs(options.packs).filter((job) => !notRun.has(job));
  // PROCESSORS names every runnable job, so a left-out job stays out whatever its ENABLE_* flag says
  const config = loadConfig(notRun.size === 0 ? env : { ...env, PROCESSORS: runnable.join(',') }, {
    envFile: false,
  });
  return { worker: await startWorker({ ...workerOptions, config }), config, notRun };
}
