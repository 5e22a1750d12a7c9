// A consumer run as a real child process by the distributed rate limit test: waits for "go" over IPC, then loops
// take(1) from the shared limiter and POSTs to a counting server. Configured by env; reports JSON lines on stdout.
import { Redis } from 'ioredis';
import { ConfigError, errorMessage } from '../../src/errors.js';
import { createDistributedRateLimiter } from '../../src/pipelines/distributed-rate-limit.js';
import { createKeyBuilder } from '../../src/streams/keys.js';

/** The env variables the test sets. */
export interface RateLimitedEnv {
  readonly REDIS_URL: string;
  readonly KEY_PREFIX: string;
  readonly LIMIT_NAME: string;
  readonly PER_SECOND: number;
  readonly BURST: number;
  readonly TARGET_URL: string;
  /** Stops by itself after this many requests, so a broken limiter cannot flood the test. */
  readonly MAX_REQUESTS: number;
}

type Env = Record<string, string | undefined>;

function required(env: Env, variable: string): string {
  const value = env[variable];
  if (value === undefined || value === '')
    throw new ConfigError(`${variable} is required by the rate-limited process`, variable);
  return value;
}

function positive(env: Env, variable: string): number {
  const value = Number(required(env, variable));
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${variable} must be > 0`, variable);
  return value;
}

function readEnv(env: Env): RateLimitedEnv {
  return {
    REDIS_URL: required(env, 'REDIS_URL'),
    KEY_PREFIX: required(env, 'KEY_PREFIX'),
    LIMIT_NAME: required(env, 'LIMIT_NAME'),
    PER_SECOND: positive(env, 'PER_SECOND'),
    BURST: positive(env, 'BURST'),
    TARGET_URL: required(env, 'TARGET_URL'),
    MAX_REQUESTS: positive(env, 'MAX_REQUESTS'),
  };
}

function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const config = readEnv(process.env);
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  redis.on('error', (error: Error) => report({ redisError: error.message }));
  const limiter = createDistributedRateLimiter({
    redis,
    keys: createKeyBuilder({ prefix: config.KEY_PREFIX }),
    name: config.LIMIT_NAME,
    perSecond: config.PER_SECOND,
    burst: config.BURST,
  });
  let waits = 0;
  limiter.on('wait', () => (waits += 1));
  const stop = new AbortController();
  let sent = 0;

  const finish = async (): Promise<void> => {
    report({ done: { sent, waits } });
    await redis.quit();
    process.exit(0);
  };
  process.once('SIGTERM', () => stop.abort(new Error('SIGTERM')));
  // the parent test process went away: never outlive it
  process.once('disconnect', () => process.exit(1));
  const go = new Promise<void>((resolve) =>
    process.on('message', (message) => {
      if (message === 'go') resolve();
    }),
  );

  await redis.ping();
  // warm up (HTTP client loading, first connection) before the window opens; the server counts POSTs only
  await (await fetch(config.TARGET_URL, { method: 'GET' })).text();
  report({ ready: true });
  await go;
  while (!stop.signal.aborted && sent < config.MAX_REQUESTS) {
    try {
      // the token is taken before the work, as the job runner takes tokens before reading entries
      await limiter.take(1, stop.signal);
    } catch (error) {
      if (stop.signal.aborted) break;
      throw error;
    }
    const response = await fetch(config.TARGET_URL, { method: 'POST', body: String(process.pid) });
    await response.text();
    sent += 1;
  }
  await finish();
}

main().catch((error: unknown) => {
  process.stderr.write(`rate-limited-process failed: ${errorMessage(error)}\n`);
  process.exit(2);
});
