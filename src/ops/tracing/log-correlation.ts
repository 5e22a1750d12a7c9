// Log correlation: the job attempt a line is written in (requestId = the event id, job, entry, attempt) and the
// active span's trace ids, added to every pino line through the logger's `mixin`. Works with tracing off too.
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';

export interface RequestScope {
  /** The event id: the identity of the fact, the same across retries and in the downstream's logs. */
  readonly requestId: string;
  readonly job: string;
  readonly entryId: string;
  readonly attempt: number;
  /** The producer's trace id from the event's traceparent: logged even while tracing is off. */
  readonly traceId?: string;
}

const requests = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` with `scope` as the current request of every line logged inside it (across awaits). */
export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return requests.run(scope, fn);
}

export function currentRequestScope(): RequestScope | undefined {
  return requests.getStore();
}

/**
 * pino `mixin`: the request scope, and `trace_id`/`span_id`/`trace_flags` of the active span (or only the producer's
 * `trace_id` while tracing is off), when there are.
 */
export function logCorrelationMixin(): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const scope = requests.getStore();
  if (scope !== undefined) {
    const { traceId, ...request } = scope;
    Object.assign(fields, request);
    if (traceId !== undefined) fields['trace_id'] = traceId;
  }
  const span = trace.getSpanContext(context.active());
  if (span !== undefined && isSpanContextValid(span)) {
    fields['trace_id'] = span.traceId;
    fields['span_id'] = span.spanId;
    fields['trace_flags'] = `0${span.traceFlags.toString(16)}`.slice(-2);
  }
  return fields;
}
