// A timer mover run as a real child process by the crash tests (killed with SIGKILL, stopped with SIGTERM): one
// createTimerMover over the partitions of one domain. Configured by env; reports JSON lines on stdout.
import { Redis } from 'ioredis';
import { ConfigError, errorMessage } from '../../src/errors.js';
import { createTimerMover } from '../../src/scheduler/timer-mover.js';
import { createKeyBuilder } from '../../src/streams/keys.js';

/** The env variables the crash tests set. */
export interface MoverEnv {
  readonly REDIS_URL: string;
  readonly KEY_PREFIX: string;
  readonly DOMAIN: string;
  readonly PARTITIONS: number;
  readonly BATCH: number;
  readonly MAX_POLL_MS: number;
}

type Env = Record<string, string | undefined>;

function required(env: Env, variable: string): string {
  const value = env[variable];
  if (value === undefined || value === '')
    throw new ConfigError(`${variable} is required by the mover process`, variable);
  return value;
}

function integer(env: Env, variable: string, fallback: number): number {
  const text = env[variable];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${variable} must be a positive integer, got "${text}"`, variable);
  }
  return value;
}

function readMoverEnv(env: Env): MoverEnv {
  return {
    REDIS_URL: required(env, 'REDIS_URL'),
    KEY_PREFIX: required(env, 'KEY_PREFIX'),
    DOMAIN: required(env, 'DOMAIN'),
    PARTITIONS: integer(env, 'PARTITIONS', 4),
    BATCH: integer(env, 'BATCH', 500),
    MAX_POLL_MS: integer(env, 'MAX_POLL_MS', 1_000),
  };
}

function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const config = readMoverEnv(process.env);
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  redis.on('error', (error: Error) => report({ redisError: error.message }));
  const keys = createKeyBuilder({ prefix: config.KEY_PREFIX });
  const partitions = Array.from({ length: config.PARTITIONS }, (_, i) => keys.partition(config.DOMAIN, i));
  const mover = createTimerMover({
    redis,
    keys,
    partitions,
    batch: config.BATCH,
    maxPollMs: config.MAX_POLL_MS,
  });
  mover.on('moved', ({ partition, count }) => report({ moved: { partition: partition.index, count } }));
  mover.on('error', ({ error }) => report({ error: errorMessage(error) }));

  process.once('SIGTERM', () => {
    void mover
      .stop()
      .then(async () => {
        report({ stopped: true });
        await redis.quit();
        process.exit(0);
      })
      .catch((error: unknown) => fail(error));
  });
  // the parent test process went away: never outlive it
  process.once('disconnect', () => process.exit(1));

  await mover.start();
  report({ ready: true, pid: process.pid });
}

function fail(error: unknown): never {
  process.stderr.write(
    `mover-process failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(2);
}

main().catch(fail);
