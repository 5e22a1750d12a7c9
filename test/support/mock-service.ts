// A mock internal platform service on listen(0): verifies service JWTs, records requests, applies each
// Idempotency-Key once and answers from a per-route script (status, headers, body, hang, reset).
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import type { Clock } from '../../src/clock.js';
import { errorMessage } from '../../src/errors.js';
import {
  createServiceTokenVerifier,
  type ServiceTokenClaims,
} from '../../src/sinks/service-token-verifier.js';

/** One scripted answer; steps of a route are used in order, then the default (apply once, 200) takes over. */
export interface MockStep {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON-encoded unless it is a string. */
  readonly body?: unknown;
  /** Never answer (the connection stays open until the client gives up or the mock closes). */
  readonly hang?: boolean;
  /** Destroy the socket without answering. */
  readonly reset?: boolean;
  /** Send the body in 1 KiB chunks without a content-length. */
  readonly chunked?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** The query string without its `?` ('' when none). */
  readonly query: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
  readonly idempotencyKey: string | undefined;
  readonly claims: ServiceTokenClaims | undefined;
  /** Why the token was refused, when it was. */
  readonly tokenError: string | undefined;
  /** The scripted step used, if any. */
  readonly step: MockStep | undefined;
}

export interface MockServiceOptions {
  /** This service's name: the `aud` tokens must carry. */
  readonly audience: string;
  /** Keys accepted; the verifier pins EdDSA, issuer, audience and age. */
  readonly publicJwks: readonly JWK[];
  readonly issuers?: string | readonly string[];
  readonly clock?: Clock;
  /** Per route (`POST /internal/v1/cfb/settle`), answers in order. */
  readonly routes?: Readonly<Record<string, readonly MockStep[]>>;
  /** Serve https; with `requestCert` only clients with a certificate signed by `ca` get through. */
  readonly tls?: {
    readonly key: string;
    readonly cert: string;
    readonly ca?: string;
    readonly requestCert?: boolean;
  };
}

export interface MockService {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  requestsTo(route: string): RecordedRequest[];
  /** Appends answers to a route's script. */
  script(route: string, steps: readonly MockStep[]): void;
  /** Times the effect of this key was applied (0 or 1 for a correct service). */
  applied(key: string): number;
  /** Keys applied more than once; always 0. */
  appliedTwice(): number;
  /** TLS handshakes refused (mTLS without a valid client certificate). */
  readonly tlsRejections: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function startMockService(options: MockServiceOptions): Promise<MockService> {
  const verifier = createServiceTokenVerifier({
    publicJwks: options.publicJwks,
    issuers: options.issuers ?? 'workers',
    audience: options.audience,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const scripts = new Map<string, MockStep[]>(
    Object.entries(options.routes ?? {}).map(([route, steps]) => [route, [...steps]]),
  );
  const requests: RecordedRequest[] = [];
  const appliedByKey = new Map<string, number>();
  const answerByKey = new Map<string, object>();
  let tlsRejections = 0;

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
    chunked = false,
  ): void {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const type = typeof body === 'string' ? 'text/plain' : 'application/json';
    res.writeHead(status, { ...(text === '' ? {} : { 'content-type': type }), ...headers });
    if (!chunked) {
      res.end(text);
      return;
    }
    for (let i = 0; i < text.length; i += 1024) res.write(text.slice(i, i + 1024));
    res.end();
  }

  function apply(key: string, body: unknown): object {
    appliedByKey.set(key, (appliedByKey.get(key) ?? 0) + 1);
    const answer = { applied: true, key, request: body ?? null };
    answerByKey.set(key, answer);
    return answer;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const method = req.method ?? 'GET';
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const route = `${method} ${path}`;
    const key =
      typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
    let body: unknown = text;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      // kept as text
    }
    const authorization = req.headers.authorization;
    let claims: ServiceTokenClaims | undefined;
    let tokenError: string | undefined;
    if (typeof authorization !== 'string' || !authorization.startsWith('Bearer '))
      tokenError = 'no bearer token';
    else {
      try {
        claims = await verifier.verify(authorization.slice('Bearer '.length));
      } catch (error) {
        tokenError = errorMessage(error);
      }
    }
    const step = tokenError === undefined ? scripts.get(route)?.shift() : undefined;
    requests.push({
      method,
      path,
      query,
      headers: { ...req.headers },
      body,
      idempotencyKey: key,
      claims,
      tokenError,
      step,
    });

    if (tokenError !== undefined) {
      send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'invalid service token' } });
      return;
    }
    if (method !== 'GET' && key === undefined) {
      send(res, 400, {
        error: { code: 'IDEMPOTENCY_KEY_REQUIRED', message: 'mutations need an Idempotency-Key' },
      });
      return;
    }
    if (step?.hang) return;
    if (step?.reset) {
      req.socket.destroy();
      return;
    }
    if (step) {
      const status = step.status ?? 200;
      // a scripted success applies the effect like the default would (once per key)
      if (status >= 200 && status < 300 && status !== 202 && key !== undefined && !answerByKey.has(key)) {
        apply(key, body);
      }
      send(res, status, step.body, { ...step.headers }, step.chunked ?? false);
      return;
    }
    if (key === undefined) {
      send(res, 200, { ok: true });
      return;
    }
    // lookup and application in one synchronous step, so concurrent repeats cannot both apply
    const answer = answerByKey.get(key) ?? apply(key, body);
    send(res, 200, answer);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { code: 'MOCK_FAILED', message: errorMessage(error) } });
    });
  };
  const server: Server = options.tls
    ? createHttpsServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }),
          requestCert: options.tls.requestCert ?? false,
          rejectUnauthorized: options.tls.requestCert ?? false,
        },
        listener,
      )
    : createHttpServer(listener);
  server.on('tlsClientError', () => (tlsRejections += 1));
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    requestsTo: (route) => requests.filter((r) => `${r.method} ${r.path}` === route),
    script(route, steps) {
      scripts.set(route, [...(scripts.get(route) ?? []), ...steps]);
    },
    applied: (key) => appliedByKey.get(key) ?? 0,
    appliedTwice: () => [...appliedByKey.values()].filter((n) => n > 1).length,
    get tlsRejections() {
      return tlsRejections;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
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
