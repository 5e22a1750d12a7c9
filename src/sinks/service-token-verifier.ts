// Verifies service JWTs the way a target service should: EdDSA only, known keys, issuer, audience, age and lifetime.
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { ConfigError, PermanentError, errorMessage } from '../errors.js';
import { SERVICE_TOKEN_MAX_TTL_SECONDS } from './service-tokens.js';

export interface ServiceTokenVerifierOptions {
  /** Public JWKs of the callers allowed (Ed25519, each with a `kid`). */
  readonly publicJwks: readonly JWK[];
  /** Accepted `iss` values. */
  readonly issuers: string | readonly string[];
  /** This service's name: the `aud` a token must carry. */
  readonly audience: string;
  /** Oldest `iat` accepted, in seconds; default 300. */
  readonly maxAgeSeconds?: number;
  /** Longest `exp - iat` accepted, in seconds; default 300. */
  readonly maxLifetimeSeconds?: number;
  readonly clockToleranceSeconds?: number;
  readonly clock?: Clock;
}

export interface ServiceTokenClaims {
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
  readonly jti: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly kid: string;
}

export interface ServiceTokenVerifier {
  /** The claims of a valid token; a PermanentError saying why otherwise. */
  verify(token: string): Promise<ServiceTokenClaims>;
}

/** A token was refused: permanent for the caller (a retry with the same token fails the same way). */
export class ServiceTokenRejectedError extends PermanentError {}

export function createServiceTokenVerifier(options: ServiceTokenVerifierOptions): ServiceTokenVerifier {
  if (options.publicJwks.length === 0)
    throw new ConfigError('service token verifier needs at least one public JWK');
  for (const jwk of options.publicJwks) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || jwk.d !== undefined || typeof jwk.kid !== 'string') {
      throw new ConfigError('service token verifier takes public Ed25519 JWKs with a kid (no "d")');
    }
  }
  const keys = createLocalJWKSet({ keys: options.publicJwks.map((jwk) => ({ ...jwk, alg: 'EdDSA' })) });
  const issuers = typeof options.issuers === 'string' ? [options.issuers] : [...options.issuers];
  const maxAge = options.maxAgeSeconds ?? SERVICE_TOKEN_MAX_TTL_SECONDS;
  const maxLifetime = options.maxLifetimeSeconds ?? SERVICE_TOKEN_MAX_TTL_SECONDS;
  const clock = options.clock ?? systemClock;

  return {
    async verify(token) {
      let payload: JWTPayload;
      let kid: string | undefined;
      try {
        const result = await jwtVerify(token, keys, {
          algorithms: ['EdDSA'],
          issuer: issuers,
          audience: options.audience,
          maxTokenAge: maxAge,
          clockTolerance: options.clockToleranceSeconds ?? 5,
          currentDate: new Date(clock.now()),
          requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'],
        });
        payload = result.payload;
        kid = result.protectedHeader.kid;
      } catch (error) {
        throw new ServiceTokenRejectedError(`service token rejected: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      const { iss, sub, jti, iat, exp } = payload;
      if (
        typeof iss !== 'string' ||
        typeof sub !== 'string' ||
        typeof jti !== 'string' ||
        typeof iat !== 'number' ||
        typeof exp !== 'number' ||
        kid === undefined
      ) {
        throw new ServiceTokenRejectedError('service token rejected: malformed claims or header');
      }
      if (exp - iat > maxLifetime) {
        throw new ServiceTokenRejectedError(
          `service token rejected: lifetime ${exp - iat} s is over ${maxLifetime} s`,
        );
      }
      return {
        issuer: iss,
        subject: sub,
        audience: options.audience,
        jti,
        issuedAt: iat,
        expiresAt: exp,
        kid,
      };
    },
  };
}
