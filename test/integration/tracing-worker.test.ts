// Traces end to end with the SDK set up by startTracing and an in-memory exporter: producer span -> traceparent in
// the envelope -> consumer span per attempt (child of and linked to the producer's) -> HTTP client span whose
// traceparent the service receives; log lines inside a handler carry the requestId and the trace ids.
import { Writable } from 'node:stream';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createLogger } from '../../src/ops/logger.js';
import { createHttpMetrics } from '../../src/ops/metrics/http-metrics.js';
import { parseMetricsText, sumOf } from '../../src/ops/metrics/text-format.js';
import { traceJob } from '../../src/ops/tracing/consumer-span.js';
import { traceHttpSink } from '../../src/ops/tracing/http-client-span.js';
import { publishTraced } from '../../src/ops/tracing/producer-span.js';
import { startTracing, type Tracing } from '../../src/ops/tracing/tracing-setup.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createHttpSink, type HttpSink } from '../../src/sinks/http-sink.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createServicePools, type ServicePools } from '../../src/sinks/service-pools.js';
import { createServiceTokens } from '../../src/sinks/service-tokens.js';
import { outcome } from '../../src/streams/outcome.js';
import { startMockService, type MockService } from '../support/mock-service.js';
import { DOMAIN, createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

const JOB = 'trace.settle';
const SETTLE_PATH = '/internal/v1/cfb/settle';
const exporter = new InMemorySpanExporter();
const serviceKeys = generateServiceKeyPair();

let tracing: Tracing | undefined;
let fixture: StreamsFixture;
let playhub: MockService;
let pools: ServicePools;
let sink: HttpSink;
const outcomes: OutcomeEvent[] = [];
const logLines: Record<string, unknown>[] = [];
const metricsRegistry = new Registry();

beforeAll(async () => {
  tracing = startTracing({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    serviceName: 'workers-test',
  });
  fixture = await createStreamsFixture(import.meta.url, { partitions: 2 });
  playhub = await startMockService({ audience: 'playhub', publicJwks: [serviceKeys.publicJwk] });
  pools = createServicePools({ playhub: playhub.url }, { connectTimeoutMs: 1000, requestTimeoutMs: 2000 });
  const tokens = createServiceTokens({ privateJwk: serviceKeys.privateJwk, issuer: 'workers' });
  const http = createHttpMetrics(metricsRegistry);
  sink = traceHttpSink(createHttpSink({ pools, tokens, responseMaxBytes: 4096, observe: http.observe }));
  const logger = createLogger(
    loadConfig({ LOG_LEVEL: 'info', SERVICE_ID: 'workers-test' }, { envFile: false }),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  const runner = fixture.runner(
    traceJob({
      name: JOB,
      domain: DOMAIN,
      types: ['bet.opened'],
      handler: async (event: EventEnvelope<{ betId: string }>, ctx) => {
        const { betId } = event.data;
        logger.info({ betId }, 'settling');
        if (betId.startsWith('retry') && ctx.failures === 0) return outcome.retry('oracle busy', 20);
        return sink.outcomeOf(
          {
            service: 'playhub',
            path: SETTLE_PATH,
            body: { betId },
            idempotencyKey: idempotencyKey(JOB, betId, 1),
          },
          { event, signal: ctx.signal },
        );
      },
    }),
  );
  runner.on('outcome', (event) => outcomes.push(event));
  await runner.start();
});

afterAll(async () => {
  await fixture.close();
  await pools.close();
  await playhub.close();
  await tracing?.shutdown();
});

beforeEach(() => exporter.reset());

async function handled(eventId: string): Promise<void> {
  await waitFor(() => outcomes.some((o) => o.eventId === eventId && o.kind === 'ack'), `ack of ${eventId}`);
  // the consumer span ends after the handler returns, just before the outcome is written
  await waitFor(
    () =>
      exporter
        .getFinishedSpans()
        .some((s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.message.id'] === eventId),
    'the consumer span',
  );
}

function spansOf(kind: SpanKind): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.kind === kind);
}

describe('a traced event', () => {
  it('is one trace: producer span, consumer span (child and link), HTTP client span and the traceparent sent', async () => {
    const event = fixture.event('bet-1');
    const published = await publishTraced(fixture.publisher, event);
    await handled(event.id);

    const [producer] = spansOf(SpanKind.PRODUCER);
    const [consumer] = spansOf(SpanKind.CONSUMER);
    const [client] = spansOf(SpanKind.CLIENT);
    if (!producer || !consumer || !client)
      throw new Error('expected a producer, a consumer and a client span');
    const traceId = producer.spanContext().traceId;

    expect(producer.name).toBe('send bet.opened');
    expect(producer.parentSpanContext).toBeUndefined();
    expect(producer.attributes).toMatchObject({
      'messaging.system': 'redis',
      'messaging.operation.type': 'send',
      'messaging.message.id': event.id,
      'messaging.destination.name': DOMAIN,
      'messaging.destination.partition.id': String(published.partition),
    });
    // the envelope in Redis carries the producer span's context
    const [entry] = (await fixture.redis.xrange(published.stream, published.entryId, published.entryId)) as [
      string,
      string[],
    ][];
    const fields = entry?.[1] ?? [];
    expect(fields[fields.indexOf('traceparent') + 1]).toBe(
      `00-${traceId}-${producer.spanContext().spanId}-01`,
    );

    expect(consumer.name).toBe(`process ${DOMAIN}`);
    expect(consumer.spanContext().traceId).toBe(traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.links.map((link) => link.context.spanId)).toEqual([producer.spanContext().spanId]);
    expect(consumer.attributes).toMatchObject({
      queue: DOMAIN,
      jobType: JOB,
      targetService: 'playhub',
      'messaging.system': 'redis',
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': JOB,
      'messaging.destination.partition.id': String(published.partition),
      'messaging.message.id': event.id,
      'fuze.attempt': 1,
      'fuze.outcome': 'ack',
    });
    expect(consumer.status.code).toBe(SpanStatusCode.UNSET);

    expect(client.name).toBe('POST playhub');
    expect(client.spanContext().traceId).toBe(traceId);
    expect(client.parentSpanContext?.spanId).toBe(consumer.spanContext().spanId);
    expect(client.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'url.path': SETTLE_PATH,
      'peer.service': 'playhub',
      targetService: 'playhub',
    });
    // the service continues the trace from the client span
    const request = playhub.requests.find((r) => (r.body as { betId?: string }).betId === 'bet-1');
    expect(request?.headers['traceparent']).toBe(`00-${traceId}-${client.spanContext().spanId}-01`);

    // the sink's observe hook counted the call for /metrics
    const parsed = parseMetricsText(await metricsRegistry.metrics());
    expect(
      sumOf(parsed, 'fuze_http_client_requests_total', { target: 'playhub', status: '200', outcome: 'ack' }),
    ).toBe(1);

    // the handler's log line names the attempt and the consumer span
    expect(logLines.find((line) => line['msg'] === 'settling' && line['betId'] === 'bet-1')).toMatchObject({
      requestId: event.id,
      job: JOB,
      entryId: published.entryId,
      attempt: 1,
      trace_id: traceId,
      span_id: consumer.spanContext().spanId,
      trace_flags: '01',
    });
  });

  it('gets one consumer span per attempt, all in the producer trace; the failed attempt is marked', async () => {
    const event = fixture.event('retry-1');
    await publishTraced(fixture.publisher, event);
    await waitFor(() => spansOf(SpanKind.CONSUMER).length === 2, 'two attempts');
    await handled(event.id);

    const [producer] = spansOf(SpanKind.PRODUCER);
    const attempts = spansOf(SpanKind.CONSUMER).sort(
      (a, b) => Number(a.attributes['fuze.attempt']) - Number(b.attributes['fuze.attempt']),
    );
    expect(attempts.map((span) => span.attributes['fuze.attempt'])).toEqual([1, 2]);
    for (const span of attempts) {
      expect(span.spanContext().traceId).toBe(producer?.spanContext().traceId);
      expect(span.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    }
    expect(attempts[0]?.attributes['fuze.outcome']).toBe('retry');
    expect(attempts[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'oracle busy' });
    expect(attempts[1]?.attributes['fuze.outcome']).toBe('ack');
    // only the second attempt called the service
    expect(spansOf(SpanKind.CLIENT).map((span) => span.parentSpanContext?.spanId)).toEqual([
      attempts[1]?.spanContext().spanId,
    ]);
  });

  it("continues the caller's trace when published inside an active span", async () => {
    const tracer = trace.getTracer('test');
    const parent = tracer.startSpan('request');
    const event = fixture.event('bet-2');
    await context.with(trace.setSpan(context.active(), parent), () =>
      publishTraced(fixture.publisher, event),
    );
    parent.end();
    await handled(event.id);

    const [producer] = spansOf(SpanKind.PRODUCER);
    const [consumer] = spansOf(SpanKind.CONSUMER);
    expect(producer?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(consumer?.spanContext().traceId).toBe(parent.spanContext().traceId);
  });

  it('joins the trace of an upstream producer that wrote the traceparent itself', async () => {
    const upstream = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const event = { ...fixture.event('bet-3'), traceparent: upstream };
    await fixture.publisher.publish(event);
    await handled(event.id);

    const [consumer] = spansOf(SpanKind.CONSUMER);
    expect(consumer?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(consumer?.parentSpanContext).toMatchObject({ spanId: '00f067aa0ba902b7', isRemote: true });
  });
});
