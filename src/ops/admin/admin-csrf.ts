// CSRF protection of admin mutations: browsers send basic credentials on their own, so a mutation made with them
// must come from the same origin (Sec-Fetch-Site / Origin) and carry a signed token both as a header and as a cookie
// (double submit). Bearer requests are exempt: a browser never adds that header by itself.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { AdminPrincipal } from './admin-auth.js';

export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_COOKIE = 'fuze_csrf';
/** A token is good for this long; the dashboard fetches a new one when told it expired. */
export const CSRF_TOKEN_TTL_MS = 12 * 3600 * 1000;

export interface CsrfGuard {
  /** A new token for this principal: `<issued ms base36>.<nonce>.<mac>`. */
  issue(principal: AdminPrincipal): string;
  /** The Set-Cookie value carrying the token (HttpOnly, SameSite=Strict, Secure when the request was https). */
  cookie(token: string, secure: boolean): string;
  /** Undefined when the mutation may go on, otherwise why it is refused. */
  verify(req: IncomingMessage, principal: AdminPrincipal): string | undefined;
}

export interface CsrfGuardOptions {
  /** HMAC key; replicas behind one load balancer need the same one (derived from the shared credentials). */
  readonly key: Buffer;
  readonly clock?: Clock;
  readonly ttlMs?: number;
}

export function createCsrfGuard(options: CsrfGuardOptions): CsrfGuard {
  const clock = options.clock ?? systemClock;
  const ttlMs = options.ttlMs ?? CSRF_TOKEN_TTL_MS;
  const mac = (principal: AdminPrincipal, issued: string, nonce: string): string =>
    createHmac('sha256', options.key)
      .update(`${principal.role}\0${principal.name}\0${issued}\0${nonce}`)
      .digest('base64url');

  function tokenProblem(token: string, principal: AdminPrincipal): string | undefined {
    const [issued = '', nonce = '', signature = '', extra] = token.split('.');
    if (extra !== undefined || !/^[0-9a-z]{1,12}$/.test(issued) || !/^[\w-]{16,64}$/.test(nonce))
      return 'malformed CSRF token';
    const expected = Buffer.from(mac(principal, issued, nonce));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return 'CSRF token was not issued to this user';
    const age = clock.now() - parseInt(issued, 36);
    if (age < -60_000 || age > ttlMs) return 'CSRF token expired';
    return undefined;
  }

  return {
    issue(principal) {
      const issued = clock.now().toString(36);
      const nonce = randomBytes(18).toString('base64url');
      return `${issued}.${nonce}.${mac(principal, issued, nonce)}`;
    },

    cookie(token, secure) {
      return `${CSRF_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
    },

    verify(req, principal) {
      if (principal.via === 'bearer') return undefined;
      const site = header(req, 'sec-fetch-site');
      if (site !== undefined && site !== 'same-origin' && site !== 'none')
        return `cross-site request refused (Sec-Fetch-Site: ${site})`;
      const origin = header(req, 'origin');
      if (origin !== undefined && originHost(origin) !== header(req, 'host'))
        return `request from another origin refused (Origin: ${origin.slice(0, 100)})`;
      const sent = header(req, CSRF_HEADER);
      if (sent === undefined) return `missing ${CSRF_HEADER} header (get a token from /api/session)`;
      const cookie = cookieValue(header(req, 'cookie'), CSRF_COOKIE);
      if (cookie === undefined) return `missing ${CSRF_COOKIE} cookie (get a token from /api/session)`;
      const a = Buffer.from(sent);
      const b = Buffer.from(cookie);
      if (a.length !== b.length || !timingSafeEqual(a, b))
        return `${CSRF_HEADER} header does not match the ${CSRF_COOKIE} cookie`;
      return tokenProblem(sent, principal);
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/** `host[:port]` of an Origin header; undefined for `null` and anything unparsable (refused). */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host || undefined;
  } catch {
    return undefined;
  }
}

export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
