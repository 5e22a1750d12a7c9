// A job is declared as data: the streams it reads, its group, the event types it handles, its limits and
// retry policy, and its handler; the job runner builds the pipeline from this.
import { z } from 'zod';
import type { EventEnvelope } from '../events/envelope.js';
import { ValidationError } from '../errors.js';
import type { Outcome } from '../streams/outcome.js';
import { deferOptionsSchema, type DeferPolicy } from './deferral.js';

export interface JobContext {
  /** Aborted on handler timeout or forced shutdown. */
  readonly signal: AbortSignal;
  readonly job: string;
  readonly entryId: string;
  /** 1 for the first attempt, failures + 1 after retries. */
  readonly attempt: number;
  readonly failures: number;
  readonly partition: number;
}

export type JobHandler<TData = unknown> = (event: EventEnvelope<TData>, ctx: JobContext) => Promise<Outcome>;

const positiveMs = z.number().int().min(1);

export const retryPolicySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).optional().describe('failures before the DLQ'),
  backoff: z
    .strictObject({
      baseMs: positiveMs.describe("the first failure's delay ceiling"),
      maxMs: positiveMs.describe('no delay exceeds this'),
      floorRatio: z.number().min(0).max(1).describe('share of the ceiling always waited'),
    })
    .partial()
    .optional()
    .describe('exponential backoff with full jitter above a floor; unset fields take the worker defaults'),
});

export const rateLimitSchema = z.strictObject({
  perSecond: z.number().positive().describe('sustained handler starts per second, per consumer'),
  burst: z.number().int().min(1).describe('handler starts allowed at once after an idle spell'),
});

export const circuitBreakerSchema = z.strictObject({
  failures: z.number().int().min(1).describe('transient failures within windowMs that open the circuit'),
  windowMs: positiveMs.describe('window in which failures are counted'),
  openMs: positiveMs.describe('time open (nothing pulled) before one probe is let through'),
});

export const distributedRateLimitSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .describe('limit shared by every consumer using this name: a provider or provider.endpoint'),
  perSecond: z.number().positive().describe('sustained entries per second across all consumers'),
  burst: z.number().int().min(1).describe('entries allowed at once after an idle spell'),
});

/** Handle each event at a time of its own (a bet's T_end, an escrow's expiresAt) through the timer wheel. */
export interface RunAt<TData = unknown> {
  /** When to handle the event (ms since epoch); undefined or past: now. */
  readonly at: (event: EventEnvelope<TData>) => number | undefined;
  /** The entity the timer is for (a bet id): timer `<job>:<id>`, so a cancel or a new time finds it. */
  readonly timerId: (event: EventEnvelope<TData>) => string;
  /** A higher version moves a pending timer (e.g. a new T_end); default 0. */
  readonly version?: (event: EventEnvelope<TData>) => number;
  /** Event types (among the job's types) that cancel the entity's timer instead of being handled. */
  readonly cancelOn?: readonly string[];
}

export const jobOptionsSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .describe('consumer group name, e.g. cfb.settle'),
    domain: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .describe('domain whose partition streams the job reads'),
    types: z.array(z.string().min(1)).min(1).describe('event types handled; others are acked and skipped'),
    concurrency: z.number().int().min(1).max(1000).default(16).describe('handlers in flight per consumer'),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('failures before the DLQ (MAX_ATTEMPTS_DEFAULT); same as retry.maxAttempts'),
    retry: retryPolicySchema.optional().describe('retry policy; unset fields take the worker defaults'),
    rateLimit: rateLimitSchema.optional().describe('local token bucket per consumer; none when absent'),
    distributedRateLimit: distributedRateLimitSchema
      .optional()
      .describe('token bucket in Redis shared by every consumer; tokens are taken before entries are read'),
    circuitBreaker: circuitBreakerSchema.optional().describe('per-job circuit breaker; off when absent'),
    maxDeliveries: z.number().int().min(2).optional().describe('crash-loop guard on Redis delivery count'),
    timeoutMs: z.number().int().min(1).optional().describe('per-attempt handler timeout'),
    startId: z.string().optional().describe('where a new group starts: $ (default), 0 or an id'),
    defer: deferOptionsSchema
      .optional()
      .describe('defer/repeat: interval, run limit, jitter (deadline and timeout action beside the handler)'),
  })
  .refine((job) => job.maxAttempts === undefined || job.retry?.maxAttempts === undefined, {
    message: 'set maxAttempts or retry.maxAttempts, not both',
    path: ['maxAttempts'],
  });

export type JobOptions = z.input<typeof jobOptionsSchema>;

export interface JobDefinition<TData = unknown> extends Omit<JobOptions, 'defer'> {
  readonly handler: JobHandler<TData>;
  /** Defer and repeat: re-emission interval, limit, jitter, the deadline and the timeout action. */
  readonly defer?: DeferPolicy<TData>;
  /** Handle events at their own time (timer per entity), cancelled by other event types. */
  readonly runAt?: RunAt<TData>;
  /** Keyed concurrency key; defaults to the event's partition key. */
  readonly keyOf?: (event: EventEnvelope<TData>) => string;
}

export function validateJob<TData>(job: JobDefinition<TData>): z.output<typeof jobOptionsSchema> {
  const { handler, keyOf, defer, runAt, ...options } = job;
  if (typeof handler !== 'function')
    throw new ValidationError(`job "${options.name}": handler must be a function`);
  if (keyOf !== undefined && typeof keyOf !== 'function') {
    throw new ValidationError(`job "${options.name}": keyOf must be a function`);
  }
  const { deadline, onTimeout, ...deferOptions } = defer ?? {};
  for (const [name, fn] of Object.entries({ deadline, onTimeout })) {
    if (fn !== undefined && typeof fn !== 'function') {
      throw new ValidationError(`job "${options.name}": defer.${name} must be a function`);
    }
  }
  checkRunAt(options.name, options.types, runAt);
  const parsed = jobOptionsSchema.safeParse(
    defer === undefined ? options : { ...options, defer: deferOptions },
  );
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ValidationError(
      `job "${options.name}" is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  return parsed.data;
}

function checkRunAt(name: string, types: readonly string[], runAt: RunAt<never> | undefined): void {
  if (runAt === undefined) return;
  for (const fn of ['at', 'timerId'] as const) {
    if (typeof runAt[fn] !== 'function')
      throw new ValidationError(`job "${name}": runAt.${fn} must be a function`);
  }
  if (runAt.version !== undefined && typeof runAt.version !== 'function') {
    throw new ValidationError(`job "${name}": runAt.version must be a function`);
  }
  const foreign = (runAt.cancelOn ?? []).filter((type) => !types.includes(type));
  if (foreign.length > 0) {
    throw new ValidationError(
      `job "${name}": runAt.cancelOn names ${foreign.join(', ')}, which the job does not handle (expected some of ${types.join(', ')})`,
    );
  }
}
