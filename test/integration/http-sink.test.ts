// The HTTP sink against real listen(0) mock services: JWT, headers, every mapped status, timeouts, resets, size
// caps, response schemas, scrubbed errors and per-job overrides.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, ValidationError } from '../../src/errors.js';
import {
  createHttpSink,
  serviceCallHandler,
  type CallObservation,
  type HttpSink,
} from '../../src/sinks/http-sink.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { ServiceCallPermanentError, ServiceCallTransientError } from '../../src/sinks/service-call-error.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createServicePools, type ServicePools } from '../../src/sinks/service-pools.js';
import { createServiceTokens, type ServiceTokens } from '../../src/sinks/service-tokens.js';
import type { Outcome } from '../../src/streams/outcome.js';
import { startMockService, type MockService, type MockStep } from '../support/mock-service.js';
import { waitFor } from '../support/streams-fixture.js';

/** The outcome is a retry whose reason matches `reason`. */
function expectRetry(outcome: Outcome, reason: RegExp): void {
  expect(outcome.kind).toBe('retry');
  expect(outcome.kind === 'retry' ? outcome.reason : '').toMatch(reason);
}

const SETTLE = 'POST /internal/v1/cfb/settle';
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const keys = generateServiceKeyPair();

let playhub: MockService;
let impostor: MockService;
let funding: MockService;
let tokens: ServiceTokens;
let pools: ServicePools;
let sink: HttpSink;
const observed: CallObservation[] = [];
let keyCounter = 0;

beforeAll(async () => {
  tokens = createServiceTokens({ privateJwk: keys.privateJwk, issuer: 'workers' });
  playhub = await startMockService({ audience: 'playhub', publicJwks: [keys.publicJwk] });
  // escrow verifies with another key under the same kid: every token from these workers must fail there
  const otherKey = { ...generateServiceKeyPair().publicJwk, kid: keys.publicJwk.kid };
  impostor = await startMockService({ audience: 'escrow', publicJwks: [otherKey] });
  funding = await startMockService({ audience: 'funding', publicJwks: [keys.publicJwk] });
  pools = createServicePools(
    { playhub: playhub.url, escrow: impostor.url, funding: `${funding.url}/api/` },
    { connectTimeoutMs: 1000, requestTimeoutMs: 400, connections: 4 },
  );
  sink = createHttpSink({ pools, tokens, responseMaxBytes: 4096, observe: (o) => observed.push(o) });
});
afterAll(async () => {
  await pools.close();
  await Promise.all([playhub.close(), impostor.close(), funding.close()]);
});

function nextKey(): string {
  keyCounter += 1;
  return idempotencyKey('cfb.settle', `bet-${keyCounter}`, 1_700_000_000_000);
}

async function settle(step: MockStep | undefined, extra: Partial<Parameters<HttpSink['call']>[0]> = {}) {
  if (step) playhub.script(SETTLE, [step]);
  const idem = nextKey();
  const before = playhub.requests.length;
  const result = await sink.call({
    service: 'playhub',
    path: '/internal/v1/cfb/settle',
    body: { betId: idem },
    idempotencyKey: idem,
    ...extra,
  });
  return { result, idem, request: playhub.requests[before] };
}

describe('requests', () => {
  it('sends JSON with a service JWT for the target, the Idempotency-Key and the event traceparent', async () => {
    const idem = nextKey();
    const result = await sink.call(
      { service: 'playhub', path: '/internal/v1/cfb/settle', body: { betId: 'b-1' }, idempotencyKey: idem },
      { event: { traceparent: TRACEPARENT } },
    );
    expect(result).toMatchObject({
      outcome: { kind: 'ack' },
      status: 200,
      body: { applied: true, key: idem },
    });
    const request = playhub.requests.at(-1)!;
    expect(request.tokenError).toBeUndefined();
    expect(request.claims).toMatchObject({ issuer: 'workers', audience: 'playhub', kid: keys.publicJwk.kid });
    expect(request.idempotencyKey).toBe(idem);
    expect(request.headers['traceparent']).toBe(TRACEPARENT);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.body).toEqual({ betId: 'b-1' });
  });

  it('a service verifying with another public key refuses the token: 401 -> dead', async () => {
    const result = await sink.call({
      service: 'escrow',
      path: '/internal/v1/escrow/expire',
      body: {},
      idempotencyKey: 'escrow.expire:e-1',
    });
    expect(result.status).toBe(401);
    expect(result.outcome).toMatchObject({ kind: 'dead', reason: 'http 401' });
    expect(impostor.requests.at(-1)?.tokenError).toMatch(/signature verification failed/);
    expect(impostor.applied('escrow.expire:e-1')).toBe(0);
  });

  it('prefixes the path of the service URL and sends GET without a body or key', async () => {
    const result = await sink.call({
      service: 'funding',
      method: 'GET',
      path: '/internal/v1/vesting/due?limit=5',
    });
    expect(result.outcome.kind).toBe('ack');
    expect(funding.requests.at(-1)).toMatchObject({
      method: 'GET',
      path: '/api/internal/v1/vesting/due',
      idempotencyKey: undefined,
      claims: { audience: 'funding' },
    });
  });

  it('refuses a mutation without an Idempotency-Key, reserved headers and bad paths before any request', async () => {
    const before = playhub.requests.length;
    await expect(sink.call({ service: 'playhub', path: '/x', body: {} })).rejects.toThrow(ValidationError);
    await expect(
      sink.call({
        service: 'playhub',
        path: '/x',
        idempotencyKey: 'k',
        headers: { Authorization: 'Bearer mine' },
      }),
    ).rejects.toThrow(/cannot be overridden/);
    await expect(
      sink.call({ service: 'playhub', path: 'http://elsewhere/x', idempotencyKey: 'k' }),
    ).rejects.toThrow(ValidationError);
    await expect(
      sink.call({ service: 'playhub', path: '//elsewhere/x', idempotencyKey: 'k' }),
    ).rejects.toThrow(ValidationError);
    expect(playhub.requests.length).toBe(before);
  });

  it('a service without a URL is a ConfigError naming its variable', async () => {
    await expect(sink.call({ service: 'payhub', path: '/x', idempotencyKey: 'k' })).rejects.toMatchObject({
      constructor: ConfigError,
      variable: 'SVC_PAYHUB_URL',
    });
  });
});

describe('status mapping against a real server', () => {
  const inFive = (): string => new Date(Date.now() + 5000).toUTCString();
  const cases: [string, MockStep, string, Record<string, unknown>?][] = [
    ['200', { status: 200, body: { settled: true } }, 'ack'],
    ['201', { status: 201, body: { created: true } }, 'ack'],
    ['204', { status: 204 }, 'ack'],
    ['202 with Retry-After', { status: 202, headers: { 'retry-after': '9' } }, 'defer'],
    [
      '409 already done',
      { status: 409, body: { error: { code: 'ALREADY_DONE', message: 'settled' } } },
      'ack',
    ],
    ['409 in progress', { status: 409, body: { error: { code: 'IN_PROGRESS' } } }, 'retry'],
    ['409 key mismatch', { status: 409, body: { error: { code: 'IDEMPOTENCY_KEY_MISMATCH' } } }, 'dead'],
    ['429 Retry-After seconds', { status: 429, headers: { 'retry-after': '3' } }, 'retry', { afterMs: 3000 }],
    ['408', { status: 408 }, 'retry'],
    ['500', { status: 500, body: { error: { code: 'INTERNAL' } } }, 'retry'],
    ['502', { status: 502, body: 'bad gateway' }, 'retry'],
    ['503', { status: 503 }, 'retry'],
    ['504', { status: 504 }, 'retry'],
    ['400', { status: 400, body: { error: { code: 'BAD_REQUEST' } } }, 'dead'],
    ['403', { status: 403 }, 'dead'],
    ['404', { status: 404 }, 'dead'],
    ['422', { status: 422, body: { error: { code: 'INVALID' } } }, 'dead'],
    ['reset', { reset: true }, 'retry'],
  ];

  it.each(cases)('%s -> %s', async (_name, step, kind, extra) => {
    const { result } = await settle(step);
    expect(result.outcome.kind).toBe(kind);
    if (extra) expect(result.outcome).toMatchObject(extra);
    if (kind === 'retry') expect(result.error).toBeInstanceOf(ServiceCallTransientError);
    if (kind === 'dead') expect(result.error).toBeInstanceOf(ServiceCallPermanentError);
    if (kind === 'ack') expect(result.error).toBeUndefined();
  });

  it('202 defers to Retry-After (HTTP date), else to the job default', async () => {
    const before = Date.now();
    const dated = await settle({ status: 202, headers: { 'retry-after': inFive() } });
    expect(dated.result.outcome.kind).toBe('defer');
    const until = dated.result.outcome.kind === 'defer' ? (dated.result.outcome.until ?? 0) : 0;
    // an HTTP date has whole seconds: the defer lands within a second of 5 s from now
    expect(until - before).toBeGreaterThan(3_900);
    expect(until - before).toBeLessThanOrEqual(6_000);
    const plain = await settle({ status: 202 }, { policy: { deferDefaultMs: 45_000 } });
    const plainUntil = plain.result.outcome.kind === 'defer' ? (plain.result.outcome.until ?? 0) : 0;
    expect(plainUntil - Date.now()).toBeGreaterThan(40_000);
  });

  it('errors carry status, target and a short excerpt, never the token the server echoed', async () => {
    const token = await tokens.tokenFor('playhub');
    const { result } = await settle({
      status: 500,
      body: { error: { code: 'BOOM', echo: `Bearer ${token}`, raw: token } },
    });
    expect(result.error).toMatchObject({ status: 500, target: 'playhub POST /internal/v1/cfb/settle' });
    expect(result.error?.bodyExcerpt).toContain('BOOM');
    for (const text of [
      result.error?.message ?? '',
      result.error?.bodyExcerpt ?? '',
      JSON.stringify(result.outcome),
    ]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.split('.')[2]);
    }
  });

  it('per-job overrides: a 404 that means done, a 409 code of the job, an override function', async () => {
    expect(
      (await settle({ status: 404 }, { policy: { statuses: { 404: 'ack' } } })).result.outcome.kind,
    ).toBe('ack');
    const conflict = (body: unknown) =>
      (body as { error?: { code?: string } }).error?.code === 'BET_SETTLED' ? ('done' as const) : undefined;
    expect(
      (await settle({ status: 409, body: { error: { code: 'BET_SETTLED' } } }, { policy: { conflict } }))
        .result.outcome.kind,
    ).toBe('ack');
    const override = { override: () => ({ kind: 'retry' as const, reason: 'job says later' }) };
    expect((await settle({ status: 400 }, { policy: override })).result.outcome).toEqual({
      kind: 'retry',
      reason: 'job says later',
    });
  });

  it('reports every call to observe()', async () => {
    const before = observed.length;
    await settle({ status: 503 });
    expect(observed.slice(before)).toEqual([
      expect.objectContaining({ service: 'playhub', method: 'POST', status: 503, outcome: 'retry' }),
    ]);
  });
});

describe('responses', () => {
  const settled = z.strictObject({ settled: z.literal(true), payout: z.string() });

  it('validates a 2xx body against the job schema', async () => {
    const ok = await settle(
      { status: 200, body: { settled: true, payout: '1250' } },
      { responseSchema: settled },
    );
    expect(ok.result).toMatchObject({ outcome: { kind: 'ack' }, body: { settled: true, payout: '1250' } });
    const bad = await settle(
      { status: 200, body: { settled: true, payout: 12.5 } },
      { responseSchema: settled },
    );
    expect(bad.result.outcome).toMatchObject({ kind: 'dead', reason: 'invalid response' });
    expect(bad.result.error?.message).toMatch(/payout/);
    const notJson = await settle({ status: 200, body: 'ok' }, { responseSchema: settled });
    expect(notJson.result.outcome).toMatchObject({ kind: 'dead', reason: 'invalid response' });
  });

  it('cuts a response over the size cap while reading (declared or streamed) and never buffers it all', async () => {
    const big = await settle({ status: 200, body: { blob: 'x'.repeat(10_000) } });
    expect(big.result.outcome).toMatchObject({ kind: 'dead', reason: 'response too large' });
    const streamed = await settle({ status: 200, body: { blob: 'x'.repeat(10_000) }, chunked: true });
    expect(streamed.result.outcome).toMatchObject({ kind: 'dead', reason: 'response too large' });
    expect(streamed.result.error?.message).toMatch(/over 4096 bytes/);
    const fits = await settle({ status: 200, body: { blob: 'x'.repeat(3000) }, chunked: true });
    expect(fits.result.outcome.kind).toBe('ack');
    const bigError = await settle({ status: 503, body: 'y'.repeat(10_000) });
    expect(bigError.result.outcome.kind).toBe('retry');
    expect(bigError.result.error?.bodyExcerpt.length).toBeLessThan(300);
    // the pool is still usable afterwards
    expect((await settle(undefined)).result.outcome.kind).toBe('ack');
  });

  it('fetchJson returns an acked body and throws the typed error otherwise', async () => {
    playhub.script('GET /internal/v1/cfb/due', [
      { status: 200, body: { bets: ['b-1'] } },
      { status: 503 },
      { status: 404 },
    ]);
    const request = {
      service: 'playhub' as const,
      method: 'GET' as const,
      path: '/internal/v1/cfb/due',
      responseSchema: z.object({ bets: z.array(z.string()) }),
    };
    await expect(sink.fetchJson(request)).resolves.toEqual({ bets: ['b-1'] });
    await expect(sink.fetchJson(request)).rejects.toBeInstanceOf(ServiceCallTransientError);
    await expect(sink.fetchJson(request)).rejects.toBeInstanceOf(ServiceCallPermanentError);
  });
});

describe('transport failures', () => {
  it('a hanging server is cut by the timeout: retry, and the next attempt with the same key succeeds', async () => {
    playhub.script(SETTLE, [{ hang: true }]);
    const idem = nextKey();
    const request = {
      service: 'playhub' as const,
      path: '/internal/v1/cfb/settle',
      body: { betId: 'h' },
      idempotencyKey: idem,
    };
    const first = await sink.call(request);
    expect(first.status).toBeUndefined();
    expectRetry(first.outcome, /UND_ERR_HEADERS_TIMEOUT/);
    const second = await sink.call(request);
    expect(second.outcome.kind).toBe('ack');
    expect(playhub.requestsTo(SETTLE).filter((r) => r.idempotencyKey === idem)).toHaveLength(2);
    expect(playhub.applied(idem)).toBe(1);
  });

  it('the attempt signal aborts a call: retry', async () => {
    playhub.script(SETTLE, [{ hang: true }]);
    const controller = new AbortController();
    const before = playhub.requests.length;
    const pending = sink.call(
      {
        service: 'playhub',
        path: '/internal/v1/cfb/settle',
        body: {},
        idempotencyKey: nextKey(),
        timeoutMs: 30_000,
      },
      { signal: controller.signal },
    );
    // abort once the server holds the request, as the runner's handler timeout would
    await waitFor(() => playhub.requests.length > before, 'the hanging request');
    controller.abort(new Error('handler timed out'));
    const result = await pending;
    expectRetry(result.outcome, /handler timed out/);
  });

  it('a refused connection is a retry', async () => {
    const closed = await startMockService({ audience: 'discovery', publicJwks: [keys.publicJwk] });
    const url = closed.url;
    await closed.close();
    const refusedPools = createServicePools(
      { discovery: url },
      { connectTimeoutMs: 500, requestTimeoutMs: 500 },
    );
    const refusedSink = createHttpSink({ pools: refusedPools, tokens, responseMaxBytes: 1024 });
    const result = await refusedSink.call({ service: 'discovery', path: '/x', idempotencyKey: 'k-1' });
    expectRetry(result.outcome, /ECONNREFUSED/);
    await refusedPools.close();
  });

  it('a server that accepts TCP but never completes TLS is cut by the connect timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const silentPools = createServicePools(
      { price: `https://127.0.0.1:${port}` },
      { connectTimeoutMs: 300, requestTimeoutMs: 5000 },
    );
    const silentSink = createHttpSink({ pools: silentPools, tokens, responseMaxBytes: 1024 });
    const result = await silentSink.call({
      service: 'price',
      path: '/ingest',
      body: {},
      idempotencyKey: 'price.ingest:1',
    });
    expectRetry(result.outcome, /UND_ERR_CONNECT_TIMEOUT/);
    await silentPools.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
});

describe('serviceCallHandler', () => {
  it('turns an event into one call with its traceparent and the attempt signal', async () => {
    const handler = serviceCallHandler<{ betId: string; tEnd: number }>(sink, (event) => ({
      service: 'playhub',
      path: '/internal/v1/cfb/settle',
      body: { betId: event.data.betId },
      idempotencyKey: idempotencyKey('cfb.settle', event.data.betId, event.data.tEnd),
    }));
    const event = {
      id: '01JD0000000000000000000000',
      type: 'bet.opened',
      key: 'bet-h',
      occurredAt: '2026-11-23T15:00:00.000Z',
      source: 'playhub',
      schemaVersion: 1,
      data: { betId: 'bet-h', tEnd: 1_700_000_000_000 },
      traceparent: TRACEPARENT,
    };
    const outcome = await handler(event, { signal: new AbortController().signal });
    expect(outcome.kind).toBe('ack');
    expect(playhub.requests.at(-1)).toMatchObject({
      idempotencyKey: 'cfb.settle:bet-h:1700000000000',
      headers: { traceparent: TRACEPARENT },
    });
  });
});
