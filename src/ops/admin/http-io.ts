// HTTP plumbing of the admin server: replies as values (JSON, text, problems), bounded JSON bodies, query reading,
// the security headers every answer carries, and path patterns with `:name` parameters.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { ValidationError } from '../../errors.js';

/** A reply a route returns; the server writes it (routes that stream write the response themselves). */
export interface AdminReply {
  readonly status: number;
  readonly headers?: OutgoingHttpHeaders;
  readonly body: string | Buffer;
}

/** Largest request body read (JSON of a mutation). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Every answer: no sniffing, no framing, no referrer, nothing cached by proxies, and a CSP that lets the dashboard
 * load only its own scripts and styles (uPlot sets element styles through the CSSOM, which style-src allows).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

export function json(status: number, value: unknown, headers: OutgoingHttpHeaders = {}): AdminReply {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(value),
  };
}

/** An error answer: `{ error: <stable code>, message }`. */
export function problem(
  status: number,
  error: string,
  message: string,
  headers: OutgoingHttpHeaders = {},
): AdminReply {
  return json(status, { error, message }, headers);
}

export function text(status: number, body: string, contentType: string): AdminReply {
  return { status, headers: { 'Content-Type': contentType, 'Cache-Control': 'no-store' }, body };
}

export function redirect(location: string): AdminReply {
  return { status: 302, headers: { Location: location }, body: '' };
}

export function writeReply(res: ServerResponse, reply: AdminReply): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(reply.status, { ...SECURITY_HEADERS, ...reply.headers });
  res.end(reply.body);
}

/** Reads a JSON body (Content-Type application/json, at most MAX_BODY_BYTES) and checks it with `schema`. */
export async function readJsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const type = req.headers['content-type'] ?? '';
  // a cross-site form cannot send application/json without a preflight, which this server never grants
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ValidationError(`request body must be application/json, got "${type.slice(0, 60)}"`, [
      { path: 'content-type', message: 'expected application/json' },
    ]);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new ValidationError(`request body is larger than ${MAX_BODY_BYTES} bytes`, [
        { path: 'body', message: 'too large' },
      ]);
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw new ValidationError('request body is not valid JSON', [{ path: 'body', message: 'invalid JSON' }]);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || 'body',
      message: issue.message,
    }));
    throw new ValidationError(
      `invalid request body: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  return result.data;
}

/** A query parameter as text, or undefined when absent or empty. */
export function queryText(url: URL, name: string, maxChars = 200): string | undefined {
  const value = url.searchParams.get(name);
  if (value === null || value === '') return undefined;
  if (value.length > maxChars) {
    throw new ValidationError(`query parameter ${name} is longer than ${maxChars} characters`, [
      { path: name, message: 'too long' },
    ]);
  }
  return value;
}

/** A whole-number query parameter within [min, max], or `fallback` when absent. */
export function queryInteger(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = queryText(url, name, 20);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ValidationError(`query parameter ${name} must be a whole number from ${min} to ${max}`, [
      { path: name, message: 'out of range' },
    ]);
  }
  return value;
}

export interface PathPattern {
  /** As written, e.g. `/api/jobs/:job/pause`. */
  readonly pattern: string;
  /** Parameters by name when the path matches, undefined otherwise. */
  match(path: string): Record<string, string> | undefined;
}

/** `/api/jobs/:job/pause`: each `:name` matches one path segment (URL-decoded). */
export function pathPattern(pattern: string): PathPattern {
  const names: string[] = [];
  const source = pattern
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  const regex = new RegExp(`^${source}$`);
  return {
    pattern,
    match(path) {
      const found = regex.exec(path);
      if (found === null) return undefined;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1] ?? '');
      });
      return params;
    },
  };
}
