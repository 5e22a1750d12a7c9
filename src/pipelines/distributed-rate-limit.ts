// A rate limit shared by every consumer of a group (per provider or provider.endpoint): one token bucket in Redis,
// taken through one script timed by Redis TIME. Waiting for tokens is normal flow control, reported as an event.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { describeIssues, zodIssues } from '../events/envelope.js';
import { ScriptError, ValidationError } from '../errors.js';
import type { KeyBuilder } from '../streams/keys.js';
import { runScript } from '../streams/scripts.js';
import type { RedisClient } from '../streams/scripts.js';

export const rateLimitOptionsSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .describe('bucket name shared by every consumer: a provider or provider.endpoint, e.g. coingecko.prices'),
  perSecond: z
    .number()
    .min(0.000001)
    .max(1_000_000)
    .describe('tokens added per second (fractions allowed, e.g. 0.5 = one every 2 s)'),
  burst: z.number().int().min(1).max(1_000_000).describe('bucket capacity: tokens that may be taken at once'),
});

export type RateLimitOptions = z.input<typeof rateLimitOptionsSchema>;

export interface DistributedRateLimiterDeps extends RateLimitOptions {
  redis: RedisClient;
  keys: KeyBuilder;
  /** Measures how long a take waited (for the wait metric only; the bucket itself runs on Redis TIME). */
  clock?: Clock;
}

/** One take() that had to wait for tokens: a metric, never an error. */
export interface RateLimitWait {
  readonly name: string;
  /** Time from the call to the grant (or to the abort), by the limiter's clock. */
  readonly waitedMs: number;
  /** How many times the take slept for the bucket's announced wait. */
  readonly sleeps: number;
  /** Tokens finally granted; 0 when the wait was aborted. */
  readonly granted: number;
}

export interface RateLimiterEvents {
  wait: [RateLimitWait];
}

export interface DistributedRateLimiter extends EventEmitter<RateLimiterEvents> {
  readonly name: string;
  readonly perSecond: number;
  readonly burst: number;
  /**
   * Takes between 1 and n tokens (as many as the bucket holds, at most n and at most burst), sleeping for the
   * bucket's announced wait while it is empty. Rejects with the signal's reason when aborted while waiting; tokens
   * already granted are returned even if the signal aborts meanwhile.
   *
   * Taken tokens are spent: a caller that takes `free` tokens before reading and then reads fewer entries does not
   * give the rest back. That is the conservative side (fewer requests than the limit allows, never more); a refund
   * would race with other consumers and could exceed the limit.
   */
  take(n?: number, signal?: AbortSignal): Promise<number>;
}

export function createDistributedRateLimiter(deps: DistributedRateLimiterDeps): DistributedRateLimiter {
  const { redis, keys, clock = systemClock, ...rest } = deps;
  const parsed = rateLimitOptionsSchema.safeParse(rest);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    throw new ValidationError(`rate limit "${rest.name}" is invalid: ${describeIssues(issues)}`, issues);
  }
  const { name, perSecond, burst } = parsed.data;
  const key = keys.rateLimit(name);
  const emitter = new EventEmitter<RateLimiterEvents>();

  async function takeOnce(n: number): Promise<{ granted: number; waitMs: number }> {
    const reply = await runScript(redis, 'rateLimit', [key], [perSecond, burst, n]);
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
      throw new ScriptError('rateLimit', 0, `unexpected reply ${JSON.stringify(reply)}`);
    }
    return { granted: reply[0], waitMs: reply[1] };
  }

  async function take(n = 1, signal?: AbortSignal): Promise<number> {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new ValidationError(`rate limit "${name}": take(n) needs an integer n >= 1, got ${n}`);
    }
    signal?.throwIfAborted();
    const started = clock.now();
    let sleeps = 0;
    let granted = 0;
    try {
      for (;;) {
        const answer = await takeOnce(n);
        if (answer.granted > 0) {
          granted = answer.granted;
          return granted;
        }
        sleeps += 1;
        // at least 1 ms, so a bucket answering 0 (rounding) never turns this into a busy loop
        await sleep(Math.max(1, answer.waitMs), undefined, signal ? { signal } : {}).catch(
          (error: unknown) => {
            signal?.throwIfAborted();
            throw error;
          },
        );
      }
    } finally {
      if (sleeps > 0) emitter.emit('wait', { name, waitedMs: clock.now() - started, sleeps, granted });
    }
  }

  return Object.assign(emitter, { name, perSecond, burst, take });
}
