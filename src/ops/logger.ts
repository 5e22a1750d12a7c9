// The process logger: pino JSON at LOG_LEVEL, tagged with the service, with every known secret path redacted.
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { WorkerConfig } from '../config/index.js';
import { logCorrelationMixin } from './tracing/log-correlation.js';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. pino's `*.x` matches one level down only, so the
 * top-level names are listed as well.
 */
export const REDACTED_PATHS: readonly string[] = [
  'privateJwk',
  '*.privateJwk',
  'serviceJwt.privateJwk',
  '*.serviceJwt.privateJwk',
  'authorization',
  'headers.authorization',
  '*.headers.authorization',
  '*.authorization',
  'password',
  '*.password',
  'token',
  '*.token',
  'SERVICE_JWT_PRIVATE_JWK',
  '*.SERVICE_JWT_PRIVATE_JWK',
  // header names keep the case they were written in; JWK objects and mTLS keys logged by mistake
  'Authorization',
  '*.Authorization',
  'headers.Authorization',
  '*.headers.Authorization',
  'jwk.d',
  '*.jwk.d',
  'tls.key',
  '*.tls.key',
  // admin HTTP credentials (config.admin.roles.<role>.password|token, and the variables themselves)
  'admin.roles.*.password',
  'admin.roles.*.token',
  '*.admin.roles.*.password',
  '*.admin.roles.*.token',
  'ADMIN_PASSWORD',
  'ADMIN_TOKEN',
  'ADMIN_READONLY_PASSWORD',
  'ADMIN_READONLY_TOKEN',
];

export const REDACTED = '[redacted]';

/** `destination` defaults to stdout; tests pass a stream to read the lines back. */
export function createLogger(
  config: Pick<WorkerConfig, 'log' | 'service'>,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.log.level,
    base: { service: config.service.name, serviceId: config.service.id },
    redact: { paths: [...REDACTED_PATHS], censor: REDACTED },
    // requestId, job, entryId, attempt and trace ids of the job attempt a line is written in
    mixin: logCorrelationMixin,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
