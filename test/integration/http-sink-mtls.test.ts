// Optional mTLS to internal services: a listen(0) https mock that requires client certificates, with a throwaway CA
// and certificates made by the openssl CLI; calls with the configured certificate pass, all others fail.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { createHttpSink, type HttpSink } from '../../src/sinks/http-sink.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createServiceSink } from '../../src/sinks/service-sink.js';
import { createServicePools, type ServicePools } from '../../src/sinks/service-pools.js';
import { readServiceTls, type ServiceTls } from '../../src/sinks/service-tls.js';
import { createServiceTokens } from '../../src/sinks/service-tokens.js';
import type { Outcome } from '../../src/streams/outcome.js';
import { startMockService, type MockService } from '../support/mock-service.js';

/** The outcome is a retry whose reason matches `reason`. */
function expectRetry(outcome: Outcome, reason: RegExp): void {
  expect(outcome.kind).toBe('retry');
  expect(outcome.kind === 'retry' ? outcome.reason : '').toMatch(reason);
}

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const HAS_OPENSSL = opensslAvailable();
if (!HAS_OPENSSL) {
  console.warn(
    '\n*** http-sink-mtls.test.ts SKIPPED: the openssl CLI is not installed, so no test certificates ***\n',
  );
}

const keys = generateServiceKeyPair();
const dir = mkdtempSync(join(tmpdir(), 'fuze-mtls-'));
const file = (name: string): string => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A P-256 key and a certificate signed by `ca` (or self-signed when `ca` is undefined). */
function certificate(name: string, subject: string, ca: string | undefined, extensions: string): void {
  const keyArgs = [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
  ];
  if (ca === undefined) {
    openssl(
      'req',
      '-x509',
      ...keyArgs,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      subject,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    return;
  }
  writeFileSync(file(`${name}.ext`), extensions);
  openssl('req', '-new', ...keyArgs, '-out', `${name}.csr`, '-subj', subject);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  );
}

describe.skipIf(!HAS_OPENSSL)('mTLS to an internal service', () => {
  let service: MockService;
  const pools: ServicePools[] = [];
  const tokens = createServiceTokens({ privateJwk: keys.privateJwk, issuer: 'workers' });
  const pem = (name: string): string => readFileSync(file(name), 'utf8');

  beforeAll(async () => {
    certificate('ca', '/CN=fuze-test-ca', undefined, '');
    certificate('rogue-ca', '/CN=rogue-ca', undefined, '');
    certificate(
      'server',
      '/CN=localhost',
      'ca',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    certificate('client', '/CN=workers', 'ca', 'extendedKeyUsage=clientAuth\n');
    certificate('rogue', '/CN=workers', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
    service = await startMockService({
      audience: 'escrow',
      publicJwks: [keys.publicJwk],
      tls: { key: pem('server.key'), cert: pem('server.crt'), ca: pem('ca.crt'), requestCert: true },
    });
  });
  afterAll(async () => {
    for (const p of pools) await p.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function sinkWith(tls: ServiceTls | undefined): HttpSink {
    const servicePools = createServicePools(
      { escrow: service.url },
      { connectTimeoutMs: 2000, requestTimeoutMs: 2000, ...(tls === undefined ? {} : { tls }) },
    );
    pools.push(servicePools);
    return createHttpSink({ pools: servicePools, tokens, responseMaxBytes: 8192 });
  }

  function expire(sink: HttpSink, escrowId: string) {
    return sink.call({
      service: 'escrow',
      path: '/internal/v1/escrow/expire',
      body: { escrowId },
      idempotencyKey: `escrow.expire:${escrowId}`,
    });
  }

  it('a call with the certificate configured through SVC_MTLS_*_FILE succeeds', async () => {
    const config = loadConfig(
      {
        SERVICE_ID: 'workers-mtls',
        SERVICE_JWT_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
        SVC_ESCROW_URL: service.url,
        SVC_MTLS_CERT_FILE: file('client.crt'),
        SVC_MTLS_KEY_FILE: file('client.key'),
        SVC_MTLS_CA_FILE: file('ca.crt'),
      },
      { envFile: false },
    );
    const built = createServiceSink(config);
    try {
      const result = await expire(built.sink, 'e-ok');
      expect(result.outcome.kind).toBe('ack');
      expect(service.applied('escrow.expire:e-ok')).toBe(1);
      expect(service.requests.at(-1)?.claims).toMatchObject({ audience: 'escrow', subject: 'workers-mtls' });
    } finally {
      await built.close();
    }
    // the same material through readServiceTls and the pools directly
    const direct = await expire(sinkWith(readServiceTls(config.sinks.mtls)), 'e-ok-2');
    expect(direct.outcome.kind).toBe('ack');
  });

  it('without a client certificate the server refuses the connection: a retry, and nothing applied', async () => {
    const before = service.requests.length;
    const result = await expire(sinkWith({ ca: pem('ca.crt') }), 'e-nocert');
    expect(result.status).toBeUndefined();
    expect(result.outcome.kind).toBe('retry');
    expect(service.requests.length).toBe(before);
    expect(service.applied('escrow.expire:e-nocert')).toBe(0);
  });

  it('a client certificate from another CA is refused too', async () => {
    const result = await expire(
      sinkWith({ ca: pem('ca.crt'), cert: pem('rogue.crt'), key: pem('rogue.key') }),
      'e-rogue',
    );
    expect(result.outcome.kind).toBe('retry');
    expect(service.applied('escrow.expire:e-rogue')).toBe(0);
  });

  it('without the CA the server certificate is not trusted', async () => {
    const result = await expire(sinkWith({ cert: pem('client.crt'), key: pem('client.key') }), 'e-noca');
    expectRetry(result.outcome, /certificate|CERT/i);
    expect(service.applied('escrow.expire:e-noca')).toBe(0);
  });

  it('refuses bad mTLS configuration at start-up, naming the variable and never echoing the key', () => {
    expect(() => loadConfig({ SVC_MTLS_CERT_FILE: file('client.crt') }, { envFile: false })).toThrow(
      /SVC_MTLS_KEY_FILE: is required/,
    );
    const mismatch = { certFile: file('client.crt'), keyFile: file('rogue.key'), caFile: undefined };
    expect(() => readServiceTls(mismatch)).toThrow(/is not the key of the certificate/);
    const missing = { certFile: file('client.crt'), keyFile: file('absent.key'), caFile: undefined };
    expect(() => readServiceTls(missing)).toThrow(ConfigError);
    const notCert = { certFile: file('client.key'), keyFile: file('client.key'), caFile: undefined };
    try {
      readServiceTls(notCert);
      expect.unreachable('a key file given as the certificate must be refused');
    } catch (error) {
      expect(error).toMatchObject({ variable: 'SVC_MTLS_CERT_FILE' });
      expect((error as Error).message).not.toContain(pem('client.key').split('\n')[1]);
    }
    expect(readServiceTls({ certFile: undefined, keyFile: undefined, caFile: undefined })).toBeUndefined();
  });
});
