// Optional mTLS to internal services: reads and checks the client certificate, key and CA files named in config.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { WorkerConfig } from '../config/index.js';
import { ConfigError, errorMessage } from '../errors.js';

/** PEM material for the TLS connections of the service pools. */
export interface ServiceTls {
  /** Client certificate chain presented to the services (mTLS). */
  readonly cert?: string;
  /** Private key of `cert`. */
  readonly key?: string;
  /** CA bundle the services' certificates must chain to; default: the system CAs. */
  readonly ca?: string;
}

function readPem(path: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${path}: ${errorMessage(error)}`, variable);
  }
}

function certificatesIn(pem: string, variable: string, path: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) throw new Error('no certificate');
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    throw new ConfigError(`${variable}: ${path} holds no valid PEM certificate`, variable);
  }
}

/**
 * The TLS material of SVC_MTLS_*_FILE, read once at start-up; undefined when none is configured. The key must
 * parse and belong to the certificate; nothing read is ever echoed in errors.
 */
export function readServiceTls(mtls: WorkerConfig['sinks']['mtls']): ServiceTls | undefined {
  const { certFile, keyFile, caFile } = mtls;
  if (certFile === undefined && keyFile === undefined && caFile === undefined) return undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? 'SVC_MTLS_CERT_FILE' : 'SVC_MTLS_KEY_FILE';
    throw new ConfigError(
      `${missing} is required with the other mTLS file (expected both, or neither)`,
      missing,
    );
  }
  const tls: { cert?: string; key?: string; ca?: string } = {};
  if (caFile !== undefined) {
    tls.ca = readPem(caFile, 'SVC_MTLS_CA_FILE');
    certificatesIn(tls.ca, 'SVC_MTLS_CA_FILE', caFile);
  }
  if (certFile !== undefined && keyFile !== undefined) {
    tls.cert = readPem(certFile, 'SVC_MTLS_CERT_FILE');
    tls.key = readPem(keyFile, 'SVC_MTLS_KEY_FILE');
    const [leaf] = certificatesIn(tls.cert, 'SVC_MTLS_CERT_FILE', certFile);
    let matches: boolean;
    try {
      matches = leaf?.checkPrivateKey(createPrivateKey(tls.key)) ?? false;
    } catch {
      throw new ConfigError(
        `SVC_MTLS_KEY_FILE: ${keyFile} holds no usable PEM private key`,
        'SVC_MTLS_KEY_FILE',
      );
    }
    if (!matches) {
      throw new ConfigError(
        `SVC_MTLS_KEY_FILE: ${keyFile} is not the key of the certificate in ${certFile}`,
        'SVC_MTLS_KEY_FILE',
      );
    }
  }
  return tls;
}
