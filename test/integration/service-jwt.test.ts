// Service JWTs: the claims and header of a signed token, verification with the right key only, pinned algorithm,
// issuer, audience, age and lifetime, and the per-audience cache refreshed before expiry.
import { createPrivateKey } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError, PermanentError } from '../../src/errors.js';
import { generateServiceKeyPair, type ServicePrivateJwk } from '../../src/sinks/service-keys.js';
import { createServiceSink } from '../../src/sinks/service-sink.js';
import {
  createServiceTokenVerifier,
  ServiceTokenRejectedError,
} from '../../src/sinks/service-token-verifier.js';
import { createServiceTokens } from '../../src/sinks/service-tokens.js';

const T0 = Date.UTC(2026, 10, 23, 15, 0, 0);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function setup(ttlSeconds = 300) {
  const { privateJwk, publicJwk } = generateServiceKeyPair();
  const clock = new ManualClock(T0);
  const tokens = createServiceTokens({
    privateJwk: JSON.stringify(privateJwk),
    issuer: 'workers',
    subject: 'workers-pod',
    ttlSeconds,
    clock,
  });
  const verifier = createServiceTokenVerifier({
    publicJwks: [publicJwk],
    issuers: 'workers',
    audience: 'playhub',
    clock,
  });
  return { privateJwk, publicJwk, clock, tokens, verifier };
}

/** Signs with `jwk` whatever claims and header a test needs, bypassing the signer's rules. */
async function forge(
  jwk: ServicePrivateJwk,
  claims: Record<string, unknown>,
  alg = 'EdDSA',
): Promise<string> {
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: jwk.d, x: jwk.x }, format: 'jwk' });
  return new SignJWT(claims).setProtectedHeader({ alg, kid: jwk.kid }).sign(key);
}

describe('createServiceTokens', () => {
  it('signs EdDSA tokens with kid, iss, sub, aud, iat, exp <= 5 min and a jti', async () => {
    const { tokens, privateJwk } = setup();
    const token = await tokens.tokenFor('playhub');
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', kid: privateJwk.kid, typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: 'workers',
      sub: 'workers-pod',
      aud: 'playhub',
      iat: T0 / 1000,
      exp: T0 / 1000 + 300,
    });
    expect(claims.jti).toMatch(UUID);
    expect(tokens.kid).toBe(privateJwk.kid);
  });

  it('the token verifies with the public key and fails with another key, even one claiming the same kid', async () => {
    const { tokens, verifier, clock, publicJwk } = setup();
    const token = await tokens.tokenFor('playhub');
    await expect(verifier.verify(token)).resolves.toMatchObject({
      issuer: 'workers',
      subject: 'workers-pod',
      audience: 'playhub',
      kid: publicJwk.kid,
    });
    const impostor = { ...generateServiceKeyPair().publicJwk, kid: publicJwk.kid };
    const other = createServiceTokenVerifier({
      publicJwks: [impostor],
      issuers: 'workers',
      audience: 'playhub',
      clock,
    });
    await expect(other.verify(token)).rejects.toThrow(/signature verification failed/);
    const unknownKid = createServiceTokenVerifier({
      publicJwks: [generateServiceKeyPair().publicJwk],
      issuers: 'workers',
      audience: 'playhub',
      clock,
    });
    await expect(unknownKid.verify(token)).rejects.toBeInstanceOf(ServiceTokenRejectedError);
  });

  it('the verifier refuses another audience, another issuer, an expired or too old token', async () => {
    const { tokens, publicJwk, clock, verifier } = setup();
    await expect(verifier.verify(await tokens.tokenFor('escrow'))).rejects.toThrow(/"aud"/);
    const strangers = createServiceTokenVerifier({
      publicJwks: [publicJwk],
      issuers: ['payhub'],
      audience: 'playhub',
      clock,
    });
    await expect(strangers.verify(await tokens.tokenFor('playhub'))).rejects.toThrow(/"iss"/);
    const token = await tokens.tokenFor('playhub');
    clock.advance(301_000 + 5000);
    await expect(verifier.verify(token)).rejects.toThrow(/"exp"|"iat"/);
    const strict = createServiceTokenVerifier({
      publicJwks: [publicJwk],
      issuers: 'workers',
      audience: 'playhub',
      maxAgeSeconds: 60,
      clock,
    });
    clock.set(T0 + 120_000);
    await expect(strict.verify(token)).rejects.toThrow(/"iat"/);
  });

  it('the verifier pins EdDSA and the claims: no unsigned, no other alg, no long-lived or jti-less tokens', async () => {
    const { privateJwk, verifier } = setup();
    const iat = T0 / 1000;
    const base = { iss: 'workers', sub: 'w', aud: 'playhub', iat, exp: iat + 60, jti: 'j-1' };
    await expect(verifier.verify(await forge(privateJwk, base))).resolves.toMatchObject({ jti: 'j-1' });
    const unsigned = new UnsecuredJWT(base).encode();
    await expect(verifier.verify(unsigned)).rejects.toBeInstanceOf(PermanentError);
    // the same Ed25519 key under the fully-specified alg name is still not the pinned algorithm
    await expect(verifier.verify(await forge(privateJwk, base, 'Ed25519'))).rejects.toThrow(/alg/);
    await expect(verifier.verify(await forge(privateJwk, { ...base, exp: iat + 3600 }))).rejects.toThrow(
      /lifetime 3600 s/,
    );
    const noJti: Partial<typeof base> = { ...base };
    delete noJti.jti;
    await expect(verifier.verify(await forge(privateJwk, noJti))).rejects.toThrow(/"jti"/);
  });

  it('reuses a token per audience until 60 s before exp, then signs a new one', async () => {
    const { tokens, clock } = setup();
    const [a, b] = await Promise.all([tokens.tokenFor('playhub'), tokens.tokenFor('playhub')]);
    expect(a).toBe(b);
    const escrow = await tokens.tokenFor('escrow');
    expect(escrow).not.toBe(a);
    clock.advance(239_000);
    expect(await tokens.tokenFor('playhub')).toBe(a);
    clock.advance(1000);
    const renewed = await tokens.tokenFor('playhub');
    expect(renewed).not.toBe(a);
    expect(decodeJwt(renewed).iat).toBe(T0 / 1000 + 240);
    expect(decodeJwt(renewed).jti).not.toBe(decodeJwt(a).jti);
  });

  it('short lifetimes refresh at 20% of the ttl before expiry', async () => {
    const { tokens, clock } = setup(60);
    const first = await tokens.tokenFor('playhub');
    clock.advance(47_000);
    expect(await tokens.tokenFor('playhub')).toBe(first);
    clock.advance(1000);
    expect(await tokens.tokenFor('playhub')).not.toBe(first);
  });

  it('refuses lifetimes over 5 minutes and a missing or malformed key with a ConfigError naming the variable', () => {
    const { privateJwk } = generateServiceKeyPair();
    expect(() => createServiceTokens({ privateJwk, issuer: 'workers', ttlSeconds: 301 })).toThrow(
      ConfigError,
    );
    expect(() => createServiceTokens({ privateJwk, issuer: 'workers', ttlSeconds: 0 })).toThrow(
      /SERVICE_JWT_TTL_SECONDS|seconds/,
    );
    for (const raw of [undefined, '{"kty":"RSA"}', JSON.stringify({ ...privateJwk, crv: 'Ed448' })]) {
      let caught: unknown;
      try {
        createServiceTokens({ privateJwk: raw, issuer: 'workers' });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).variable).toBe('SERVICE_JWT_PRIVATE_JWK');
      expect((caught as ConfigError).message).not.toContain(privateJwk.d);
    }
  });

  it('createServiceSink refuses to start without a usable key, naming SERVICE_JWT_PRIVATE_JWK', () => {
    const { privateJwk } = generateServiceKeyPair();
    for (const env of [{}, { SERVICE_JWT_PRIVATE_JWK: JSON.stringify({ ...privateJwk, kty: 'EC' }) }]) {
      const config = loadConfig(env, { envFile: false });
      expect(() => createServiceSink(config)).toThrow(
        expect.objectContaining({ variable: 'SERVICE_JWT_PRIVATE_JWK' }) as Error,
      );
    }
  });

  it('is built from the loaded configuration (SERVICE_JWT_PRIVATE_JWK, SERVICE_JWT_ISSUER, SERVICE_JWT_TTL_SECONDS)', async () => {
    const { privateJwk, publicJwk } = generateServiceKeyPair();
    const config = loadConfig(
      {
        SERVICE_JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
        SERVICE_JWT_ISSUER: 'workers-dev',
        SERVICE_JWT_TTL_SECONDS: '120',
      },
      { envFile: false },
    );
    const tokens = createServiceTokens({ ...config.serviceJwt, subject: config.service.id });
    const claims = decodeJwt(await tokens.tokenFor('funding'));
    expect(claims).toMatchObject({ iss: 'workers-dev', sub: 'workers', aud: 'funding' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(120);
    const verifier = createServiceTokenVerifier({
      publicJwks: [publicJwk],
      issuers: 'workers-dev',
      audience: 'funding',
    });
    await expect(verifier.verify(await tokens.tokenFor('funding'))).resolves.toMatchObject({
      audience: 'funding',
    });
  });
});
