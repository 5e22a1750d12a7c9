// Calls to external providers (price APIs, feeds, fx rates, webhooks) through the SSRF guard: manual redirects
// re-checked hop by hop, a body cap counted on the stream, one deadline for the whole call, errors mapped to retry/DLQ.
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import {
  PermanentError,
  SsrfBlockedError,
  TransientError,
  ValidationError,
  WorkersError,
} from '../errors.js';
import { errorMessage } from '../errors.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { createSsrfGuard, parseOptions, ssrfGuardOptionsSchema } from './ssrf-guard.js';
import type { HostResolver } from './ssrf-guard.js';
import { readCappedBody } from './external-response.js';
import { parseRetryAfter } from './status-mapping.js';

export const externalFetchOptionsSchema = ssrfGuardOptionsSchema.extend({
  maxBytes: z.number().int().min(1).default(1_048_576).describe('largest response body accepted, in bytes'),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .default(10_000)
    .describe('deadline for the whole call: every redirect hop and the body'),
  connectTimeoutMs: z.number().int().min(1).default(5_000).describe('deadline for one TCP/TLS connection'),
  maxRedirects: z
    .number()
    .int()
    .min(0)
    .max(20)
    .default(3)
    .describe('redirects followed, each one re-checked'),
  userAgent: z.string().min(1).default('fuze-workers').describe('User-Agent sent to providers'),
});

export type ExternalFetchOptions = z.input<typeof externalFetchOptionsSchema>;
export type ExternalFetchSettings = z.output<typeof externalFetchOptionsSchema>;

export interface ExternalFetchLogger {
  warn(obj: object, msg: string): void;
}

export interface ExternalFetchDeps {
  logger?: ExternalFetchLogger;
  /** Replaces DNS (tests); every address it returns is still checked. */
  lookup?: HostResolver;
  /** Turns an HTTP-date Retry-After into a delay. */
  clock?: Clock;
}

export interface ExternalRequest {
  /** GET unless given; POST/PUT for webhooks, DELETE for signed storage URLs. */
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Readonly<Record<string, string>>;
  body?: string;
  signal?: AbortSignal;
}

export interface ExternalFetcher {
  fetchJson(url: string | URL, request?: ExternalRequest): Promise<unknown>;
  fetchJson<S extends z.ZodType>(
    url: string | URL,
    request: ExternalRequest & { schema: S },
  ): Promise<z.output<S>>;
  fetchText(url: string | URL, request?: ExternalRequest): Promise<string>;
  close(): Promise<void>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers kept when a redirect leaves the origin; anything else (Authorization, API keys, cookies) is dropped. */
const CROSS_ORIGIN_HEADERS = new Set(['accept', 'accept-language', 'content-type', 'user-agent']);

export function createExternalFetcher(
  options: ExternalFetchOptions,
  deps: ExternalFetchDeps = {},
): ExternalFetcher {
  const settings = parseOptions(externalFetchOptionsSchema, options, 'external fetch');
  const { allowHosts, allowHttp, allowLoopbackHosts } = settings;
  const guard = createSsrfGuard({ allowHosts, allowHttp, allowLoopbackHosts }, deps.lookup);
  const clock = deps.clock ?? systemClock;
  const agent = new Agent({
    connect: { lookup: guard.lookup, timeout: settings.connectTimeoutMs },
  });
  if (settings.allowLoopbackHosts.length > 0) {
    deps.logger?.warn(
      { allowLoopbackHosts: settings.allowLoopbackHosts, allowHttp: settings.allowHttp },
      'SSRF guard: these named hosts may reach loopback addresses (tests/demo only)',
    );
  }

  async function call(input: string | URL, request: ExternalRequest, accept: string): Promise<string> {
    let target = guard.checkUrl(input);
    let method: Dispatcher.HttpMethod = request.method ?? 'GET';
    let body = request.body;
    let headers: Record<string, string> = { accept, 'user-agent': settings.userAgent };
    for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;

    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), settings.timeoutMs);
    const signal =
      request.signal === undefined ? deadline.signal : AbortSignal.any([request.signal, deadline.signal]);
    try {
      for (let hop = 0; ; hop += 1) {
        const response = await agent.request({
          origin: target.origin,
          path: `${target.pathname}${target.search}`,
          method,
          headers,
          body: body ?? null,
          signal,
        });
        const { statusCode } = response;
        if (statusCode >= 200 && statusCode < 300) {
          return await readCappedBody(response, settings.maxBytes, target.origin);
        }
        await response.body.dump();
        const location = response.headers.location;
        if (REDIRECTS.has(statusCode) && typeof location === 'string') {
          if (hop >= settings.maxRedirects) {
            throw new PermanentError(`${target.origin}: more than ${settings.maxRedirects} redirects`);
          }
          const next = guard.checkRedirect(target, location);
          // 303, and 301/302 after a POST, continue as a GET without the body (as browsers do)
          if (statusCode === 303 || ((statusCode === 301 || statusCode === 302) && method !== 'GET')) {
            method = 'GET';
            body = undefined;
            delete headers['content-type'];
          }
          if (next.origin !== target.origin) {
            headers = Object.fromEntries(
              Object.entries(headers).filter(([name]) => CROSS_ORIGIN_HEADERS.has(name)),
            );
          }
          target = next;
          continue;
        }
        const reason = `${target.origin} answered ${statusCode}`;
        if (statusCode === 408 || statusCode === 425 || statusCode === 429 || statusCode >= 500) {
          throw new TransientError(reason, parseRetryAfter(response.headers['retry-after'], clock.now()));
        }
        throw new PermanentError(reason);
      }
    } catch (error) {
      throw mapError(error, target.origin, deadline.signal.aborted, request.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  function mapError(error: unknown, origin: string, timedOut: boolean, callerSignal?: AbortSignal): unknown {
    const blocked = findBlocked(error);
    if (blocked !== undefined) return blocked;
    if (error instanceof WorkersError) return error;
    if (timedOut) return new TransientError(`${origin}: no complete answer within ${settings.timeoutMs} ms`);
    if (callerSignal?.aborted === true) return callerSignal.reason;
    // resets, refused connections, DNS failures, connect timeouts: worth another attempt
    return new TransientError(`${origin}: ${errorMessage(error)}`, undefined, { cause: error });
  }

  async function fetchJson(
    url: string | URL,
    request: ExternalRequest & { schema?: z.ZodType } = {},
  ): Promise<unknown> {
    const text = await call(url, request, 'application/json');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new PermanentError(`${new URL(url).origin} answered a body that is not JSON`, { cause: error });
    }
    if (request.schema === undefined) return data;
    const parsed = request.schema.safeParse(data);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ValidationError(`${new URL(url).origin} answered an unexpected shape`, issues);
  }

  return {
    fetchJson,
    fetchText: (url, request = {}) => call(url, request, '*/*'),
    close: () => agent.close(),
  };
}

/** The lookup's refusal reaches us through undici's connection error, possibly wrapped. */
function findBlocked(error: unknown, depth = 0): SsrfBlockedError | undefined {
  if (error instanceof SsrfBlockedError) return error;
  if (depth > 4 || !(error instanceof Error)) return undefined;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = findBlocked(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return findBlocked(error.cause, depth + 1);
}
