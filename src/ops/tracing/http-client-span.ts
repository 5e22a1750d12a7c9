// The HTTP client span: wraps the internal-service sink so each call runs in a CLIENT span (child of the job's
// consumer span) whose traceparent is the one sent, and tags the job's span with seed 000's `targetService`.
// With tracing off the sink forwards the event's own traceparent, as it does unwrapped.
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import { errorMessage } from '../../errors.js';
import type { CallScope, HttpSink, ServiceRequest, SinkResult } from '../../sinks/http-sink.js';
import { ATTR, traceparentOf, workersTracer } from './trace-context.js';

export interface TraceHttpSinkOptions {
  readonly tracer?: Tracer;
}

/** What a finished call tells its span. */
interface CallEnd {
  readonly status: number | undefined;
  readonly outcome: string | undefined;
}

export function traceHttpSink(sink: HttpSink, options: TraceHttpSinkOptions = {}): HttpSink {
  async function inSpan<T>(
    request: ServiceRequest,
    scope: CallScope | undefined,
    run: (scope: CallScope) => Promise<T>,
    ended: (value: T) => CallEnd,
  ): Promise<T> {
    const method = request.method ?? 'POST';
    const parent = context.active();
    trace.getSpan(parent)?.setAttribute(ATTR.targetService, request.service);
    const span = (options.tracer ?? workersTracer()).startSpan(
      `${method} ${request.service}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR.httpMethod]: method,
          [ATTR.urlPath]: request.path.split('?')[0] ?? '',
          [ATTR.peerService]: request.service,
          [ATTR.targetService]: request.service,
        },
      },
      parent,
    );
    const spanContext = trace.setSpan(parent, span);
    const traceparent = traceparentOf(spanContext);
    const traced: CallScope =
      traceparent === undefined ? (scope ?? {}) : { ...scope, event: { traceparent } };
    try {
      const value = await context.with(spanContext, () => run(traced));
      finish(span, ended(value));
      return value;
    } catch (error) {
      const status = statusOfError(error);
      if (status !== undefined) span.setAttribute(ATTR.httpStatus, status);
      span.recordException(error instanceof Error ? error : String(error));
      span.setAttribute(ATTR.errorType, status === undefined ? errorName(error) : String(status));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
      throw error;
    } finally {
      span.end();
    }
  }

  async function call<T>(request: ServiceRequest<T>, scope?: CallScope): Promise<SinkResult<T>> {
    return inSpan(
      request,
      scope,
      (traced) => sink.call(request, traced),
      (result) => ({ status: result.status, outcome: result.outcome.kind }),
    );
  }

  return {
    call,
    // the sink's own outcomeOf is exactly this; going through call() keeps the status on the span
    async outcomeOf(request, scope) {
      return (await call(request, scope)).outcome;
    },
    // a failed fetchJson throws a ServiceCallError carrying the status; a successful one was a 2xx
    fetchJson(request, scope) {
      return inSpan(
        request,
        scope,
        (traced) => sink.fetchJson(request, traced),
        () => ({ status: undefined, outcome: 'ack' }),
      );
    },
  };
}

function finish(span: Span, end: CallEnd): void {
  if (end.status !== undefined) span.setAttribute(ATTR.httpStatus, end.status);
  if (end.outcome !== undefined) span.setAttribute(ATTR.outcome, end.outcome);
  if (end.status === undefined && end.outcome !== undefined && end.outcome !== 'ack') {
    span.setAttribute(ATTR.errorType, 'no_response');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'no response' });
  } else if (end.status !== undefined && end.status >= 400) {
    span.setAttribute(ATTR.errorType, String(end.status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

function statusOfError(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  return typeof error.status === 'number' ? error.status : undefined;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'thrown';
}
