// The producer side: a PRODUCER span per published event whose context goes into the envelope's `traceparent`, so
// the consumer spans of every group handling the event join its trace. With tracing off, events pass unchanged.
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Context, Span, Tracer } from '@opentelemetry/api';
import { errorMessage } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { Publisher, PublishResult } from '../../events/publisher.js';
import {
  ATTR,
  MESSAGING_SYSTEM,
  contextFromTraceparent,
  traceparentOf,
  workersTracer,
} from './trace-context.js';

export interface ProducerSpanOptions {
  readonly tracer?: Tracer;
  /** Parent of the span; default the active context, or the event's own traceparent when nothing is active. */
  readonly parent?: Context;
}

export interface ProducerSpan<TData> {
  readonly span: Span;
  /** The span's context, to run the publish in. */
  readonly context: Context;
  /** The event with the span's traceparent (the event itself when tracing is off). */
  readonly event: EventEnvelope<TData>;
}

/** Starts the span of one event about to be published; the caller ends it (publishTraced does all of it). */
export function startProducerSpan<TData>(
  event: EventEnvelope<TData>,
  options: ProducerSpanOptions = {},
): ProducerSpan<TData> {
  const active = options.parent ?? context.active();
  // an event that already carries a trace (an upstream producer's) continues it when nothing else is active
  const parent =
    trace.getSpanContext(active) === undefined ? contextFromTraceparent(event.traceparent, active) : active;
  const span = (options.tracer ?? workersTracer()).startSpan(
    `send ${event.type}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        [ATTR.messagingSystem]: MESSAGING_SYSTEM,
        [ATTR.operationType]: 'send',
        [ATTR.operationName]: 'publish',
        [ATTR.messageId]: event.id,
        [ATTR.eventType]: event.type,
      },
    },
    parent,
  );
  const spanContext = trace.setSpan(parent, span);
  return { span, context: spanContext, event: withTraceparent(event, spanContext) };
}

/** The event with the traceparent of the span in `ctx`; unchanged when `ctx` holds no valid span. */
export function withTraceparent<TEvent extends { readonly traceparent?: string | undefined }>(
  event: TEvent,
  ctx: Context = context.active(),
): TEvent {
  const traceparent = traceparentOf(ctx);
  return traceparent === undefined ? event : { ...event, traceparent };
}

/** Publishes one event inside its producer span, recording where it went (or why it was refused). */
export async function publishTraced<TData>(
  publisher: Pick<Publisher, 'publish'>,
  event: EventEnvelope<TData>,
  options: ProducerSpanOptions = {},
): Promise<PublishResult> {
  const producer = startProducerSpan(event, options);
  try {
    const result = await context.with(producer.context, () => publisher.publish(producer.event));
    producer.span.setAttributes({
      [ATTR.destinationName]: result.domain,
      [ATTR.destinationPartition]: String(result.partition),
      [ATTR.duplicate]: result.duplicate,
    });
    return result;
  } catch (error) {
    producer.span.recordException(error instanceof Error ? error : String(error));
    producer.span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    throw error;
  } finally {
    producer.span.end();
  }
}
