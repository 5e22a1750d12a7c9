// One undici Pool per internal service (SVC_*_URL): keep-alive connections with connect, header and body timeouts.
import { Pool } from 'undici';
import { SERVICE_URL_VARIABLES, type ServiceName } from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { ServiceTls } from './service-tls.js';

export interface ServicePoolOptions {
  readonly connectTimeoutMs: number;
  /** Time to the response headers, and the longest gap between body chunks. */
  readonly requestTimeoutMs: number;
  /** Connections per service; default 16. */
  readonly connections?: number;
  /** Idle keep-alive sockets are closed after this; default 4 s (below common server defaults of 5 s). */
  readonly keepAliveTimeoutMs?: number;
  /** mTLS client certificate and CA, used for https services. */
  readonly tls?: ServiceTls;
}

/** Where a service lives: the pool's origin and the path prefix every request gets. */
export interface ServiceEndpoint {
  readonly pool: Pool;
  readonly origin: string;
  /** Path of the SVC_*_URL without a trailing slash ('' for none). */
  readonly basePath: string;
}

export interface ServicePools {
  readonly services: readonly ServiceName[];
  /** The endpoint of a configured service; a ConfigError naming its SVC_*_URL when it is not configured. */
  endpoint(service: ServiceName): ServiceEndpoint;
  /** Closes every pool, letting requests in flight finish. */
  close(): Promise<void>;
}

const DEFAULT_CONNECTIONS = 16;
const DEFAULT_KEEP_ALIVE_MS = 4_000;

export function createServicePools(
  services: Readonly<Partial<Record<ServiceName, string>>>,
  options: ServicePoolOptions,
): ServicePools {
  const endpoints = new Map<ServiceName, ServiceEndpoint>();
  for (const [service, base] of Object.entries(services) as [ServiceName, string | undefined][]) {
    if (base === undefined) continue;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new ConfigError(`${SERVICE_URL_VARIABLES[service]} is not a URL`, SERVICE_URL_VARIABLES[service]);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(
        `${SERVICE_URL_VARIABLES[service]} must be an http or https URL`,
        SERVICE_URL_VARIABLES[service],
      );
    }
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      throw new ConfigError(
        `${SERVICE_URL_VARIABLES[service]} must not carry credentials, a query or a fragment`,
        SERVICE_URL_VARIABLES[service],
      );
    }
    const https = url.protocol === 'https:';
    const pool = new Pool(url.origin, {
      connections: options.connections ?? DEFAULT_CONNECTIONS,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      connect: {
        timeout: options.connectTimeoutMs,
        ...(https && options.tls ? tlsOptions(options.tls) : {}),
      },
    });
    endpoints.set(service, { pool, origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') });
  }

  return {
    services: [...endpoints.keys()],
    endpoint(service) {
      const endpoint = endpoints.get(service);
      if (!endpoint) {
        const variable = SERVICE_URL_VARIABLES[service];
        throw new ConfigError(`service ${service} has no URL (expected ${variable} to be set)`, variable);
      }
      return endpoint;
    },
    async close() {
      await Promise.all([...endpoints.values()].map((e) => e.pool.close()));
    },
  };
}

function tlsOptions(tls: ServiceTls): { ca?: string; cert?: string; key?: string } {
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
  };
}
