// Admin HTTP credentials: basic (user + password) and bearer tokens per role from the config, compared in constant
// time, with a per-address throttle on wrong credentials. No credentials configured = nobody gets in (API off).
import { createHash, timingSafeEqual } from 'node:crypto';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import { ADMIN_ROLES } from '../../config/index.js';
import type { AdminRole, AdminRoleCredentials } from '../../config/index.js';

export type { AdminRole } from '../../config/index.js';

/** Who made a request, as the audit stream records it. */
export interface AdminPrincipal {
  /** The basic-auth user, or `token:<role>` for a bearer token. */
  readonly name: string;
  readonly role: AdminRole;
  /** Basic credentials are sent by browsers on their own (so mutations need the CSRF token); bearer ones are not. */
  readonly via: 'basic' | 'bearer';
}

export type AuthResult =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'refused' }
  | { readonly kind: 'throttled'; readonly retryAfterSeconds: number }
  | { readonly kind: 'authenticated'; readonly principal: AdminPrincipal };

export interface AdminAuth {
  /** False when no role has credentials: the API and dashboard are off. */
  readonly enabled: boolean;
  /** The roles that have credentials. */
  readonly roles: readonly AdminRole[];
  authenticate(authorization: string | undefined, remoteAddress: string): AuthResult;
  /** A digest of every configured secret: replicas with the same config derive the same CSRF key from it. */
  readonly secretDigest: Buffer;
}

export interface AdminAuthOptions {
  readonly clock?: Clock;
  /** Wrong credentials per address within `throttleWindowMs` after which it gets 429; default 20. */
  readonly maxFailures?: number;
  readonly throttleWindowMs?: number;
}

interface BasicCredential {
  readonly role: AdminRole;
  readonly user: Buffer;
  readonly password: Buffer;
  readonly name: string;
}

interface TokenCredential {
  readonly role: AdminRole;
  readonly token: Buffer;
}

const MAX_TRACKED_ADDRESSES = 10_000;

/** SHA-256 first, so values of any length compare in constant time. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function same(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(a, b);
}

export function createAdminAuth(
  roles: Readonly<Record<AdminRole, AdminRoleCredentials>>,
  options: AdminAuthOptions = {},
): AdminAuth {
  const clock = options.clock ?? systemClock;
  const maxFailures = options.maxFailures ?? 20;
  const windowMs = options.throttleWindowMs ?? 60_000;
  const basics: BasicCredential[] = [];
  const tokens: TokenCredential[] = [];
  const secrets = createHash('sha256').update('fuze-workers admin credentials v1');
  for (const role of ADMIN_ROLES) {
    const { user, password, token } = roles[role];
    if (user !== undefined && password !== undefined) {
      basics.push({ role, user: digest(user), password: digest(password), name: user });
      secrets.update(`\0basic\0${role}\0${user}\0${password}`);
    }
    if (token !== undefined) {
      tokens.push({ role, token: digest(token) });
      secrets.update(`\0bearer\0${role}\0${token}`);
    }
  }
  const granted = ADMIN_ROLES.filter(
    (role) => basics.some((b) => b.role === role) || tokens.some((t) => t.role === role),
  );
  const failures = new Map<string, { since: number; count: number }>();

  function throttled(address: string): number | undefined {
    const entry = failures.get(address);
    if (entry === undefined) return undefined;
    const left = entry.since + windowMs - clock.now();
    if (left <= 0) {
      failures.delete(address);
      return undefined;
    }
    return entry.count >= maxFailures ? Math.ceil(left / 1000) : undefined;
  }

  function failed(address: string): void {
    const now = clock.now();
    if (failures.size >= MAX_TRACKED_ADDRESSES) {
      for (const [key, entry] of failures) if (entry.since + windowMs <= now) failures.delete(key);
      // still full: forget the oldest rather than grow without bound
      if (failures.size >= MAX_TRACKED_ADDRESSES) failures.delete(failures.keys().next().value ?? '');
    }
    const entry = failures.get(address);
    if (entry === undefined || entry.since + windowMs <= now) failures.set(address, { since: now, count: 1 });
    else entry.count += 1;
  }

  function basic(encoded: string): AdminPrincipal | undefined {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = digest(decoded.slice(0, colon));
    const password = digest(decoded.slice(colon + 1));
    let found: BasicCredential | undefined;
    // every credential is compared, so the time taken does not tell which user exists
    for (const credential of basics) {
      const userMatches = same(credential.user, user);
      const passwordMatches = same(credential.password, password);
      if (userMatches && passwordMatches) found = credential;
    }
    return found === undefined ? undefined : { name: found.name, role: found.role, via: 'basic' };
  }

  function bearer(token: string): AdminPrincipal | undefined {
    const presented = digest(token);
    let found: TokenCredential | undefined;
    for (const credential of tokens) if (same(credential.token, presented)) found = credential;
    return found === undefined ? undefined : { name: `token:${found.role}`, role: found.role, via: 'bearer' };
  }

  return {
    enabled: granted.length > 0,
    roles: granted,
    secretDigest: secrets.digest(),
    authenticate(authorization, remoteAddress) {
      if (authorization === undefined || authorization.trim() === '') return { kind: 'anonymous' };
      const wait = throttled(remoteAddress);
      if (wait !== undefined) return { kind: 'throttled', retryAfterSeconds: wait };
      const match = /^(Basic|Bearer)\s+(\S+)\s*$/i.exec(authorization);
      const scheme = match?.[1]?.toLowerCase();
      const value = match?.[2] ?? '';
      const principal = scheme === 'basic' ? basic(value) : scheme === 'bearer' ? bearer(value) : undefined;
      if (principal === undefined) {
        failed(remoteAddress);
        return { kind: 'refused' };
      }
      return { kind: 'authenticated', principal };
    },
  };
}
