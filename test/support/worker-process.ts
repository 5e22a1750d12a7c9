// A consumer worker run as a real child process by the crash and shared-limit tests (killed with SIGKILL, stopped
// with SIGTERM): one job runner whose handler POSTs to a mock downstream. Configured by env; reports JSON lines on
// stdout; test/support/worker-children.ts spawns it.
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { z } from 'zod';
import { systemClock, type Clock } from '../../src/clock.js';
import { ConfigError, errorMessage } from '../../src/errors.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { createJobRunner } from '../../src/pipelines/job-runner.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { outcome } from '../../src/streams/outcome.js';
import { defaultStatusPolicy, mapResponse } from '../../src/sinks/status-mapping.js';
import type { RunnerSettings } from '../../src/pipelines/job-runner.js';
import type { RunAt } from '../../src/pipelines/job-definition.js';
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
  /** Fault suite (faults/): runner settings; unset = the runner's defaults. */
  readonly HANDLER_TIMEOUT_MS: number | undefined;
  readonly MAX_ATTEMPTS: number | undefined;
  readonly MAX_DELIVERIES: number | undefined;
  readonly BACKOFF_BASE_MS: number | undefined;
  readonly BACKOFF_MAX_MS: number | undefined;
  /** Map the downstream's answer through the sinks' status mapping (429 Retry-After, 5xx, 4xx) instead of ok/retry. */
  readonly STATUS_MAPPING: boolean;
  /** Poison events by betId prefix: `poison-throw-` throws every time, `poison-crash-` SIGKILLs the process. */
  readonly POISON: boolean;
  /** The runner's injected clock jumps through these offsets (ms, comma-separated), one every CLOCK_JUMP_MS. */
  readonly CLOCK_OFFSETS: string | undefined;
  readonly CLOCK_JUMP_MS: number | undefined;
  /** The job handles each event at the time in its data.tEnd (ISO) through the timer wheel (job runAt). */
  readonly RUN_AT: boolean;
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

function optionalInteger(env: Env, variable: string, min: number): number | undefined {
  const text = env[variable];
  return text === undefined || text === '' ? undefined : integer(env, variable, min, min);
}

function offsets(env: Env): string | undefined {
  const text = env['CLOCK_OFFSETS'];
  if (text === undefined || text === '') return undefined;
  if (!text.split(',').every((part) => Number.isInteger(Number(part)))) {
    throw new ConfigError(
      `CLOCK_OFFSETS must be comma-separated integers (ms), got "${text}"`,
      'CLOCK_OFFSETS',
    );
  }
  return text;
}

/** A clock that cycles through the offsets, one every `everyMs` (the first from the start). */
function jumpingClock(text: string | undefined, everyMs: number | undefined): Clock {
  if (text === undefined) return systemClock;
  const list = text.split(',').map(Number);
  const started = Date.now();
  const period = everyMs ?? 1_000;
  return { now: () => Date.now() + (list[Math.floor((Date.now() - started) / period) % list.length] ?? 0) };
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
    HANDLER_TIMEOUT_MS: optionalInteger(env, 'HANDLER_TIMEOUT_MS', 1),
    MAX_ATTEMPTS: optionalInteger(env, 'MAX_ATTEMPTS', 1),
    MAX_DELIVERIES: optionalInteger(env, 'MAX_DELIVERIES', 1),
    BACKOFF_BASE_MS: optionalInteger(env, 'BACKOFF_BASE_MS', 1),
    BACKOFF_MAX_MS: optionalInteger(env, 'BACKOFF_MAX_MS', 1),
    STATUS_MAPPING: env['STATUS_MAPPING'] === '1',
    POISON: env['POISON'] === '1',
    CLOCK_OFFSETS: offsets(env),
    CLOCK_JUMP_MS: optionalInteger(env, 'CLOCK_JUMP_MS', 1),
    RUN_AT: env['RUN_AT'] === '1',
  };
}

/** The runner settings the fault suite sets; only those given. */
function runnerSettings(config: WorkerEnv): Partial<RunnerSettings> {
  const settings: { -readonly [K in keyof RunnerSettings]?: RunnerSettings[K] } = {
    claimFloorMs: config.CLAIM_FLOOR_MS,
    heartbeatMs: config.HEARTBEAT_MS,
  };
  if (config.HANDLER_TIMEOUT_MS !== undefined) settings.handlerTimeoutMs = config.HANDLER_TIMEOUT_MS;
  if (config.MAX_ATTEMPTS !== undefined) settings.maxAttempts = config.MAX_ATTEMPTS;
  if (config.MAX_DELIVERIES !== undefined) settings.maxDeliveries = config.MAX_DELIVERIES;
  if (config.BACKOFF_BASE_MS !== undefined || config.BACKOFF_MAX_MS !== undefined) {
    const base = config.BACKOFF_BASE_MS ?? 2_000;
    settings.backoff = {
      baseMs: base,
      maxMs: Math.max(base, config.BACKOFF_MAX_MS ?? base * 8),
      floorRatio: 0.5,
    };
  }
  return settings;
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
  const clock = jumpingClock(config.CLOCK_OFFSETS, config.CLOCK_JUMP_MS);
  const runAt: RunAt<z.infer<typeof betOpened>> | undefined = config.RUN_AT
    ? {
        at: (event) => (event.data.tEnd === undefined ? undefined : Date.parse(event.data.tEnd)),
        timerId: (event) => event.data.betId,
      }
    : undefined;

  const runner = createJobRunner<z.infer<typeof betOpened>>(
    {
      name: config.JOB,
      domain: DOMAIN,
      types: ['bet.opened'],
      concurrency: config.CONCURRENCY,
      // the tests publish before the first worker starts
      startId: '0',
      ...(config.SHARED_LIMIT && { distributedRateLimit: { name: config.JOB, ...config.SHARED_LIMIT } }),
      ...(runAt && { runAt }),
      async handler(event, ctx) {
        if (config.POISON && event.data.betId.startsWith('poison-throw-')) {
          throw new Error(`poison event ${event.data.betId}`);
        }
        if (config.POISON && event.data.betId.startsWith('poison-crash-')) {
          process.kill(process.pid, 'SIGKILL');
          await new Promise<never>(() => undefined);
        }
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
        const text = await response.text();
        if (config.STATUS_MAPPING) {
          const mapped = mapResponse(
            {
              status: response.status,
              headers: Object.fromEntries(response.headers),
              body: undefined,
              excerpt: text.slice(0, 100),
              target: 'downstream POST /effects',
            },
            defaultStatusPolicy,
            Date.now(),
          );
          if (mapped.kind !== 'ack') return mapped;
        } else if (!response.ok) return outcome.retry(`downstream answered ${response.status}`);
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
      settings: runnerSettings(config),
      clock,
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
