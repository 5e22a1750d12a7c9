// Log redaction: canary secrets (the private JWK's `d`, the Authorization header) never reach a log line of the
// process logger, through sink errors, JWT config errors, logged config and request objects.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger, type Logger } from '../../src/ops/logger.js';
import type { HttpSink } from '../../src/sinks/http-sink.js';
import { generateServiceKeyPair, parseServicePrivateJwk } from '../../src/sinks/service-keys.js';
import { createServiceSink, type ServiceSink } from '../../src/sinks/service-sink.js';
import { startMockService, type MockService } from '../support/mock-service.js';

const keys = generateServiceKeyPair();
const lines: string[] = [];
let logger: Logger;
let mock: MockService;
let built: ServiceSink;
let sink: HttpSink;
let token: string;

beforeAll(async () => {
  const config = loadConfig(
    { LOG_LEVEL: 'trace', SERVICE_JWT_PRIVATE_JWK: JSON.stringify(keys.privateJwk) },
    { envFile: false },
  );
  logger = createLogger(
    config,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  mock = await startMockService({ audience: 'playhub', publicJwks: [keys.publicJwk] });
  built = createServiceSink(
    { ...config, services: { playhub: mock.url }, sinks: { ...config.sinks, requestTimeoutMs: 300 } },
    { logger },
  );
  sink = built.sink;
  token = await built.tokens.tokenFor('playhub');
});
afterAll(async () => {
  await built.close();
  await mock.close();
});

/** The secrets that must never be logged, and pieces long enough to be recognised on their own. */
function canaries(): string[] {
  const [, payload = '', signature = ''] = token.split('.');
  return [keys.privateJwk.d, token, signature, `${payload}.${signature}`];
}

describe('log redaction', () => {
  it('sink failures (dead, retry, timeout) logged by the sink and by a handler carry no token', async () => {
    const echo = { error: { code: 'BOOM', authorization: `Bearer ${token}`, raw: token } };
    mock.script('POST /settle', [{ status: 400, body: echo }, { status: 503, body: echo }, { hang: true }]);
    for (let i = 0; i < 3; i++) {
      const result = await sink.call({
        service: 'playhub',
        path: '/settle',
        body: { i },
        idempotencyKey: `k-${i}`,
      });
      expect(result.outcome.kind).not.toBe('ack');
      logger.warn({ err: result.error, outcome: result.outcome, target: result.target }, 'settle failed');
    }
    expect(lines.some((line) => line.includes('service call failed permanently'))).toBe(true);
    expect(lines.some((line) => line.includes('UND_ERR_HEADERS_TIMEOUT'))).toBe(true);
    // the echoed body did reach the logs, scrubbed
    expect(lines.some((line) => line.includes('BOOM') && line.includes('Bearer [redacted]'))).toBe(true);
  });

  it('JWT key errors logged at start-up never carry the key', () => {
    const broken = [
      `{"kty":"OKP","crv":"Ed25519","d":"${keys.privateJwk.d}"`,
      JSON.stringify({ ...keys.privateJwk, crv: 'Ed448' }),
      JSON.stringify({ ...keys.privateJwk, x: generateServiceKeyPair().publicJwk.x }),
      JSON.stringify({ ...keys.privateJwk, crv: keys.privateJwk.d }),
    ];
    for (const raw of broken) {
      try {
        parseServicePrivateJwk(raw);
        expect.unreachable('a broken key must be refused');
      } catch (error) {
        logger.fatal({ err: error }, 'cannot start');
      }
    }
    try {
      loadConfig({ SERVICE_JWT_PRIVATE_JWK: JSON.stringify(keys.privateJwk), PORT: 'x' }, { envFile: false });
    } catch (error) {
      logger.fatal({ err: error }, 'cannot start');
    }
    expect(lines.filter((line) => line.includes('cannot start'))).toHaveLength(broken.length + 1);
  });

  it('logged config, keys and request headers are redacted, in either header case', () => {
    const config = loadConfig(
      { SERVICE_JWT_PRIVATE_JWK: JSON.stringify(keys.privateJwk) },
      { envFile: false },
    );
    logger.info({ config }, 'configuration');
    logger.info({ serviceJwt: config.serviceJwt }, 'jwt settings');
    logger.info({ jwk: keys.privateJwk }, 'a key object');
    logger.info({ privateJwk: keys.privateJwk }, 'a key object');
    logger.debug({ headers: { Authorization: `Bearer ${token}` } }, 'outgoing');
    logger.debug(
      { request: { headers: { authorization: `Bearer ${token}`, Authorization: `Bearer ${token}` } } },
      'outgoing',
    );
    logger.debug({ Authorization: `Bearer ${token}`, token }, 'outgoing');
    const lastLines = lines.slice(-7).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lastLines[4]).toMatchObject({ headers: { Authorization: '[redacted]' } });
  });

  afterAll(() => {
    // every line the tests produced, checked once at the end
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      for (const canary of canaries()) expect(line).not.toContain(canary);
    }
  });
});
