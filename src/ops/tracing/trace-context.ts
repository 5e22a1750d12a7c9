// The W3C trace context carried in an envelope's `traceparent`, and the attribute names the spans use: OpenTelemetry
// messaging and HTTP semantic conventions, plus seed 000's tags `queue`, `jobType` and `targetService`.
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/** Instrumentation scope of every span this project starts. */
export const TRACER_NAME = 'fuze-workers';

/** `messaging.system`: not one of the well-known values, so the broker's own name. */
export const MESSAGING_SYSTEM = 'redis';

export const ATTR = {
  messagingSystem: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destinationName: 'messaging.destination.name',
  destinationPartition: 'messaging.destination.partition.id',
  consumerGroup: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  httpMethod: 'http.request.method',
  httpStatus: 'http.response.status_code',
  urlPath: 'url.path',
  peerService: 'peer.service',
  errorType: 'error.type',
  /** Seed 000: the queue (domain), the job type and the internal service a job calls. */
  queue: 'queue',
  jobType: 'jobType',
  targetService: 'targetService',
  eventType: 'fuze.event.type',
  entryId: 'fuze.entry.id',
  attempt: 'fuze.attempt',
  outcome: 'fuze.outcome',
  duplicate: 'fuze.duplicate',
} as const;

const propagator = new W3CTraceContextPropagator();
type Carrier = Record<string, string>;
const setter = { set: (carrier: Carrier, key: string, value: string) => (carrier[key] = value) };
const getter = {
  get: (carrier: Carrier, key: string) => carrier[key],
  keys: (carrier: Carrier) => Object.keys(carrier),
};

export function workersTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** The traceparent of the span in `ctx`; undefined when it has none or only an invalid one (tracing off). */
export function traceparentOf(ctx: Context): string | undefined {
  const carrier: Carrier = {};
  propagator.inject(ctx, carrier, setter);
  return carrier['traceparent'];
}

/** `base` with the remote span context of `traceparent` (unchanged when absent or malformed). */
export function contextFromTraceparent(
  traceparent: string | undefined,
  base: Context = ROOT_CONTEXT,
): Context {
  if (traceparent === undefined) return base;
  return propagator.extract(base, { traceparent }, getter);
}
