// One mock platform service on a listen(0) loopback port: service JWT check, contract validation, Idempotency-Key
// replays, scripted faults, a bounded request log and counters. The domain services (playhub.ts, ...) add routes.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { JWK } from 'jose';
import type { z } from 'zod';
import { systemClock, type Clock } from '../../src/clock.js';
import { errorMessage } from '../../src/errors.js';
import { ERROR_CODES } from '../../src/jobs/contract-fields.js';
import type { InternalEndpoint } from '../../src/jobs/internal-endpoint.js';
import {
  createServiceTokenVerifier,
  type ServiceTokenClaims,
} from '../../src/sinks/service-token-verifier.js';
import { contractKeyOf } from './contract-key.js';
import { createFaultScript, type FaultRule } from './fault-script.js';
import { createIdempotencyStore, fingerprintOf, type StoredAnswer } from './idempotency-store.js';
import type { Random } from './seeded-random.js';
import { createStatsRecorder, type ServiceStats } from './service-stats.js';

/** What a route handler answers. `body` is sent as JSON unless it is a string. */
export interface ServiceAnswer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** The call changed the service's state (counted per Idempotency-Key: twice is a bug). */
  readonly applied?: boolean;
}

export interface RouteInput<T> {
  /** The body (POST) or query (GET) as the contract's schema parsed it; undefined for plain routes. */
  readonly data: T;
  /** The JSON body as sent. */
  readonly raw: unknown;
  readonly key: string | undefined;
  /** The platform clock's time of the call. */
  readonly now: number;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

export interface ServiceRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Exact path, or a prefix ending in `/*`. */
  readonly path: string;
  /** The contract: request/query schema (400 on a bad one), Idempotency-Key spec, answer bodies (self-checked). */
  readonly endpoint?: InternalEndpoint;
  /** Synchronous, so a state transition is atomic with respect to other calls. */
  readonly handle: (input: RouteInput<unknown>) => ServiceAnswer;
}

type ContractInput<E> = E extends { readonly request: infer S extends z.ZodType }
  ? z.output<S>
  : E extends { readonly query: infer Q extends z.ZodType }
    ? z.output<Q>
    : undefined;

/** A route serving an endpoint of src/jobs/<domain>/api.ts, its handler typed by the contract's schema. */
export function contractRoute<const E extends InternalEndpoint>(
  endpoint: E,
  handle: (input: RouteInput<ContractInput<E>>) => ServiceAnswer,
): ServiceRoute {
  return {
    method: endpoint.method,
    path: endpoint.path,
    endpoint,
    handle: handle as (input: RouteInput<unknown>) => ServiceAnswer,
  };
}

/** The error envelope of every internal API (docs/platform-contracts.md). */
export function errorAnswer(
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
): ServiceAnswer {
  return { status, body: { error: { code, message, ...(details === undefined ? {} : { details }) } } };
}

export type LatencyOption = number | { readonly minMs: number; readonly maxMs: number };

export interface RecordedRequest {
  /** Platform clock time of arrival. */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** The matched route (`POST /internal/v1/cfb/settle`). */
  readonly route: string;
  readonly idempotencyKey: string | undefined;
  /** The key the contract derives from the body, when the route has a key spec. */
  readonly contractKey: string | undefined;
  readonly body: unknown;
  readonly claims: ServiceTokenClaims | undefined;
  readonly tokenError: string | undefined;
  /** The status answered; undefined while in flight, and for a hang or a reset. */
  readonly status: number | undefined;
  readonly replay: boolean;
  readonly applied: boolean;
  readonly fault: FaultRule | undefined;
}

type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

export interface PlatformServiceOptions {
  /** The service's name: the `aud` its tokens must carry. */
  readonly name: string;
  readonly routes: readonly ServiceRoute[];
  /** Service JWT check; undefined = none (the external feed/provider server). */
  readonly auth?: {
    readonly publicJwks: readonly JWK[];
    readonly issuers: string | readonly string[];
    /** Clock of token times; default the system clock. */
    readonly clock?: Clock;
  };
  readonly clock?: Clock;
  /** Seeded PRNG: fault shares and latency. */
  readonly random: Random;
  readonly latency?: LatencyOption;
  /** Host name in `url`; default 127.0.0.1 (the server always listens on 127.0.0.1). */
  readonly urlHost?: string;
  /** Oldest requests are dropped past this; default 5000. */
  readonly maxRecordedRequests?: number;
}

export interface PlatformService {
  readonly name: string;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** The latest requests (bounded), oldest first. */
  readonly requests: readonly RecordedRequest[];
  requestsTo(route: string): RecordedRequest[];
  /** Scripts faults on a route (`POST /internal/v1/cfb/settle`, or `*` for all). */
  fault(route: string, rules: FaultRule | readonly FaultRule[]): void;
  clearFaults(route?: string): void;
  /** Times the effect of this Idempotency-Key was applied. */
  applied(key: string): number;
  /** Keys applied more than once: a bug counter that must stay 0. */
  appliedTwice(): number;
  stats(): ServiceStats;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const REPLAY_HEADER = 'idempotent-replayed';

const FAULT_CODES: Readonly<Record<number, string>> = {
  400: ERROR_CODES.invalidRequest,
  404: ERROR_CODES.notFound,
  408: 'TIMEOUT',
  409: ERROR_CODES.inProgress,
  429: ERROR_CODES.rateLimited,
  500: ERROR_CODES.internal,
};

export async function startPlatformService(options: PlatformServiceOptions): Promise<PlatformService> {
  const clock = options.clock ?? systemClock;
  const verifier =
    options.auth === undefined
      ? undefined
      : createServiceTokenVerifier({
          publicJwks: options.auth.publicJwks,
          issuers: options.auth.issuers,
          audience: options.name,
          clock: options.auth.clock ?? systemClock,
        });
  const exact = new Map<string, ServiceRoute>();
  const prefixes: ServiceRoute[] = [];
  for (const route of options.routes) {
    if (route.path.endsWith('/*')) prefixes.push(route);
    else exact.set(`${route.method} ${route.path}`, route);
  }
  const faults = createFaultScript(options.random);
  const keys = createIdempotencyStore();
  const stats = createStatsRecorder();
  const requests: MutableRecord[] = [];
  const maxRecorded = options.maxRecordedRequests ?? 5000;

  function findRoute(method: string, path: string): ServiceRoute | undefined {
    return (
      exact.get(`${method} ${path}`) ??
      prefixes.find((r) => r.method === method && path.startsWith(r.path.slice(0, -1)))
    );
  }

  function latencyMs(): number {
    const latency = options.latency;
    if (latency === undefined) return 0;
    if (typeof latency === 'number') return latency;
    return latency.minMs + options.random() * (latency.maxMs - latency.minMs);
  }

  function send(res: ServerResponse, answer: StoredAnswer, extraHeaders: Record<string, string> = {}): void {
    const { body } = answer;
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = {
      ...(text === ''
        ? {}
        : { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' }),
      ...answer.headers,
      ...extraHeaders,
    };
    res.writeHead(answer.status, headers);
    res.end(text);
  }

  /** The answer of a fault with a status; undefined for a pure delay. */
  function faultAnswer(
    rule: FaultRule,
    route: ServiceRoute | undefined,
    raw: unknown,
  ): StoredAnswer | undefined {
    if (rule.status === undefined) return undefined;
    const headers: Record<string, string> =
      rule.retryAfterS === undefined ? {} : { 'retry-after': String(rule.retryAfterS) };
    if (rule.body !== undefined) return { status: rule.status, body: rule.body, headers };
    if (rule.status === 202) return { status: 202, body: notYetBody(route, raw, clock.now()), headers };
    if (rule.status < 400) return { status: rule.status, headers };
    const code = rule.code ?? FAULT_CODES[rule.status] ?? ERROR_CODES.unavailable;
    return { status: rule.status, body: { error: { code, message: `scripted ${rule.status}` } }, headers };
  }

  /** Plays a fault; true when the call is answered (or dropped) by it. */
  async function playFault(
    rule: FaultRule,
    record: MutableRecord,
    route: ServiceRoute | undefined,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean> {
    record.fault = rule;
    stats.count(record.route, 'faults');
    if (rule.delayMs !== undefined) await delay(rule.delayMs);
    if (rule.hang) {
      stats.answered(record.route, 'hang');
      return true;
    }
    if (rule.reset) {
      stats.answered(record.route, 'reset');
      req.socket.destroy();
      return true;
    }
    const answer = faultAnswer(rule, route, record.body);
    if (answer === undefined) return false;
    reply(res, record, answer);
    return true;
  }

  function reply(res: ServerResponse, record: MutableRecord, answer: StoredAnswer, replay = false): void {
    record.status = answer.status;
    stats.answered(record.route, answer.status);
    send(res, answer, replay ? { [REPLAY_HEADER]: 'true' } : {});
  }

  /** Checks an answer against the contract's body for its status; a mismatch is the mock's bug. */
  function checkAnswer(route: ServiceRoute, answer: ServiceAnswer): string | undefined {
    const endpoint = route.endpoint;
    if (endpoint === undefined) return undefined;
    const schema = answer.status === 200 ? endpoint.response : endpoint.statuses[answer.status]?.body;
    if (schema === undefined)
      return answer.body === undefined || answer.status >= 400 ? undefined : 'no body expected';
    const parsed = schema.safeParse(answer.body);
    return parsed.success ? undefined : JSON.stringify(parsed.error.issues);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://mock.invalid');
    const route = findRoute(method, url.pathname);
    const routeName = route ? `${route.method} ${route.path}` : `${method} ${url.pathname}`;
    const text = await readBody(req);
    const keyHeader = req.headers['idempotency-key'];
    const key = typeof keyHeader === 'string' && keyHeader !== '' ? keyHeader : undefined;
    let raw: unknown = undefined;
    let jsonError: string | undefined;
    if (text !== '') {
      try {
        raw = JSON.parse(text) as unknown;
      } catch (error) {
        raw = text;
        jsonError = errorMessage(error);
      }
    }
    const record: MutableRecord = {
      at: clock.now(),
      method,
      path: url.pathname,
      route: routeName,
      idempotencyKey: key,
      contractKey: route?.endpoint && method === 'POST' ? contractKeyOf(route.endpoint, raw) : undefined,
      body: raw,
      claims: undefined,
      tokenError: undefined,
      status: undefined,
      replay: false,
      applied: false,
      fault: undefined,
    };
    requests.push(record);
    if (requests.length > maxRecorded) requests.shift();
    stats.count(routeName, 'requests');

    if (verifier !== undefined) {
      const authorization = req.headers.authorization;
      if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) {
        record.tokenError = 'no bearer token';
      } else {
        try {
          record.claims = await verifier.verify(authorization.slice('Bearer '.length));
        } catch (error) {
          record.tokenError = errorMessage(error);
        }
      }
      if (record.tokenError !== undefined) {
        stats.count(routeName, 'unauthorized');
        reply(res, record, errorAnswer(401, 'UNAUTHORIZED', 'invalid service token'));
        return;
      }
    }
    if (route === undefined) {
      reply(res, record, errorAnswer(404, ERROR_CODES.notFound, `no route ${routeName}`));
      return;
    }
    const faultRoutes = [`${method} ${url.pathname}`, routeName];
    const before = faults.take(faultRoutes, 'before');
    if (before !== undefined && (await playFault(before, record, route, req, res))) return;

    const endpoint = route.endpoint;
    const idempotent = endpoint?.idempotencyKey !== undefined && method === 'POST';
    if (jsonError !== undefined) {
      stats.count(routeName, 'invalid');
      reply(res, record, errorAnswer(400, ERROR_CODES.invalidRequest, `body is not JSON: ${jsonError}`));
      return;
    }
    if (idempotent && key === undefined) {
      stats.count(routeName, 'invalid');
      reply(res, record, errorAnswer(400, ERROR_CODES.invalidRequest, 'mutations need an Idempotency-Key'));
      return;
    }
    if (idempotent && key !== undefined) {
      if (record.contractKey !== undefined && record.contractKey !== key)
        stats.count(routeName, 'contractKeyMismatches');
      const lookup = keys.begin(key, routeName, fingerprintOf(routeName, raw));
      if (lookup.kind === 'replay') {
        record.replay = true;
        stats.count(routeName, 'replays');
        reply(res, record, lookup.answer, true);
        return;
      }
      if (lookup.kind === 'in-progress') {
        stats.count(routeName, 'inProgress');
        reply(
          res,
          record,
          errorAnswer(409, ERROR_CODES.inProgress, 'a request with this key is in progress'),
        );
        return;
      }
      if (lookup.kind === 'mismatch') {
        stats.count(routeName, 'keyMismatches');
        reply(
          res,
          record,
          errorAnswer(409, ERROR_CODES.keyMismatch, 'this key was used with another request'),
        );
        return;
      }
    }

    let answer: ServiceAnswer;
    try {
      const wait = latencyMs();
      if (wait > 0) await delay(wait);
      answer = answerOf(route, raw, key, url, req.headers, routeName);
    } catch (error) {
      if (idempotent && key !== undefined) keys.forget(key);
      throw error;
    }
    const violation = checkAnswer(route, answer);
    if (violation !== undefined) {
      stats.count(routeName, 'contractViolations');
      answer = errorAnswer(
        500,
        'MOCK_CONTRACT_VIOLATION',
        `mock answer ${answer.status} breaks the contract`,
        {
          issues: violation,
        },
      );
    }
    const applied = answer.applied === true && violation === undefined;
    const stored: StoredAnswer = {
      status: answer.status,
      ...(answer.body === undefined ? {} : { body: answer.body }),
      ...(answer.headers === undefined ? {} : { headers: answer.headers }),
    };
    if (idempotent && key !== undefined) keys.finish(key, stored, applied);
    if (applied) {
      record.applied = true;
      stats.count(routeName, 'applied');
    }
    const after = faults.take(faultRoutes, 'after');
    if (after !== undefined && (await playFault(after, record, route, req, res))) return;
    reply(res, record, stored);
  }

  function answerOf(
    route: ServiceRoute,
    raw: unknown,
    key: string | undefined,
    url: URL,
    headers: IncomingHttpHeaders,
    routeName: string,
  ): ServiceAnswer {
    const endpoint = route.endpoint;
    let data: unknown = undefined;
    const schema =
      endpoint === undefined ? undefined : route.method === 'GET' ? endpoint.query : endpoint.request;
    if (schema !== undefined) {
      const input = route.method === 'GET' ? Object.fromEntries(url.searchParams) : raw;
      const parsed = schema.safeParse(input);
      if (!parsed.success) {
        stats.count(routeName, 'invalid');
        return errorAnswer(400, ERROR_CODES.invalidRequest, 'the request failed validation', {
          issues: parsed.error.issues.map((issue) => ({
            path: issue.path.map(String).join('.'),
            message: issue.message,
          })),
        });
      }
      data = parsed.data;
    }
    return route.handle({
      data,
      raw,
      key,
      now: clock.now(),
      path: url.pathname,
      query: url.searchParams,
      headers,
    });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'MOCK_FAILED', message: errorMessage(error) } }));
      }
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    name: options.name,
    url: `http://${options.urlHost ?? '127.0.0.1'}:${port}`,
    requests,
    requestsTo: (route) => requests.filter((r) => r.route === route || `${r.method} ${r.path}` === route),
    fault: (route, rules) => faults.add(route, rules),
    clearFaults: (route) => faults.clear(route),
    applied: (key) => keys.applied(key),
    appliedTwice: () => keys.appliedTwice(),
    stats: () => stats.snapshot(options.name, keys.appliedTwice()),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * A "not yet" body for a scripted 202: the id named first in the key spec, a reason, a `retryAt` and
 * `state: running`, so it parses as any of the contracts' 202 bodies (they drop unknown fields).
 */
function notYetBody(route: ServiceRoute | undefined, raw: unknown, now: number): Record<string, unknown> {
  const idField = route?.endpoint?.idempotencyKey?.parts[0];
  const body = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  return {
    ...(idField === undefined || body[idField] === undefined ? {} : { [idField]: body[idField] }),
    reason: 'scripted 202',
    state: 'running',
    retryAt: new Date(now + 1000).toISOString(),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
  }
  return body;
}
