// Loopback mocks for the commerce pack: Commerce's internal API (service JWT, Idempotency-Key applied once, stateful
// fx/translation/product/sitemap/domain/webhook routes, scripted faults) and the external side (fx providers, LLMs,
// email and push providers, webhook receivers verifying signatures, domain verification targets), plus a fake DNS.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { errorMessage } from '../../src/errors.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { derivedEventId } from '../../src/jobs/due-sweeper.js';
import type { DnsResolver } from '../../src/jobs/commerce/domain-checks.js';
import { createServiceTokenVerifier } from '../../src/sinks/service-token-verifier.js';

/** One scripted answer, used once before the route's normal behaviour. */
export interface MockAnswer {
  /** Let this request through to the route's normal behaviour (to fail a later one). */
  readonly pass?: boolean;
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON unless a string. */
  readonly body?: unknown;
  readonly hang?: boolean;
  readonly reset?: boolean;
}

export interface MockRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw body text. */
  readonly text: string;
  /** Parsed JSON, or undefined. */
  readonly body: unknown;
  readonly at: number;
}

interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

function parse(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const text =
    reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  const type = typeof reply.body === 'string' ? 'text/plain' : 'application/json';
  res.writeHead(reply.status, { ...(text === '' ? {} : { 'content-type': type }), ...reply.headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A listen(0) server with scripted answers per route (`METHOD /path`) in front of `route`. */
async function startScriptedServer(
  route: (request: MockRequest, req: IncomingMessage) => Reply | Promise<Reply>,
): Promise<{
  readonly port: number;
  readonly requests: MockRequest[];
  readonly script: (key: string, answers: readonly MockAnswer[]) => void;
  readonly reset: () => void;
  readonly close: () => Promise<void>;
}> {
  const scripts = new Map<string, MockAnswer[]>();
  const requests: MockRequest[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const text = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://mock');
      const request: MockRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: { ...req.headers },
        text,
        body: parse(text),
        at: Date.now(),
      };
      requests.push(request);
      const step = scripts.get(`${request.method} ${request.path}`)?.shift();
      if (step?.hang === true) return;
      if (step?.reset === true) {
        req.socket.destroy();
        return;
      }
      if (step !== undefined && step.pass !== true) {
        send(res, {
          status: step.status ?? 200,
          body: step.body,
          ...(step.headers === undefined ? {} : { headers: step.headers }),
        });
        return;
      }
      send(res, await route(request, req));
    })().catch((error: unknown) => {
      if (!res.headersSent)
        send(res, { status: 500, body: { error: { code: 'MOCK_FAILED', message: errorMessage(error) } } });
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    script: (key, answers) => {
      scripts.set(key, [...(scripts.get(key) ?? []), ...answers]);
    },
    reset: () => {
      scripts.clear();
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

const error = (status: number, code: string, message = code): Reply => ({
  status,
  body: { error: { code, message } },
});

// ---------------------------------------------------------------- Commerce's internal API

export interface LocalProductRecord {
  externalId: string;
  productId: string;
  version: number;
  product: Record<string, unknown>;
  locallyModifiedAt: string | null;
}

export interface TranslationRecord {
  status: 'DRAFT' | 'AUTO_TRANSLATED' | 'VENDOR_APPROVED' | 'PUBLISHED';
  sourceHash: string | null;
  text?: string;
  body?: unknown;
}

export interface StoredFile {
  readonly tenantId: string;
  readonly jobId: string;
  readonly kind: string;
  readonly name: string;
  readonly content: string;
  readonly urlCount: number;
  readonly bytes: number;
}

export interface WebhookEndpointRecord {
  endpointId: string;
  tenantId: string;
  url: string;
  secret: string;
  status: 'active' | 'disabled';
  ratePerSecond?: number;
  burst?: number;
}

export interface MockCommerce {
  readonly url: string;
  readonly requests: readonly MockRequest[];
  requestsTo(route: string): MockRequest[];
  /** Scripted answers for `METHOD /path`, before the normal behaviour. */
  script(route: string, answers: readonly MockAnswer[]): void;
  /** Requests whose service token was refused. */
  readonly refusedTokens: number;
  /** Times the effect of this Idempotency-Key was applied. */
  applied(key: string): number;
  appliedTwice(): number;
  readonly fxSnapshots: Record<string, unknown>[];
  /** `tenant|entity|field|locale` -> row. */
  readonly translations: Map<string, TranslationRecord>;
  /** Connected sources listed to product.sync.schedule. */
  readonly productSources: { tenantId: string; source: string; conflictResolution?: string }[];
  /** `tenant|source` -> raw products at the source, in change order. */
  readonly sourceChanges: Map<string, unknown[]>;
  /** `tenant|source` -> index of the committed sync point. */
  readonly syncPoints: Map<string, number>;
  /** `tenant|source|externalId` -> local copy. */
  readonly products: Map<string, LocalProductRecord>;
  readonly productConflicts: Record<string, unknown>[];
  readonly applies: Record<string, unknown>[];
  readonly sitemapTenants: string[];
  readonly sitemapConfigs: Map<string, { baseUrl: string; locales: string[] }>;
  /** `tenant|locale|type` -> URLs. */
  readonly sitemapUrls: Map<string, { loc: string; lastmod?: string }[]>;
  /** `tenant/name` -> file. */
  readonly files: Map<string, StoredFile>;
  /** tenant -> names of the live set (the last index upload). */
  readonly liveSitemaps: Map<string, string[]>;
  readonly domainStatuses: Map<string, { status: string; reason?: string }>;
  readonly webhookEndpoints: Map<string, WebhookEndpointRecord>;
  close(): Promise<void>;
}

export const STORAGE_BASE = 'https://storage.example/sitemaps';

function page<T>(
  items: readonly T[],
  query: URLSearchParams,
  start = 0,
): { items: T[]; nextCursor: string | null } {
  const from = query.get('cursor') === null ? start : Number(query.get('cursor'));
  const limit = Number(query.get('limit') ?? '100');
  const slice = items.slice(from, from + limit);
  return { items: slice, nextCursor: from + limit < items.length ? String(from + limit) : null };
}

function externalIdOf(raw: unknown): string {
  const record = raw as { id?: unknown; externalId?: unknown };
  return String(record.externalId ?? record.id);
}

export async function startMockCommerce(options: {
  readonly publicJwks: readonly JWK[];
}): Promise<MockCommerce> {
  const verifier = createServiceTokenVerifier({
    publicJwks: options.publicJwks,
    issuers: 'workers',
    audience: 'commerce',
  });
  const appliedByKey = new Map<string, number>();
  const answers = new Map<string, { text: string; reply: Reply }>();
  let refusedTokens = 0;
  const state = {
    fxSnapshots: [] as Record<string, unknown>[],
    translations: new Map<string, TranslationRecord>(),
    productSources: [] as { tenantId: string; source: string; conflictResolution?: string }[],
    sourceChanges: new Map<string, unknown[]>(),
    syncPoints: new Map<string, number>(),
    products: new Map<string, LocalProductRecord>(),
    productConflicts: [] as Record<string, unknown>[],
    applies: [] as Record<string, unknown>[],
    sitemapTenants: [] as string[],
    sitemapConfigs: new Map<string, { baseUrl: string; locales: string[] }>(),
    sitemapUrls: new Map<string, { loc: string; lastmod?: string }[]>(),
    files: new Map<string, StoredFile>(),
    liveSitemaps: new Map<string, string[]>(),
    domainStatuses: new Map<string, { status: string; reason?: string }>(),
    webhookEndpoints: new Map<string, WebhookEndpointRecord>(),
  };

  const localsOf = (tenantId: string, source: string, ids: readonly string[]): LocalProductRecord[] =>
    ids.flatMap((id) => {
      const local = state.products.get(`${tenantId}|${source}|${id}`);
      return local === undefined ? [] : [local];
    });

  /** The effect of a mutation (applied once per key by the caller). */
  function mutate(request: MockRequest): Reply {
    const body = request.body as Record<string, unknown>;
    switch (request.path) {
      case '/internal/v1/commerce/fx/snapshots':
        state.fxSnapshots.push(body);
        return { status: 200, body: { snapshotId: `snap_${state.fxSnapshots.length}` } };
      case '/internal/v1/commerce/translations': {
        const id = [body['tenantId'], body['entityId'], body['fieldName'], body['targetLocale']].join('|');
        const row = state.translations.get(id);
        if (row !== undefined && (row.status === 'VENDOR_APPROVED' || row.status === 'PUBLISHED')) {
          return error(409, 'TRANSLATION_LOCKED');
        }
        state.translations.set(id, {
          status: 'AUTO_TRANSLATED',
          sourceHash: String(body['sourceHash']),
          text: String(body['text']),
          body,
        });
        return { status: 200, body: { status: 'AUTO_TRANSLATED' } };
      }
      case '/internal/v1/commerce/product-sync/apply': {
        const tenantId = String(body['tenantId']);
        const source = String(body['source']);
        const upserts = body['upserts'] as {
          externalId: string;
          expectedVersion: number | null;
          product: Record<string, unknown>;
        }[];
        for (const upsert of upserts) {
          const current = state.products.get(`${tenantId}|${source}|${upsert.externalId}`);
          if ((current?.version ?? null) !== upsert.expectedVersion) return error(409, 'VERSION_CONFLICT');
        }
        for (const upsert of upserts) {
          const key = `${tenantId}|${source}|${upsert.externalId}`;
          const current = state.products.get(key);
          state.products.set(key, {
            externalId: upsert.externalId,
            productId: current?.productId ?? `prod_${upsert.externalId}`,
            version: (current?.version ?? 0) + 1,
            product: { ...current?.product, ...upsert.product },
            locallyModifiedAt: null,
          });
        }
        const conflicts = body['conflicts'] as Record<string, unknown>[];
        state.productConflicts.push(...conflicts);
        state.applies.push(body);
        if ('nextCursor' in body) {
          const changes = state.sourceChanges.get(`${tenantId}|${source}`) ?? [];
          const next = body['nextCursor'];
          state.syncPoints.set(`${tenantId}|${source}`, next === null ? changes.length : Number(next));
        }
        return { status: 200, body: { applied: upserts.length, flagged: conflicts.length } };
      }
      case '/internal/v1/commerce/sitemap/files': {
        const content = String(body['content']);
        const sha = createHash('sha256').update(content).digest('hex');
        if (sha !== body['sha256'] || Buffer.byteLength(content) !== body['bytes']) {
          return error(400, 'INVALID_REQUEST', 'sha256 or bytes do not match the content');
        }
        const tenantId = String(body['tenantId']);
        const name = String(body['name']);
        state.files.set(`${tenantId}/${name}`, {
          tenantId,
          jobId: String(body['jobId']),
          kind: String(body['kind']),
          name,
          content,
          urlCount: Number(body['urlCount']),
          bytes: Buffer.byteLength(content),
        });
        if (body['kind'] === 'index') state.liveSitemaps.set(tenantId, body['files'] as string[]);
        return { status: 200, body: { name, url: `${STORAGE_BASE}/${tenantId}/${name}` } };
      }
      case '/internal/v1/commerce/domains/status':
        state.domainStatuses.set(String(body['domainId']), {
          status: String(body['status']),
          ...(typeof body['reason'] === 'string' ? { reason: body['reason'] } : {}),
        });
        return { status: 200, body: { status: body['status'] } };
      default:
        return error(404, 'NOT_FOUND', `no route ${request.method} ${request.path}`);
    }
  }

  function read(request: MockRequest): Reply {
    const q = request.query;
    switch (request.path) {
      case '/internal/v1/commerce/translations/status': {
        const row = state.translations.get(
          [q.get('tenantId'), q.get('entityId'), q.get('fieldName'), q.get('locale')].join('|'),
        );
        return { status: 200, body: { status: row?.status ?? null, sourceHash: row?.sourceHash ?? null } };
      }
      case '/internal/v1/commerce/product-sync/sources':
        return { status: 200, body: page(state.productSources, q) };
      case '/internal/v1/commerce/product-sync/changes': {
        const id = `${q.get('tenantId')}|${q.get('source')}`;
        const changes = state.sourceChanges.get(id) ?? [];
        const result = page(changes, q, state.syncPoints.get(id) ?? 0);
        const tenantId = q.get('tenantId') ?? '';
        const source = q.get('source') ?? '';
        return {
          status: 200,
          body: {
            items: result.items.map((external) => ({
              external,
              local: localsOf(tenantId, source, [externalIdOf(external)])[0] ?? null,
            })),
            nextCursor: result.nextCursor,
          },
        };
      }
      case '/internal/v1/commerce/products/by-external-id':
        return {
          status: 200,
          body: {
            items: localsOf(
              q.get('tenantId') ?? '',
              q.get('source') ?? '',
              (q.get('externalIds') ?? '').split(','),
            ),
          },
        };
      case '/internal/v1/commerce/sitemap/tenants':
        return {
          status: 200,
          body: page(
            state.sitemapTenants.map((tenantId) => ({ tenantId })),
            q,
          ),
        };
      case '/internal/v1/commerce/sitemap/config': {
        const config = state.sitemapConfigs.get(q.get('tenantId') ?? '');
        return config === undefined
          ? error(404, 'NOT_FOUND')
          : { status: 200, body: { tenantId: q.get('tenantId'), ...config } };
      }
      case '/internal/v1/commerce/sitemap/urls':
        return {
          status: 200,
          body: page(
            state.sitemapUrls.get([q.get('tenantId'), q.get('locale'), q.get('type')].join('|')) ?? [],
            q,
          ),
        };
      case '/internal/v1/commerce/webhooks/endpoint': {
        const endpoint = state.webhookEndpoints.get(q.get('endpointId') ?? '');
        return endpoint === undefined ? error(404, 'NOT_FOUND') : { status: 200, body: endpoint };
      }
      default:
        return error(404, 'NOT_FOUND', `no route ${request.method} ${request.path}`);
    }
  }

  const server = await startScriptedServer(async (request, req) => {
    const authorization = req.headers.authorization;
    try {
      if (typeof authorization !== 'string' || !authorization.startsWith('Bearer '))
        throw new Error('no token');
      await verifier.verify(authorization.slice('Bearer '.length));
    } catch {
      refusedTokens += 1;
      return error(401, 'UNAUTHORIZED');
    }
    if (request.method === 'GET') return read(request);
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string') return error(400, 'IDEMPOTENCY_KEY_REQUIRED');
    const previous = answers.get(key);
    if (previous !== undefined) {
      return previous.text === request.text ? previous.reply : error(409, 'IDEMPOTENCY_KEY_MISMATCH');
    }
    const reply = mutate(request);
    // only successes are remembered: a refused request may be sent again with the same key
    if (reply.status >= 200 && reply.status < 300) {
      answers.set(key, { text: request.text, reply });
      appliedByKey.set(key, (appliedByKey.get(key) ?? 0) + 1);
    }
    return reply;
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    requests: server.requests,
    requestsTo: (route) => server.requests.filter((r) => `${r.method} ${r.path}` === route),
    script: server.script,
    get refusedTokens() {
      return refusedTokens;
    },
    applied: (key) => appliedByKey.get(key) ?? 0,
    appliedTwice: () => [...appliedByKey.values()].filter((n) => n > 1).length,
    ...state,
    close: server.close,
  };
}

// ---------------------------------------------------------------- the external side

/** What a webhook receiver saw: every attempt, and the deliveries it applied (once per Idempotency-Key). */
export interface ReceivedDelivery {
  readonly idempotencyKey: string;
  readonly body: string;
  readonly signature: string;
  readonly timestamp: string;
  readonly validSignature: boolean;
}

export interface MockExternal {
  /** http://localhost:<port>: the SSRF guard lets it through with EXTERNAL_ALLOW_LOOPBACK_HOSTS=localhost. */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly MockRequest[];
  requestsTo(route: string): MockRequest[];
  script(route: string, answers: readonly MockAnswer[]): void;
  /** Rates the fx providers quote (per provider base). */
  readonly fx: {
    oxr: { timestamp: number; base: string; rates: Record<string, number> };
    fixer: { timestamp: number; base: string; rates: Record<string, number> };
    ecb: { time: string; rates: Record<string, number> };
  };
  /** The "model": translated text for a user message and target locale (tokens must be kept by it). */
  translator: (text: string, targetLocale: string) => string;
  /** Webhook receivers by path (`/hooks/<name>`): the secret they verify with. */
  readonly hookSecrets: Map<string, string>;
  /** The receiver at `path` answers these statuses to its next attempts (after checking their signatures). */
  failNext(path: string, statuses: readonly number[]): void;
  /** Attempts per receiver path. */
  attempts(path: string): ReceivedDelivery[];
  /** Applied deliveries per receiver path (one per Idempotency-Key, valid signatures only). */
  deliveries(path: string): ReceivedDelivery[];
  readonly emails: Record<string, unknown>[];
  readonly pushes: Record<string, unknown>[];
  /** Domain verification targets: the file and homepage served on this host. */
  verificationFile: string | undefined;
  homepage: string | undefined;
  /** Forgets requests, scripts, attempts, deliveries, messages and verification targets (between tests). */
  reset(): void;
  close(): Promise<void>;
}

export const ANTHROPIC_KEY = 'sk-ant-test-key';
export const OPENAI_KEY = 'sk-openai-test-key';
export const OXR_APP_ID = 'oxr-test-app';
export const FIXER_KEY = 'fixer-test-key';

function verify(secret: string, timestamp: string, body: string, header: string): boolean {
  const expected = Buffer.from(
    `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`,
  );
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startMockExternal(): Promise<MockExternal> {
  const now = Math.floor(Date.now() / 1000);
  const attempts = new Map<string, ReceivedDelivery[]>();
  const applied = new Map<string, ReceivedDelivery[]>();
  const hookFailures = new Map<string, number[]>();
  const state = {
    fx: {
      oxr: { timestamp: now - 60, base: 'USD', rates: { USD: 1, EUR: 0.9, GBP: 0.8, JPY: 150 } },
      fixer: { timestamp: now - 120, base: 'EUR', rates: { EUR: 1, USD: 1.1, GBP: 0.88, JPY: 165 } },
      ecb: { time: '2026-11-20', rates: { USD: 1.08, GBP: 0.87, JPY: 162 } },
    },
    translator: (text: string, targetLocale: string) => `[${targetLocale}] ${text}`,
    hookSecrets: new Map<string, string>(),
    emails: [] as Record<string, unknown>[],
    pushes: [] as Record<string, unknown>[],
    verificationFile: undefined as string | undefined,
    homepage: undefined as string | undefined,
  };

  const targetOf = (system: string): string => /to ([A-Za-z-]+)\. Keep/.exec(system)?.[1] ?? '??';

  const server = await startScriptedServer((request) => {
    const header = (name: string): string => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : '';
    };
    if (request.path.startsWith('/hooks/')) {
      const secret = state.hookSecrets.get(request.path);
      if (secret === undefined) return { status: 404, body: 'no such hook' };
      const received: ReceivedDelivery = {
        idempotencyKey: header('idempotency-key'),
        body: request.text,
        signature: header('x-webhook-signature'),
        timestamp: header('x-webhook-timestamp'),
        validSignature: verify(
          secret,
          header('x-webhook-timestamp'),
          request.text,
          header('x-webhook-signature'),
        ),
      };
      attempts.set(request.path, [...(attempts.get(request.path) ?? []), received]);
      if (!received.validSignature) return { status: 401, body: 'bad signature' };
      const failure = hookFailures.get(request.path)?.shift();
      if (failure !== undefined) return { status: failure, body: 'scripted failure' };
      const done = applied.get(request.path) ?? [];
      if (!done.some((d) => d.idempotencyKey === received.idempotencyKey)) {
        applied.set(request.path, [...done, received]);
      }
      return { status: 200, body: { received: true } };
    }
    switch (`${request.method} ${request.path}`) {
      case 'GET /oxr/latest.json':
        return request.query.get('app_id') === OXR_APP_ID
          ? { status: 200, body: state.fx.oxr }
          : { status: 401, body: { error: true, status: 401, message: 'invalid_app_id' } };
      case 'GET /fixer/latest':
        return request.query.get('access_key') === FIXER_KEY
          ? { status: 200, body: { success: true, date: '2026-11-20', ...state.fx.fixer } }
          : { status: 200, body: { success: false, error: { code: 101, type: 'invalid_access_key' } } };
      case 'GET /ecb/eurofxref-daily.xml': {
        const cubes = Object.entries(state.fx.ecb.rates)
          .map(([currency, rate]) => `<Cube currency='${currency}' rate='${rate}'/>`)
          .join('');
        return {
          status: 200,
          body:
            '<?xml version="1.0" encoding="UTF-8"?><gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" ' +
            'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><gesmes:subject>Reference rates</gesmes:subject>' +
            `<Cube><Cube time='${state.fx.ecb.time}'>${cubes}</Cube></Cube></gesmes:Envelope>`,
        };
      }
      case 'POST /anthropic/v1/messages': {
        if (header('x-api-key') !== ANTHROPIC_KEY) return { status: 401, body: { type: 'error' } };
        const body = request.body as { system: string; messages: { content: string }[] };
        const text = state.translator(body.messages[0]?.content ?? '', targetOf(body.system));
        return { status: 200, body: { content: [{ type: 'text', text }], stop_reason: 'end_turn' } };
      }
      case 'POST /openai/v1/chat/completions': {
        if (header('authorization') !== `Bearer ${OPENAI_KEY}`) return { status: 401, body: { error: {} } };
        const body = request.body as { messages: { content: string }[] };
        const text = state.translator(
          body.messages[1]?.content ?? '',
          targetOf(body.messages[0]?.content ?? ''),
        );
        return { status: 200, body: { choices: [{ message: { content: text }, finish_reason: 'stop' }] } };
      }
      case 'POST /email/send':
        state.emails.push({
          key: header('idempotency-key'),
          auth: header('authorization'),
          ...(request.body as object),
        });
        return { status: 202, body: { id: `em_${state.emails.length}` } };
      case 'POST /push/send':
        state.pushes.push({ key: header('idempotency-key'), ...(request.body as object) });
        return { status: 200, body: { id: `push_${state.pushes.length}` } };
      case 'GET /.well-known/broxiva-verification.txt':
        return state.verificationFile === undefined
          ? { status: 404, body: 'not found' }
          : { status: 200, body: state.verificationFile };
      case 'GET /':
        return state.homepage === undefined
          ? { status: 404, body: 'not found' }
          : { status: 200, body: state.homepage, headers: { 'content-type': 'text/html' } };
      default:
        return { status: 404, body: 'not found' };
    }
  });

  return Object.assign(state, {
    url: `http://localhost:${server.port}`,
    port: server.port,
    requests: server.requests,
    requestsTo: (route: string) => server.requests.filter((r) => `${r.method} ${r.path}` === route),
    script: server.script,
    failNext(path: string, statuses: readonly number[]) {
      hookFailures.set(path, [...(hookFailures.get(path) ?? []), ...statuses]);
    },
    reset() {
      server.reset();
      attempts.clear();
      applied.clear();
      hookFailures.clear();
      state.hookSecrets.clear();
      state.emails.length = 0;
      state.pushes.length = 0;
      state.verificationFile = undefined;
      state.homepage = undefined;
      state.translator = (text: string, targetLocale: string) => `[${targetLocale}] ${text}`;
    },
    attempts: (path: string) => attempts.get(path) ?? [],
    deliveries: (path: string) => applied.get(path) ?? [],
    close: server.close,
  });
}

/** DNS records for domain.verify's dns_txt and dns_cname checks; unknown names answer ENOTFOUND like real DNS. */
export function createFakeResolver(): DnsResolver & {
  readonly txt: Map<string, string[][]>;
  readonly cname: Map<string, string[]>;
  readonly lookups: string[];
} {
  const txt = new Map<string, string[][]>();
  const cname = new Map<string, string[]>();
  const lookups: string[] = [];
  const notFound = (name: string): Error =>
    Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND', hostname: name });
  return {
    txt,
    cname,
    lookups,
    resolveTxt(name) {
      lookups.push(`TXT ${name}`);
      const records = txt.get(name);
      return records === undefined ? Promise.reject(notFound(name)) : Promise.resolve(records);
    },
    resolveCname(name) {
      lookups.push(`CNAME ${name}`);
      const records = cname.get(name);
      return records === undefined ? Promise.reject(notFound(name)) : Promise.resolve(records);
    },
  };
}

// ---------------------------------------------------------------- test helpers

let sequence = 0;

/** A commerce event as Commerce would publish it (a fresh ULID, `occurredAt` now unless given). */
export function commerceEvent<T extends object>(
  type: string,
  key: string,
  data: T,
  occurredAt = new Date().toISOString(),
): EventEnvelope<T> {
  sequence += 1;
  return {
    id: derivedEventId(Date.now(), type, key, String(sequence), String(Math.random())),
    type,
    key,
    occurredAt,
    source: 'commerce',
    schemaVersion: 1,
    data,
  };
}

/** Worker variables pointing the commerce pack at the mocks, with fast retries (the seed's bases are seconds). */
export function commerceEnv(
  commerce: MockCommerce,
  external: MockExternal,
  privateJwk: JWK,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    SVC_COMMERCE_URL: commerce.url,
    SERVICE_JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
    COMMERCE_QUEUE_OPTIONS: JSON.stringify({ '*': { baseMs: 50, maxMs: 200 } }),
    OPEN_EXCHANGE_RATES_APP_ID: OXR_APP_ID,
    FIXER_API_KEY: FIXER_KEY,
    FX_OPENEXCHANGERATES_URL: `${external.url}/oxr/latest.json`,
    FX_FIXER_URL: `${external.url}/fixer/latest`,
    FX_ECB_URL: `${external.url}/ecb/eurofxref-daily.xml`,
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    OPENAI_API_KEY: OPENAI_KEY,
    TRANSLATION_ANTHROPIC_URL: `${external.url}/anthropic/v1/messages`,
    TRANSLATION_OPENAI_URL: `${external.url}/openai/v1/chat/completions`,
    EMAIL_PROVIDER_URL: `${external.url}/email/send`,
    EMAIL_PROVIDER_API_KEY: 'email-key',
    EMAIL_FROM: 'shop@example.com',
    NOTIFICATION_PROVIDER_URL: `${external.url}/push/send`,
    NOTIFICATION_PROVIDER_API_KEY: 'push-key',
    DOMAIN_VERIFICATION_FILE_URL: `http://{domain}:${external.port}/.well-known/broxiva-verification.txt`,
    DOMAIN_VERIFICATION_HOME_URL: `http://{domain}:${external.port}/`,
    // the cron feeders are ticked by the tests
    CRON_FX_REFRESH: '0 0 1 1 *',
    CRON_PRODUCT_SYNC: '0 0 1 1 *',
    CRON_SITEMAP_GENERATION: '0 0 1 1 *',
    ...extra,
  };
}
