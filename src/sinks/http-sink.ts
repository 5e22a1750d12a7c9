// The HTTP sink: JSON calls to internal services with a service JWT, Idempotency-Key and traceparent, mapped to Outcomes.
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { ServiceName } from '../config/index.js';
import { ValidationError, errorMessage } from '../errors.js';
import type { EventEnvelope } from '../events/envelope.js';
import { outcome, type Outcome } from '../streams/outcome.js';
import {
  ServiceCallPermanentError,
  ServiceCallTransientError,
  scrubExcerpt,
  type ServiceCallError,
} from './service-call-error.js';
import type { ServicePools } from './service-pools.js';
import type { ServiceTokens } from './service-tokens.js';
import {
  defaultStatusPolicy,
  describeResponse,
  mapResponse,
  type SinkResponse,
  type StatusPolicy,
} from './status-mapping.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One call to an internal service, as a job declares it. */
export interface ServiceRequest<T = unknown> {
  readonly service: ServiceName;
  /** Path below the service's SVC_*_URL, starting with `/` (a query string may follow). */
  readonly path: string;
  /** Default POST. */
  readonly method?: HttpMethod;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Required for every method but GET: see idempotencyKey(). */
  readonly idempotencyKey?: string;
  /** Extra headers; they cannot replace authorization, idempotency-key, traceparent or content-type. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Validates a 2xx body; a body that fails is a dead outcome (the contract with the service is broken). */
  readonly responseSchema?: z.ZodType<T>;
  /** This job's overrides of the sink's status policy. */
  readonly policy?: Partial<StatusPolicy>;
  /** Overrides the pools' header and body timeouts for this call. */
  readonly timeoutMs?: number;
}

/** Where a call comes from: the event (its traceparent is forwarded) and the attempt's abort signal. */
export interface CallScope {
  readonly event?: { readonly traceparent?: string | undefined };
  readonly signal?: AbortSignal;
}

export interface SinkResult<T = unknown> {
  readonly outcome: Outcome;
  /** undefined when no response came (timeout, reset, refused). */
  readonly status: number | undefined;
  /** Body of an acked response: validated when the request has a schema, else the parsed JSON. */
  readonly body?: T;
  /** Parsed JSON of the response whatever its status, for handlers that inspect error envelopes. */
  readonly raw?: unknown;
  /** Set for retry and dead outcomes: status, target and a scrubbed excerpt. */
  readonly error?: ServiceCallError;
  /** `service METHOD /path` */
  readonly target: string;
}

/** What the sink reports after every call, e.g. for per-target status metrics. */
export interface CallObservation {
  readonly service: ServiceName;
  readonly method: HttpMethod;
  readonly status: number | undefined;
  readonly outcome: Outcome['kind'];
  readonly durationMs: number;
  /** `service METHOD /path` */
  readonly target: string;
  readonly idempotencyKey: string | undefined;
}

export interface HttpSinkOptions {
  readonly pools: ServicePools;
  readonly tokens: ServiceTokens;
  /** The `aud` of a service's tokens; default the service name. */
  readonly audienceOf?: (service: ServiceName) => string;
  /** Responses bigger than this are cut off while reading (SVC_RESPONSE_MAX_BYTES). */
  readonly responseMaxBytes: number;
  /** Sink-wide status policy; each request may override parts of it. */
  readonly policy?: Partial<StatusPolicy>;
  readonly clock?: Clock;
  /** Dead outcomes are logged at warn, retries at debug; headers and bodies are never logged. */
  readonly logger?: Pick<Logger, 'warn' | 'debug'>;
  readonly observe?: (observation: CallObservation) => void;
  readonly userAgent?: string;
}

export interface HttpSink {
  call<T = unknown>(request: ServiceRequest<T>, scope?: CallScope): Promise<SinkResult<T>>;
  /** The Outcome of a call, for one-line handlers. */
  outcomeOf(request: ServiceRequest, scope?: CallScope): Promise<Outcome>;
  /** The body of an acked call; throws the call's ServiceCallError (or a TransientError for a defer) otherwise. */
  fetchJson<T = unknown>(request: ServiceRequest<T>, scope?: CallScope): Promise<T | undefined>;
}

/** Headers the sink sets itself; a request cannot override them. */
const RESERVED_HEADERS = new Set([
  'authorization',
  'idempotency-key',
  'traceparent',
  'content-type',
  'host',
  'content-length',
]);
const EXCERPT_SOURCE_CHARS = 16_384;

interface ReadBody {
  readonly text: string;
  readonly overCap: boolean;
}

export function createHttpSink(options: HttpSinkOptions): HttpSink {
  const clock = options.clock ?? systemClock;
  const basePolicy: StatusPolicy = { ...defaultStatusPolicy, ...options.policy };
  const audienceOf = options.audienceOf ?? ((service: ServiceName) => service);
  if (!Number.isInteger(options.responseMaxBytes) || options.responseMaxBytes < 1) {
    throw new ValidationError(`responseMaxBytes must be a positive integer, got ${options.responseMaxBytes}`);
  }

  /** Programming errors of a job surface before anything is signed or sent. */
  function checkRequest(request: ServiceRequest, method: HttpMethod): void {
    if (!request.path.startsWith('/') || request.path.startsWith('//')) {
      throw new ValidationError(
        `service path must start with a single "/", got ${JSON.stringify(request.path)}`,
      );
    }
    for (const name of Object.keys(request.headers ?? {})) {
      if (RESERVED_HEADERS.has(name.toLowerCase())) {
        throw new ValidationError(`header ${name} is set by the sink and cannot be overridden`);
      }
    }
    if (method !== 'GET' && (request.idempotencyKey === undefined || request.idempotencyKey === '')) {
      throw new ValidationError(`${method} ${request.path}: every mutation needs an Idempotency-Key`);
    }
  }

  function buildHeaders(request: ServiceRequest, token: string, scope: CallScope): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
    headers['accept'] ??= 'application/json';
    if (options.userAgent !== undefined) headers['user-agent'] ??= options.userAgent;
    headers['authorization'] = `Bearer ${token}`;
    if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
    const traceparent = scope.event?.traceparent;
    if (traceparent !== undefined) headers['traceparent'] = traceparent;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    return headers;
  }

  async function readCapped(
    body: AsyncIterable<Buffer> & { destroy(): void },
    declared: number,
  ): Promise<ReadBody> {
    const cap = options.responseMaxBytes;
    if (declared > cap) {
      body.destroy();
      return { text: '', overCap: true };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > cap) {
        // leaving the loop destroys the stream: the rest is never read and the socket is dropped
        chunks.push(chunk.subarray(0, chunk.length - (size - cap)));
        return { text: Buffer.concat(chunks).toString('utf8'), overCap: true };
      }
      chunks.push(chunk);
    }
    return { text: Buffer.concat(chunks).toString('utf8'), overCap: false };
  }

  async function call<T>(request: ServiceRequest<T>, scope: CallScope = {}): Promise<SinkResult<T>> {
    const method = request.method ?? 'POST';
    checkRequest(request, method);
    const policy: StatusPolicy = { ...basePolicy, ...request.policy };
    const endpoint = options.pools.endpoint(request.service);
    const target = `${request.service} ${method} ${request.path.split('?')[0] ?? ''}`;
    let payload: string | undefined;
    try {
      payload = request.body === undefined ? undefined : JSON.stringify(request.body);
    } catch (error) {
      throw new ValidationError(`${target}: the body cannot be sent as JSON: ${errorMessage(error)}`);
    }
    const token = await options.tokens.tokenFor(audienceOf(request.service));
    const headers = buildHeaders(request, token, scope);
    const started = clock.now();
    const finish = (result: SinkResult<T>): SinkResult<T> => {
      report(request.service, method, result, clock.now() - started, request.idempotencyKey);
      return result;
    };

    let status: number | undefined;
    let responseHeaders: SinkResponse['headers'];
    let read: ReadBody;
    try {
      const response = await endpoint.pool.request({
        path: `${endpoint.basePath}${request.path}`,
        method,
        headers,
        body: payload ?? null,
        signal: scope.signal ?? null,
        ...(request.timeoutMs === undefined
          ? {}
          : { headersTimeout: request.timeoutMs, bodyTimeout: request.timeoutMs }),
      });
      status = response.statusCode;
      responseHeaders = response.headers;
      read = await readCapped(response.body, Number(response.headers['content-length'] ?? 0));
    } catch (error) {
      const message = `${target} failed${status === undefined ? '' : ` after ${status}`}: ${transportProblem(error)}`;
      const details = { status, target, bodyExcerpt: '' };
      return finish({
        outcome: outcome.retry(message),
        status,
        error: new ServiceCallTransientError(message, details, undefined, { cause: error }),
        target,
      });
    }

    const excerpt = scrubExcerpt(read.text.slice(0, EXCERPT_SOURCE_CHARS), [token]);
    const raw = read.overCap ? undefined : parseJson(read.text, responseHeaders['content-type']);
    const response: SinkResponse = { status, headers: responseHeaders, body: raw, excerpt, target };
    const details = { status, target, bodyExcerpt: excerpt };
    if (status >= 200 && status < 300 && read.overCap) {
      const message = `${target} -> ${status}: response over ${options.responseMaxBytes} bytes`;
      return finish({
        outcome: outcome.dead('response too large', message),
        status,
        error: new ServiceCallPermanentError(message, details),
        target,
      });
    }
    const mapped = mapResponse(response, policy, clock.now());
    if (mapped.kind === 'ack' && request.responseSchema !== undefined && status !== 204 && status < 300) {
      const parsed = request.responseSchema.safeParse(raw);
      if (!parsed.success) {
        // paths and messages only: the values may be anything the service sent
        const issues = parsed.error.issues
          .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
          .join('; ');
        const message = `${describeResponse(response)} does not match the response schema: ${issues}`;
        return finish({
          outcome: outcome.dead('invalid response', message),
          status,
          raw,
          error: new ServiceCallPermanentError(message, details),
          target,
        });
      }
      return finish({ outcome: mapped, status, body: parsed.data, raw, target });
    }
    const error =
      mapped.kind === 'retry'
        ? new ServiceCallTransientError(mapped.reason, details, mapped.afterMs)
        : mapped.kind === 'dead'
          ? new ServiceCallPermanentError(mapped.error ?? mapped.reason, details)
          : undefined;
    return finish({
      outcome: mapped,
      status,
      // without a schema the body of an ack is whatever JSON came; other outcomes only expose `raw`
      ...(raw !== undefined && mapped.kind === 'ack' ? { body: raw as T } : {}),
      ...(raw === undefined ? {} : { raw }),
      ...(error === undefined ? {} : { error }),
      target,
    });
  }

  function report(
    service: ServiceName,
    method: HttpMethod,
    result: SinkResult,
    durationMs: number,
    idempotencyKey: string | undefined,
  ): void {
    const kind = result.outcome.kind;
    options.observe?.({
      service,
      method,
      status: result.status,
      outcome: kind,
      durationMs,
      target: result.target,
      idempotencyKey,
    });
    if (kind === 'dead') {
      options.logger?.warn(
        { target: result.target, status: result.status, error: result.error?.message },
        'service call failed permanently',
      );
    } else if (kind === 'retry') {
      options.logger?.debug(
        { target: result.target, status: result.status, error: result.error?.message },
        'service call will be retried',
      );
    }
  }

  return {
    call,
    async outcomeOf(request, scope) {
      return (await call(request, scope)).outcome;
    },
    async fetchJson(request, scope) {
      const result = await call(request, scope);
      if (result.outcome.kind === 'ack') return result.body;
      if (result.error) throw result.error;
      const message = `${result.target} -> ${result.status}: not done yet`;
      throw new ServiceCallTransientError(message, {
        status: result.status,
        target: result.target,
        bodyExcerpt: '',
      });
    },
  };
}

/** A handler that makes one service call per event: `handler: serviceCallHandler(sink, (e) => ({ ... }))`. */
export function serviceCallHandler<TData>(
  sink: Pick<HttpSink, 'outcomeOf'>,
  build: (event: EventEnvelope<TData>) => ServiceRequest,
): (event: EventEnvelope<TData>, ctx: { readonly signal: AbortSignal }) => Promise<Outcome> {
  return (event, ctx) => sink.outcomeOf(build(event), { event, signal: ctx.signal });
}

function parseJson(text: string, contentType: string | string[] | undefined): unknown {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  if (text === '' || type === undefined || !/[/+]json\b/i.test(type)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `UND_ERR_HEADERS_TIMEOUT (Headers Timeout Error)`: the code and message of a transport error, no request data. */
function transportProblem(error: unknown): string {
  const code =
    typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  const message = errorMessage(error);
  return code === undefined ? message : `${code} (${message})`;
}
