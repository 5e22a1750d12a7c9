// The distributed rate limit on a real redis-server: burst at once then the rate, partial grants, waits reported
// as events (never errors), aborts, expiry of idle buckets, and 3 real processes sharing one 50/s limit.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptError, ValidationError } from '../../src/errors.js';
import {
  createDistributedRateLimiter,
  type DistributedRateLimiter,
  type RateLimitWait,
} from '../../src/pipelines/distributed-rate-limit.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { runScript } from '../../src/streams/scripts.js';
import { startArrivalServer } from '../support/arrival-server.js';
import { testPrefix } from '../support/prefix.js';
import type { RateLimitedEnv } from '../support/rate-limited-process.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const CHILD_PATH = fileURLToPath(new URL('../support/rate-limited-process.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

const env = useRedisPerFile();
const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
let limitCount = 0;

/** A limiter on a bucket no other test uses. */
function limiter(perSecond: number, burst: number): DistributedRateLimiter {
  limitCount += 1;
  return createDistributedRateLimiter({
    redis: env.redis,
    keys,
    name: `provider.endpoint-${limitCount}`,
    perSecond,
    burst,
  });
}

/** Redis TIME in ms: the clock the bucket runs on. */
async function redisNow(): Promise<number> {
  const [seconds, micros] = await env.redis.time();
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

function recordWaits(target: DistributedRateLimiter): RateLimitWait[] {
  const waits: RateLimitWait[] = [];
  target.on('wait', (wait) => waits.push(wait));
  return waits;
}

describe('distributed rate limiter', () => {
  it('grants the burst at once, then no more than the rate, reporting waits as events', async () => {
    const bucket = limiter(50, 10);
    const waits = recordWaits(bucket);
    const start = await redisNow();

    expect(await bucket.take(10)).toBe(10);
    expect(waits).toEqual([]);

    let granted = 10;
    for (let i = 0; i < 10; i++) granted += await bucket.take(1);
    const end = await redisNow();

    expect(granted).toBe(20);
    // the token bucket's promise: in any span t, at most rate x t + burst
    expect(granted).toBeLessThanOrEqual((50 * (end - start)) / 1000 + 10);
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) {
      expect(wait).toMatchObject({ name: bucket.name, granted: 1 });
      expect(wait.sleeps).toBeGreaterThanOrEqual(1);
      expect(wait.waitedMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('grants between 1 and n tokens: what the bucket holds, at most n and at most burst', async () => {
    // 0.5/s: no whole token refills during the test
    const bucket = limiter(0.5, 5);
    expect(await bucket.take(3)).toBe(3);
    expect(await bucket.take(5)).toBe(2);

    const fresh = limiter(0.5, 4);
    expect(await fresh.take(100)).toBe(4);
  });

  it('is one bucket for every limiter of the same name; an empty bucket answers the wait until the next token', async () => {
    const first = limiter(0.5, 3);
    const otherClient = env.redis.duplicate();
    const second = createDistributedRateLimiter({
      redis: otherClient,
      keys,
      name: first.name,
      perSecond: 0.5,
      burst: 3,
    });
    expect(await first.take(3)).toBe(3);

    const [granted, waitMs] = (await runScript(
      env.redis,
      'rateLimit',
      [keys.rateLimit(first.name)],
      [0.5, 3, 1],
    )) as [number, number];
    expect(granted).toBe(0);
    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(2_000);

    const controller = new AbortController();
    const waits = recordWaits(second);
    const waiting = second.take(1, controller.signal);
    // an abort before or during the ~2 s sleep rejects the same way; the pause only picks the during-sleep path
    await delay(100);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(waits).toEqual([expect.objectContaining({ name: first.name, granted: 0, sleeps: 1 })]);
    otherClient.disconnect();
  });

  it('takes nothing for an already aborted signal', async () => {
    const bucket = limiter(0.5, 2);
    expect(await bucket.take(1)).toBe(1);
    const key = keys.rateLimit(bucket.name);
    const before = await env.redis.hgetall(key);
    const reason = new Error('stopped before reading');
    await expect(bucket.take(1, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(await env.redis.hgetall(key)).toEqual(before);
  });

  it('lets an idle bucket expire once it would be full again', async () => {
    const bucket = limiter(10, 5);
    expect(await bucket.take(5)).toBe(5);
    const pttl = await env.redis.pttl(keys.rateLimit(bucket.name));
    // refill time 5 / 10 per s = 500 ms, plus the 1 s margin
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1_500);
  });

  it('refuses bad options, bad n and malformed script arguments before any write', async () => {
    const make = (perSecond: number, burst: number, name = 'provider'): unknown =>
      createDistributedRateLimiter({ redis: env.redis, keys, name, perSecond, burst });
    expect(() => make(0, 10)).toThrow(ValidationError);
    expect(() => make(Number.NaN, 10)).toThrow(ValidationError);
    expect(() => make(10, 1.5)).toThrow(ValidationError);
    expect(() => make(10, 0)).toThrow(ValidationError);
    expect(() => make(10, 10, '{bad}')).toThrow(ValidationError);

    const bucket = limiter(10, 10);
    await expect(bucket.take(0)).rejects.toThrow(ValidationError);
    await expect(bucket.take(1.5)).rejects.toThrow(ValidationError);

    const key = keys.rateLimit('malformed');
    for (const args of [
      ['x', 10, 1],
      [0, 10, 1],
      [10, 0, 1],
      [10, 2.5, 1],
      [10, 10, 0],
      [10, 10, 'inf'],
    ]) {
      await expect(runScript(env.redis, 'rateLimit', [key], args)).rejects.toThrow(ScriptError);
    }
    expect(await env.redis.exists(key)).toBe(0);
  });
});

interface ChildLine {
  readonly ready?: boolean;
  readonly done?: { sent: number; waits: number };
}

interface RateLimitedChild {
  readonly child: ChildProcess;
  readonly lines: ChildLine[];
  readonly exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
afterEach(async () => {
  await Promise.all(
    [...live].map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) {
        const exit = once(child, 'exit');
        child.kill('SIGKILL');
        await exit;
      }
    }),
  );
});

async function startChild(settings: RateLimitedEnv): Promise<RateLimitedChild> {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) childEnv[name] = String(value);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_PATH], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...childEnv },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const lines: ChildLine[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    if (text.startsWith('{')) lines.push(JSON.parse(text) as ChildLine);
  });
  await Promise.race([
    waitFor(() => lines.some((line) => line.ready), 'a ready child', READY_TIMEOUT_MS),
    exited.then((code) => {
      throw new Error(`child exited before it was ready (${code}):\n${stderr}`);
    }),
  ]);
  return { child, lines, exited };
}

describe('3 consumer processes sharing one limit', () => {
  it('send at most rate x t + burst requests in a 5 s window', async () => {
    const perSecond = 50;
    const burst = 10;
    const server = await startArrivalServer();
    try {
      const settings: RateLimitedEnv = {
        REDIS_URL: env.server.url,
        KEY_PREFIX: keys.prefix,
        LIMIT_NAME: 'mock-provider.calls',
        PER_SECOND: perSecond,
        BURST: burst,
        TARGET_URL: server.url,
        MAX_REQUESTS: 1_000,
      };
      const children = await Promise.all([startChild(settings), startChild(settings), startChild(settings)]);

      // the bucket is created by the first take, after "go": every token taken is inside the window
      const windowStart = Date.now();
      for (const { child } of children) child.send('go');
      // the measurement window itself, not a settle delay
      await delay(5_000);
      const windowEnd = Date.now();
      for (const { child } of children) child.kill('SIGTERM');
      const codes = await Promise.all(children.map((c) => c.exited));

      expect(codes).toEqual([0, 0, 0]);
      const counted = server.arrivals.filter((at) => at <= windowEnd);
      expect(counted.every((at) => at >= windowStart)).toBe(true);
      // + 1 ms: arrival times are whole ms, so an arrival stamped windowEnd happened before windowEnd + 1
      const t = (windowEnd - windowStart + 1) / 1000;
      expect(counted.length).toBeGreaterThan(0);
      expect(counted.length).toBeLessThanOrEqual(perSecond * t + burst);
      const sent = children.map((c) => c.lines.find((line) => line.done)?.done?.sent ?? 0);
      expect(sent.reduce((a, b) => a + b, 0)).toBe(server.arrivals.length);
    } finally {
      await server.close();
    }
  }, 40_000);
});
