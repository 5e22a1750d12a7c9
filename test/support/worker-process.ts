// A consumer worker run as a real child process by the crash and shared-limit tests (killed with SIGKILL, stopped
// with SIGTERM): one job runner whose handler POSTs to a mock downstream. Configured by env; reports JSON lines on
// stdout; test/support/worker-children.ts spawns it.
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { z } from 'zod';
import { ConfigError, errorMessage } from '../../src/errors.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { createJobRunner } from '../../src/pipelines/job-runner.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { outcome } from '../../src/streams/outcome.js';
import { betOpened, DOMAIN } from './streams-fixture.js';

/** The job's distributedRateLimit (named after the job): env SHARED_LIMIT=<perSecond>:<burst>. */
export interface SharedLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** The env variables the process tests set; see readWorkerEnv for defaults. */
export interface WorkerEnv {
  readonly REDIS_URL: string;
  readonly KEY_PREFIX: string;
  readonly PARTITIONS: number;
  readonly JOB: string;
  readonly CONCURRENCY: number;
  readonly CLAIM_FLOOR_MS: number;
  readonly HEARTBEAT_MS: number;
  readonly HANDLER_DELAY_MS: number;
  readonly DOWNSTREAM_URL: string;
  /** SIGKILL itself right after the downstream answered for the first event, before returning the outcome. */
  readonly CRASH_AFTER_EFFECT: boolean;
  readonly GRACE_MS: number;
  /** A token bucket in Redis shared by every worker of the job; none when unset. */
  readonly SHARED_LIMIT: SharedLimit | undefined;
  /** Report ready (connected, HTTP client warmed up) before starting the runner, and start on the IPC message "go". */
  readonly WAIT_FOR_GO: boolean;
}

type Env = Record<string, string | undefined>;

function required(env: Env, variable: string): string {
  const value = env[variable];
  if (value === undefined || value === '')
    throw new ConfigError(`${variable} is required by the worker process`, variable);
  return value;
}

function integer(env: Env, variable: string, fallback: number, min: number): number {
  const text = env[variable];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${variable} must be an integer >= ${min}, got "${text}"`, variable);
  }
  return value;
}

function sharedLimit(env: Env): SharedLimit | undefined {
  const text = env['SHARED_LIMIT'];
  if (text === undefined || text === '') return undefined;
  const [perSecond, burst] = text.split(':').map(Number);
  if (
    perSecond === undefined ||
    burst === undefined ||
    !(perSecond > 0) ||
    !Number.isInteger(burst) ||
    burst < 1
  ) {
    throw new ConfigError(`SHARED_LIMIT must be <perSecond>:<burst>, got "${text}"`, 'SHARED_LIMIT');
  }
  return { perSecond, burst };
}

function readWorkerEnv(env: Env): WorkerEnv {
  return {
    REDIS_URL: required(env, 'REDIS_URL'),
    KEY_PREFIX: required(env, 'KEY_PREFIX'),
    PARTITIONS: integer(env, 'PARTITIONS', 4, 1),
    JOB: required(env, 'JOB'),
    CONCURRENCY: integer(env, 'CONCURRENCY', 16, 1),
    CLAIM_FLOOR_MS: integer(env, 'CLAIM_FLOOR_MS', 30_000, 1),
    HEARTBEAT_MS: integer(env, 'HEARTBEAT_MS', 5_000, 1),
    HANDLER_DELAY_MS: integer(env, 'HANDLER_DELAY_MS', 0, 0),
    DOWNSTREAM_URL: required(env, 'DOWNSTREAM_URL'),
    CRASH_AFTER_EFFECT: env['CRASH_AFTER_EFFECT'] === '1',
    GRACE_MS: integer(env, 'GRACE_MS', 25_000, 0),
    SHARED_LIMIT: sharedLimit(env),
    WAIT_FOR_GO: env['WAIT_FOR_GO'] === '1',
  };
}

function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const config = readWorkerEnv(process.env);
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  // reported, not thrown: ioredis reconnects by itself and the tests read these lines when something hangs
  redis.on('error', (error: Error) => report({ redisError: error.message }));
  const registry = createEventRegistry();
  registry.register({ type: 'bet.opened', domain: DOMAIN, schema: betOpened });
  let crashArmed = config.CRASH_AFTER_EFFECT;

  const runner = createJobRunner<z.infer<typeof betOpened>>(
    {
      name: config.JOB,
      domain: DOMAIN,
      types: ['bet.opened'],
      concurrency: config.CONCURRENCY,
      // the tests publish before the first worker starts
      startId: '0',
      ...(config.SHARED_LIMIT && { distributedRateLimit: { name: config.JOB, ...config.SHARED_LIMIT } }),
      async handler(event, ctx) {
        const response = await fetch(config.DOWNSTREAM_URL, {
          method: 'POST',
          // derived from the event only, so every redelivery carries the same key
          headers: {
            'content-type': 'application/json',
            'idempotency-key': `${config.JOB}:${event.data.betId}`,
          },
          body: JSON.stringify({ eventId: event.id }),
          signal: ctx.signal,
        });
        await response.text();
        if (!response.ok) return outcome.retry(`downstream answered ${response.status}`);
        if (crashArmed) {
          crashArmed = false;
          process.kill(process.pid, 'SIGKILL');
          await new Promise<never>(() => undefined);
        }
        await delay(config.HANDLER_DELAY_MS, undefined, { signal: ctx.signal });
        return outcome.ack();
      },
    },
    {
      redis,
      keys: createKeyBuilder({ prefix: config.KEY_PREFIX }),
      registry,
      partitions: config.PARTITIONS,
      settings: { claimFloorMs: config.CLAIM_FLOOR_MS, heartbeatMs: config.HEARTBEAT_MS },
    },
  );
  runner.on('outcome', (event) => report({ outcome: event }));
  runner.on('dataLoss', (event) => report({ dataLoss: event }));
  runner.on('ownershipLost', (event) => report({ ownershipLost: event }));
  runner.on('loopError', (event) =>
    report({ loopError: { where: event.where, error: errorMessage(event.error) } }),
  );

  let started = false;
  process.once('SIGTERM', () => {
    // never started (still waiting for "go"): nothing held, nothing to release
    if (!started) {
      report({ stopped: { job: config.JOB, released: 0 }, released: 0 });
      void redis.quit().finally(() => process.exit(0));
      return;
    }
    const stopped = new Promise<{ job: string; released: number }>((resolve) =>
      runner.once('stopped', resolve),
    );
    void runner
      .stop(config.GRACE_MS)
      .then(() => stopped)
      .then(async (event) => {
        report({ stopped: event, released: event.released });
        await redis.quit();
        process.exit(0);
      })
      .catch((error: unknown) => fail(error));
  });
  // the parent test process went away (crashed or killed): never outlive it
  process.once('disconnect', () => process.exit(1));

  if (config.WAIT_FOR_GO) {
    const go = new Promise<void>((resolve) =>
      process.on('message', (message) => {
        if (message === 'go') resolve();
      }),
    );
    // connect and load the HTTP client before the test opens its window (a GET: mock servers count POSTs only)
    await redis.ping();
    await (await fetch(config.DOWNSTREAM_URL, { method: 'GET' })).text();
    report({ ready: true, consumer: runner.consumer });
    await go;
    started = true;
    await runner.start();
    return;
  }
  started = true;
  await runner.start();
  report({ ready: true, consumer: runner.consumer });
}

function fail(error: unknown): never {
  process.stderr.write(
    `worker-process failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(2);
}

main().catch(fail);
