// Service keys: the private JWK check at start-up (clear ConfigErrors that never echo the key), kids, and the
// key-generation command.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { ConfigError, ValidationError } from '../../src/errors.js';
import { keysGenerate } from '../../src/ops/keys-generate.js';
import {
  generateServiceKeyPair,
  jwkThumbprint,
  parseServicePrivateJwk,
  SERVICE_JWK_VARIABLE,
} from '../../src/sinks/service-keys.js';

const run = promisify(execFile);

function configError(raw: string | object | undefined): ConfigError {
  try {
    parseServicePrivateJwk(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseServicePrivateJwk', () => {
  const { privateJwk } = generateServiceKeyPair();
  const other = generateServiceKeyPair().privateJwk;

  it('accepts a generated key as JSON or object; kid from the JWK, else its RFC 7638 thumbprint', async () => {
    const parsed = parseServicePrivateJwk(JSON.stringify(privateJwk));
    expect(parsed.kid).toBe(privateJwk.kid);
    expect(parsed.publicJwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: privateJwk.x,
      kid: privateJwk.kid,
      alg: 'EdDSA',
      use: 'sig',
    });
    expect(parsed.publicJwk).not.toHaveProperty('d');
    const bare = { kty: 'OKP', crv: 'Ed25519', d: privateJwk.d, x: privateJwk.x };
    const thumbprint = await calculateJwkThumbprint(
      { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x },
      'sha256',
    );
    expect(parseServicePrivateJwk(bare).kid).toBe(thumbprint);
    expect(jwkThumbprint(privateJwk)).toBe(thumbprint);
  });

  const cases: [string, () => string | object | undefined, RegExp][] = [
    ['missing', () => undefined, /is not set/],
    ['empty', () => '', /is not set/],
    ['not JSON', () => `{"kty":"OKP","d":"${privateJwk.d}"`, /is not valid JSON/],
    ['an array', () => '[1,2]', /is not a JSON object/],
    ['an RSA key', () => ({ ...privateJwk, kty: 'RSA' }), /has kty "RSA", not "OKP"/],
    ['an Ed448 key', () => ({ ...privateJwk, crv: 'Ed448' }), /has crv "Ed448", not "Ed25519"/],
    ['an X25519 key', () => ({ ...privateJwk, crv: 'X25519' }), /has crv "X25519"/],
    ['a public key', () => ({ ...privateJwk, d: undefined }), /is a public key/],
    ['a short d', () => ({ ...privateJwk, d: 'AAAA' }), /"d" that is not 32 bytes/],
    ['a bad x', () => ({ ...privateJwk, x: 'not base64url!' }), /"x" that is not 32 bytes/],
    ['x of another key', () => ({ ...privateJwk, x: other.x }), /does not belong to its "d"/],
    ['another alg', () => ({ ...privateJwk, alg: 'RS256' }), /has alg "RS256"/],
    ['a numeric kid', () => ({ ...privateJwk, kid: 7 }), /"kid" that is not a non-empty string/],
    [
      'the private scalar pasted as crv',
      () => ({ ...privateJwk, crv: privateJwk.d }),
      /has crv of an unexpected value/,
    ],
  ];

  it.each(cases)(
    '%s -> ConfigError naming SERVICE_JWT_PRIVATE_JWK, without the key',
    (_name, make, message) => {
      const error = configError(make());
      expect(error.variable).toBe(SERVICE_JWK_VARIABLE);
      expect(error.message).toMatch(message);
      expect(error.message).toContain('SERVICE_JWT_PRIVATE_JWK');
      expect(error.message).toContain('keys-generate');
      expect(error.message).not.toContain(privateJwk.d);
      expect(error.cause).toBeUndefined();
    },
  );
});

describe('keys-generate', () => {
  it('prints an env line with the private JWK and the public JWK, which belong together', () => {
    const text = keysGenerate([]);
    const envLine = text.split('\n').find((line) => line.startsWith('SERVICE_JWT_PRIVATE_JWK='));
    expect(envLine).toBeDefined();
    const parsed = parseServicePrivateJwk(envLine!.slice('SERVICE_JWT_PRIVATE_JWK='.length));
    const publicLine = text.split('\n').find((line) => line.startsWith('{') && !line.includes('"d"'));
    expect(JSON.parse(publicLine!)).toEqual(parsed.publicJwk);
  });

  it('--json gives kid, privateJwk and publicJwk; --kid names the key; bad arguments are refused', () => {
    const out = JSON.parse(keysGenerate(['--json', '--kid', 'workers-2026-11'])) as {
      kid: string;
      privateJwk: Record<string, unknown>;
      publicJwk: Record<string, unknown>;
    };
    expect(out.kid).toBe('workers-2026-11');
    expect(parseServicePrivateJwk(out.privateJwk).publicJwk).toEqual(out.publicJwk);
    expect(() => keysGenerate(['--kid'])).toThrow(ValidationError);
    expect(() => keysGenerate(['--kid', 'has space'])).toThrow(ValidationError);
    expect(() => keysGenerate(['--verbose'])).toThrow(/unknown argument/);
  });

  it('runs as a command with tsx; two runs give different keys', async () => {
    const args = ['--import', 'tsx', 'src/ops/keys-generate.ts', '--json'];
    const [a, b] = await Promise.all([run(process.execPath, args), run(process.execPath, args)]);
    const keyA = JSON.parse(a.stdout) as { privateJwk: { d: string } };
    const keyB = JSON.parse(b.stdout) as { privateJwk: { d: string } };
    expect(() => parseServicePrivateJwk(keyA.privateJwk)).not.toThrow();
    expect(keyA.privateJwk.d).not.toBe(keyB.privateJwk.d);
    await expect(
      run(process.execPath, ['--import', 'tsx', 'src/ops/keys-generate.ts', '--nope']),
    ).rejects.toMatchObject({
      code: 2,
    });
  });
});
