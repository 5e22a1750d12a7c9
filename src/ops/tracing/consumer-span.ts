// The consumer span of a job attempt: one CONSUMER span per handler call, a child of the producer's span carried
// in the envelope's `traceparent` (so both share a trace) and linked to it (messaging conventions), tagged with
// seed 000's `queue` and `jobType`. The handler runs inside it and inside its log request scope.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Link, Span, Tracer } from '@opentelemetry/api';
import { errorMessage } from '../../errors.js';
import type { JobDefinition, JobHandler } from '../../pipelines/job-definition.js';
import { isOutcome } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import { runInRequestScope } from './log-correlation.js';
import { ATTR, MESSAGING_SYSTEM, contextFromTraceparent, workersTracer } from './trace-context.js';

export interface TraceJobOptions {
  /** Default: the global tracer provider's `fuze-workers` tracer (a no-op one while tracing is off). */
  readonly tracer?: Tracer;
}

/** The same job with each handler call traced and log-scoped; apply before createJobRunner. */
export function traceJob<TData>(
  job: JobDefinition<TData>,
  options: TraceJobOptions = {},
): JobDefinition<TData> {
  const inner = job.handler;
  const handler: JobHandler<TData> = (event, ctx) => {
    const tracer = options.tracer ?? workersTracer();
    const parent = contextFromTraceparent(event.traceparent, ROOT_CONTEXT);
    const producer = trace.getSpanContext(parent);
    const links: Link[] = producer === undefined ? [] : [{ context: producer }];
    const span = tracer.startSpan(
      `process ${job.domain}`,
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          [ATTR.messagingSystem]: MESSAGING_SYSTEM,
          [ATTR.operationType]: 'process',
          [ATTR.operationName]: 'process',
          [ATTR.destinationName]: job.domain,
          [ATTR.destinationPartition]: String(ctx.partition),
          [ATTR.consumerGroup]: job.name,
          [ATTR.messageId]: event.id,
          [ATTR.queue]: job.domain,
          [ATTR.jobType]: job.name,
          [ATTR.eventType]: event.type,
          [ATTR.entryId]: ctx.entryId,
          [ATTR.attempt]: ctx.attempt,
        },
      },
      parent,
    );
    const scope = {
      requestId: event.id,
      job: job.name,
      entryId: ctx.entryId,
      attempt: ctx.attempt,
      ...(producer === undefined ? {} : { traceId: producer.traceId }),
    };
    return runInRequestScope(scope, () =>
      context.with(trace.setSpan(parent, span), async () => {
        try {
          const returned = await inner(event, ctx);
          endWith(span, returned);
          return returned;
        } catch (error) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setAttribute(ATTR.errorType, error instanceof Error ? error.name : 'thrown');
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
          throw error;
        } finally {
          span.end();
        }
      }),
    );
  };
  return { ...job, handler };
}

/** A retry or a dead letter is a failed attempt; ack and defer are not. */
function endWith(span: Span, returned: Outcome): void {
  if (!isOutcome(returned)) return;
  span.setAttribute(ATTR.outcome, returned.kind);
  if (returned.kind === 'retry' || returned.kind === 'dead') {
    span.setAttribute(ATTR.errorType, returned.kind);
    span.setStatus({ code: SpanStatusCode.ERROR, message: returned.reason });
  }
}
