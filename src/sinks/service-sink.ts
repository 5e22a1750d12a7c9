// Builds the internal-service sink from WorkerConfig at start-up: checked JWT key, mTLS files, pools, sink.
import type { Clock } from '../clock.js';
import type { WorkerConfig } from '../config/index.js';
import { createHttpSink, type HttpSink, type HttpSinkOptions } from './http-sink.js';
import { createServicePools, type ServicePools } from './service-pools.js';
import { readServiceTls } from './service-tls.js';
import { createServiceTokens, type ServiceTokens } from './service-tokens.js';
import type { StatusPolicy } from './status-mapping.js';

export interface ServiceSinkDeps {
  readonly clock?: Clock;
  readonly logger?: HttpSinkOptions['logger'];
  readonly observe?: HttpSinkOptions['observe'];
  readonly policy?: Partial<StatusPolicy>;
  /** Connections per service; default 16. */
  readonly connections?: number;
}

export interface ServiceSink {
  readonly sink: HttpSink;
  readonly pools: ServicePools;
  readonly tokens: ServiceTokens;
  /** Closes the pools (requests in flight finish first). */
  close(): Promise<void>;
}

/**
 * Everything a worker needs to call internal services. Throws a ConfigError (naming the variable, never echoing a
 * secret) for a missing or non-Ed25519 SERVICE_JWT_PRIVATE_JWK or unreadable/mismatched SVC_MTLS_*_FILE.
 */
export function createServiceSink(
  config: Pick<WorkerConfig, 'service' | 'services' | 'serviceJwt' | 'sinks'>,
  deps: ServiceSinkDeps = {},
): ServiceSink {
  const tokens = createServiceTokens({
    privateJwk: config.serviceJwt.privateJwk,
    issuer: config.serviceJwt.issuer,
    subject: config.service.id,
    ttlSeconds: config.serviceJwt.ttlSeconds,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
  });
  const tls = readServiceTls(config.sinks.mtls);
  const pools = createServicePools(config.services, {
    connectTimeoutMs: config.sinks.connectTimeoutMs,
    requestTimeoutMs: config.sinks.requestTimeoutMs,
    ...(tls === undefined ? {} : { tls }),
    ...(deps.connections === undefined ? {} : { connections: deps.connections }),
  });
  const sink = createHttpSink({
    pools,
    tokens,
    responseMaxBytes: config.sinks.responseMaxBytes,
    userAgent: `${config.service.name} (${config.service.id})`,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    ...(deps.observe === undefined ? {} : { observe: deps.observe }),
    ...(deps.policy === undefined ? {} : { policy: deps.policy }),
  });
  return { sink, pools, tokens, close: () => pools.close() };
}
