// Tracing off by default and harmless when off: which OTEL_* settings turn it on, traceparent round trips, and the
// wrappers (consumer span, producer helper, HTTP client span, log correlation) with no SDK registered.
import { Writable } from 'node:stream';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createLogger } from '../../src/ops/logger.js';
import { traceJob } from '../../src/ops/tracing/consumer-span.js';
import { traceHttpSink } from '../../src/ops/tracing/http-client-span.js';
import { logCorrelationMixin, runInRequestScope } from '../../src/ops/tracing/log-correlation.js';
import { withTraceparent } from '../../src/ops/tracing/producer-span.js';
import { contextFromTraceparent, traceparentOf } from '../../src/ops/tracing/trace-context.js';
import { startTracing, tracingRequested } from '../../src/ops/tracing/tracing-setup.js';
import type { CallScope, HttpSink } from '../../src/sinks/http-sink.js';
import { outcome } from '../../src/streams/outcome.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function event(traceparent?: string): EventEnvelope<{ betId: string }> {
  return {
    id: '01J0000000000000000000000A',
    type: 'bet.opened',
    key: 'b1',
    occurredAt: '2026-11-23T15:00:00.000Z',
    source: 'playhub',
    schemaVersion: 1,
    data: { betId: 'b1' },
    ...(traceparent === undefined ? {} : { traceparent }),
  };
}

describe('tracingRequested', () => {
  it.each([
    [{}, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console, otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_TRACES_EXPORTER: ' ' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'false' }, true],
  ])('%j -> %s', (env, on) => {
    expect(tracingRequested(env)).toBe(on);
  });

  it('starts nothing when the environment does not ask for traces', () => {
    expect(startTracing({ env: { OTEL_SERVICE_NAME: 'workers' } })).toBeUndefined();
  });
});

describe('traceparent', () => {
  it('round-trips through a context, and a malformed one leaves the context as it was', () => {
    expect(traceparentOf(contextFromTraceparent(TRACEPARENT))).toBe(TRACEPARENT);
    expect(traceparentOf(contextFromTraceparent('00-garbage'))).toBeUndefined();
    expect(contextFromTraceparent(undefined)).toBe(ROOT_CONTEXT);
  });
});

describe('with tracing off', () => {
  it('runs the handler with the event unchanged, and its log lines carry the request and the producer trace id', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger(
      loadConfig({ LOG_LEVEL: 'info' }, { envFile: false }),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    );
    const seen: EventEnvelope[] = [];
    const job = traceJob({
      name: 'cfb.settle',
      domain: 'playhub',
      types: ['bet.opened'],
      handler: async (e: EventEnvelope<{ betId: string }>) => {
        seen.push(e);
        logger.info({ job: 'logged-field-wins' }, 'inside');
        return outcome.ack();
      },
    });
    const original = event(TRACEPARENT);
    const ctx = {
      signal: new AbortController().signal,
      job: 'cfb.settle',
      entryId: '1700000000000-0',
      attempt: 2,
      failures: 1,
      partition: 3,
    };
    expect(await job.handler(original, ctx)).toEqual(outcome.ack());
    logger.info('outside');

    expect(seen).toEqual([original]);
    expect(lines[0]).toMatchObject({
      msg: 'inside',
      requestId: original.id,
      job: 'logged-field-wins',
      entryId: '1700000000000-0',
      attempt: 2,
      trace_id: '0af7651916cd43dd8448eb211c80319c',
    });
    expect(lines[0]).not.toHaveProperty('span_id');
    expect(lines[1]).not.toHaveProperty('requestId');
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('leaves a published event without a traceparent, and the sink forwards the event traceparent as before', async () => {
    expect(withTraceparent(event())).toEqual(event());
    const scopes: (CallScope | undefined)[] = [];
    const inner: HttpSink = {
      call: async (_request, scope) => {
        scopes.push(scope);
        return { outcome: outcome.ack(), status: 200, target: 'playhub POST /x' };
      },
      outcomeOf: async () => outcome.ack(),
      fetchJson: async (_request, scope) => {
        scopes.push(scope);
        return undefined;
      },
    };
    const sink = traceHttpSink(inner);
    const withEvent = { event: event(TRACEPARENT) };
    await sink.outcomeOf({ service: 'playhub', path: '/x', idempotencyKey: 'k' }, withEvent);
    await sink.fetchJson({ service: 'playhub', path: '/y', method: 'GET' }, withEvent);
    await sink.call({ service: 'playhub', path: '/z', idempotencyKey: 'k' });
    expect(scopes).toEqual([withEvent, withEvent, {}]);
  });

  it('adds nothing to lines outside a job attempt', () => {
    expect(logCorrelationMixin()).toEqual({});
    expect(
      runInRequestScope({ requestId: 'r', job: 'j', entryId: '1-0', attempt: 1 }, logCorrelationMixin),
    ).toEqual({ requestId: 'r', job: 'j', entryId: '1-0', attempt: 1 });
  });
});
