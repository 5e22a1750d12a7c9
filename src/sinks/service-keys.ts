// Ed25519 service keys as JWKs: parse and check SERVICE_JWT_PRIVATE_JWK, derive the public JWK and kid, generate pairs.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { ConfigError } from '../errors.js';

export const SERVICE_JWK_VARIABLE = 'SERVICE_JWT_PRIVATE_JWK';

/** An Ed25519 public key as a JWK (RFC 8037). */
export interface ServicePublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

/** An Ed25519 private JWK: the public members plus the private scalar `d`. */
export interface ServicePrivateJwk extends ServicePublicJwk {
  readonly d: string;
}

/** A checked signing key: the KeyObject to sign with and the public half to hand out. */
export interface ServiceSigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: ServicePublicJwk;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ED25519_KEY_BYTES = 32;
const HOW_TO_GENERATE = 'generate one with `npx tsx src/ops/keys-generate.ts`';

function invalid(problem: string, variable: string): ConfigError {
  // never echo the value: it holds the private key
  return new ConfigError(
    `${variable} ${problem} (expected an Ed25519 private JWK as JSON: {"kty":"OKP","crv":"Ed25519","d":...,"x":...}; ${HOW_TO_GENERATE})`,
    variable,
  );
}

function isKeyMember(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    BASE64URL.test(value) &&
    Buffer.from(value, 'base64url').length === ED25519_KEY_BYTES
  );
}

/** RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 public key: the default `kid`. */
export function jwkThumbprint(jwk: {
  readonly crv: string;
  readonly kty: string;
  readonly x: string;
}): string {
  // the required members in lexicographic order, no whitespace
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Parses and checks the private JWK (a JSON string or an object): OKP / Ed25519, `d` and `x` of 32 bytes,
 * and `x` really the public half of `d`. Every problem is a ConfigError naming `variable` and never the key.
 */
export function parseServicePrivateJwk(
  raw: string | object | undefined,
  variable = SERVICE_JWK_VARIABLE,
): ServiceSigningKey {
  if (raw === undefined || raw === '') throw invalid('is not set', variable);
  let parsed: unknown = raw;
  if (typeof raw === 'string') {
    try {
      parsed = JSON.parse(raw);
    } catch {
      // JSON.parse's message quotes the input, so it is not kept as the cause
      throw invalid('is not valid JSON', variable);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid('is not a JSON object', variable);
  }
  const jwk = parsed as Record<string, unknown>;
  if (jwk['kty'] !== 'OKP') throw invalid(`has kty ${describeMember(jwk['kty'])}, not "OKP"`, variable);
  if (jwk['crv'] !== 'Ed25519')
    throw invalid(`has crv ${describeMember(jwk['crv'])}, not "Ed25519"`, variable);
  if (jwk['d'] === undefined) throw invalid('is a public key (it has no "d")', variable);
  if (!isKeyMember(jwk['d'])) throw invalid('has a "d" that is not 32 bytes of base64url', variable);
  if (!isKeyMember(jwk['x'])) throw invalid('has an "x" that is not 32 bytes of base64url', variable);
  if (jwk['alg'] !== undefined && jwk['alg'] !== 'EdDSA' && jwk['alg'] !== 'Ed25519') {
    throw invalid(`has alg ${describeMember(jwk['alg'])}, not "EdDSA"`, variable);
  }
  const kidMember = jwk['kid'];
  if (kidMember !== undefined && (typeof kidMember !== 'string' || kidMember === '')) {
    throw invalid('has a "kid" that is not a non-empty string', variable);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: jwk['d'], x: jwk['x'] },
      format: 'jwk',
    });
  } catch {
    throw invalid('is not a usable Ed25519 key', variable);
  }
  const derivedX = createPublicKey(privateKey).export({ format: 'jwk' }).x;
  if (derivedX !== jwk['x']) throw invalid('has an "x" that does not belong to its "d"', variable);
  const x = jwk['x'];
  const kid = kidMember ?? jwkThumbprint({ crv: 'Ed25519', kty: 'OKP', x });
  return { kid, privateKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' } };
}

/** Only the shape of a member is described (a string's value could be key material pasted in the wrong place). */
function describeMember(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'string' && /^[A-Za-z0-9]{1,10}$/.test(value)) return `"${value}"`;
  return `of an unexpected ${typeof value === 'string' ? 'value' : 'type'}`;
}

/** A new Ed25519 key pair as JWKs; `kid` defaults to the RFC 7638 thumbprint of the public key. */
export function generateServiceKeyPair(options: { kid?: string } = {}): {
  privateJwk: ServicePrivateJwk;
  publicJwk: ServicePublicJwk;
} {
  const { privateKey } = generateKeyPairSync('ed25519');
  const exported = privateKey.export({ format: 'jwk' });
  const { d, x } = exported;
  if (d === undefined || x === undefined)
    throw new Error('node:crypto exported an Ed25519 JWK without d or x');
  const kid = options.kid ?? jwkThumbprint({ crv: 'Ed25519', kty: 'OKP', x });
  const publicJwk: ServicePublicJwk = { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' };
  return { privateJwk: { ...publicJwk, d }, publicJwk };
}
