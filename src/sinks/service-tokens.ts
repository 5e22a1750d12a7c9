// Service JWTs for calls to internal services: EdDSA (Ed25519) signed with jose, one cached token per audience.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { parseServicePrivateJwk, SERVICE_JWK_VARIABLE, type ServicePublicJwk } from './service-keys.js';

/** Longest lifetime of a service JWT: a leaked token is useless after this. */
export const SERVICE_TOKEN_MAX_TTL_SECONDS = 300;
/** A cached token is replaced this long before it expires (or 20% of its lifetime, if shorter). */
export const SERVICE_TOKEN_REFRESH_SECONDS = 60;

export interface ServiceTokensOptions {
  /** SERVICE_JWT_PRIVATE_JWK: the JSON text or the parsed object. */
  readonly privateJwk: string | object | undefined;
  /** `iss`: SERVICE_JWT_ISSUER. */
  readonly issuer: string;
  /** `sub`: the calling service's id; defaults to the issuer. */
  readonly subject?: string;
  /** Lifetime in seconds, 1-300; default 300. */
  readonly ttlSeconds?: number;
  readonly clock?: Clock;
}

export interface ServiceTokens {
  readonly kid: string;
  /** What the target services need to verify the tokens. */
  readonly publicJwk: ServicePublicJwk;
  /** A valid token for `audience` (the target service), reused until shortly before it expires. */
  tokenFor(audience: string): Promise<string>;
}

interface CachedToken {
  readonly token: Promise<string>;
  /** ms since epoch after which a new token is signed. */
  readonly refreshAt: number;
}

/** Checks the key and options at start-up: a missing or non-Ed25519 key is a ConfigError naming the variable. */
export function createServiceTokens(options: ServiceTokensOptions): ServiceTokens {
  const key = parseServicePrivateJwk(options.privateJwk, SERVICE_JWK_VARIABLE);
  const ttl = options.ttlSeconds ?? SERVICE_TOKEN_MAX_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > SERVICE_TOKEN_MAX_TTL_SECONDS) {
    throw new ConfigError(
      `service JWT lifetime ${ttl} s is not allowed (expected a whole number of seconds from 1 to ${SERVICE_TOKEN_MAX_TTL_SECONDS})`,
      'SERVICE_JWT_TTL_SECONDS',
    );
  }
  if (options.issuer === '') throw new ConfigError('service JWT issuer is empty', 'SERVICE_JWT_ISSUER');
  const subject = options.subject ?? options.issuer;
  const clock = options.clock ?? systemClock;
  const refreshBeforeMs = Math.min(SERVICE_TOKEN_REFRESH_SECONDS, ttl * 0.2) * 1000;
  const cache = new Map<string, CachedToken>();

  async function sign(audience: string, issuedAt: number): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setIssuer(options.issuer)
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ttl)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  return {
    kid: key.kid,
    publicJwk: key.publicJwk,
    tokenFor(audience) {
      if (audience === '') return Promise.reject(new ConfigError('service JWT audience is empty'));
      const now = clock.now();
      const cached = cache.get(audience);
      if (cached && now < cached.refreshAt) return cached.token;
      const issuedAt = Math.floor(now / 1000);
      const token = sign(audience, issuedAt);
      const entry = { token, refreshAt: (issuedAt + ttl) * 1000 - refreshBeforeMs };
      // concurrent callers share one signature; a failed one is not cached
      cache.set(audience, entry);
      token.catch(() => {
        if (cache.get(audience) === entry) cache.delete(audience);
      });
      return token;
    },
  };
}
