// Defer and repeat as policy (DESIGN.md §6): when a `defer` outcome re-emits the event through the timer wheel,
// at what time and version, and when the job's timeout action runs instead (deadline passed, run limit reached).
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import type { EventEnvelope } from '../events/envelope.js';
import type { Outcome } from '../streams/outcome.js';

export const deferOptionsSchema = z.strictObject({
  everyMs: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('repeat interval: where a `defer` outcome names no time, the event runs again after this'),
  limit: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('most runs of one event, the first included; the timeout action runs instead of the next one'),
  jitterMs: z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(0)
    .describe('each re-emission is due up to this much later, spreading retries of many events'),
});

export type DeferCause = 'deadline' | 'limit';

/** What a job declares about defer and repeat, beside its handler. */
export interface DeferPolicy<TData = unknown> extends z.input<typeof deferOptionsSchema> {
  /** The event's deadline (ms since epoch), e.g. the end of a settlement window; undefined = none. */
  readonly deadline?: (event: EventEnvelope<TData>) => number | undefined;
  /** Runs once the deadline has passed or the limit is reached (e.g. CFB `push`); default: to the DLQ. */
  readonly onTimeout?: (
    event: EventEnvelope<TData>,
    cause: DeferCause,
    signal: AbortSignal,
  ) => Promise<Outcome>;
}

export interface Reemission {
  readonly id: string;
  readonly dueMs: number;
  /** The run number the re-emission carries; a newer defer of the same event has a higher version. */
  readonly version: number;
  readonly event: EventEnvelope;
}

/** The deterministic timer id of a group's re-emission of one event. */
export function deferTimerId(group: string, eventId: string): string {
  return `defer:${group}:${eventId}`;
}

/**
 * Before the handler runs: past its deadline, or beyond the run limit, an event goes to the timeout action
 * instead. `now` should be at least the entry id's time (Redis time), so a re-emission due at the deadline is
 * judged past it whatever the worker clock says.
 */
export function timeoutBeforeRun<TData>(
  policy: DeferPolicy<TData> | undefined,
  event: EventEnvelope<TData>,
  now: number,
): DeferCause | undefined {
  if (policy === undefined) return undefined;
  if (policy.limit !== undefined && (event.repetition ?? 0) + 1 > policy.limit) return 'limit';
  const deadline = policy.deadline?.(event);
  return deadline !== undefined && now >= deadline ? 'deadline' : undefined;
}

/**
 * After the handler answered `defer`: re-emit at `until` (or now + everyMs) plus jitter, never past the deadline.
 * When this run was the last the limit allows, the re-emission is due now and that next run is the timeout
 * action, so the action runs like any attempt (timeout, retries, same Idempotency-Key on every retry).
 */
export function decideDefer<TData>(input: {
  readonly policy: DeferPolicy<TData> | undefined;
  readonly group: string;
  readonly event: EventEnvelope<TData>;
  readonly until: number | undefined;
  readonly now: number;
  readonly random: () => number;
}): Reemission {
  const { policy, group, event, now } = input;
  const run = (event.repetition ?? 0) + 1;
  const last = policy?.limit !== undefined && run >= policy.limit;
  const base = input.until ?? (policy?.everyMs === undefined ? undefined : now + policy.everyMs);
  if (!last && (base === undefined || !Number.isFinite(base))) {
    throw new ValidationError(
      `job "${group}": a defer without a time needs the job's defer.everyMs (repeat interval)`,
    );
  }
  const jitter = Math.floor(input.random() * ((policy?.jitterMs ?? 0) + 1));
  const deadline = policy?.deadline?.(event);
  const wanted = last || base === undefined ? now : base + jitter;
  const dueMs = deadline === undefined ? wanted : Math.min(wanted, deadline);
  return {
    id: deferTimerId(group, event.id),
    dueMs: Math.max(now, Math.round(dueMs)),
    version: run,
    event: { ...(event as EventEnvelope), targetGroup: group, repetition: run },
  };
}
