// A job is declared as data: the streams it reads, its group, the event types it handles, its limits and
// retry policy, and its handler; the job runner builds the pipeline from this.
import { z } from 'zod';
import type { EventEnvelope } from '../events/envelope.js';
import { ValidationError } from '../errors.js';
import type { Outcome } from '../streams/outcome.js';

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

export const jobOptionsSchema = z.strictObject({
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
  maxAttempts: z.number().int().min(1).optional().describe('failures before the DLQ (MAX_ATTEMPTS_DEFAULT)'),
  maxDeliveries: z.number().int().min(2).optional().describe('crash-loop guard on Redis delivery count'),
  timeoutMs: z.number().int().min(1).optional().describe('per-attempt handler timeout'),
  startId: z.string().optional().describe('where a new group starts: $ (default), 0 or an id'),
});

export type JobOptions = z.input<typeof jobOptionsSchema>;

export interface JobDefinition<TData = unknown> extends JobOptions {
  readonly handler: JobHandler<TData>;
  /** Keyed concurrency key; defaults to the event's partition key. */
  readonly keyOf?: (event: EventEnvelope<TData>) => string;
}

export function validateJob<TData>(job: JobDefinition<TData>): z.output<typeof jobOptionsSchema> {
  const { handler, keyOf, ...options } = job;
  if (typeof handler !== 'function')
    throw new ValidationError(`job "${options.name}": handler must be a function`);
  if (keyOf !== undefined && typeof keyOf !== 'function') {
    throw new ValidationError(`job "${options.name}": keyOf must be a function`);
  }
  const parsed = jobOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ValidationError(
      `job "${options.name}" is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  return parsed.data;
}
