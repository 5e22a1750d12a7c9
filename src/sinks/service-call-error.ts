// Errors of calls to internal services: status, target and a short scrubbed body excerpt, never credentials.
import { PermanentError, TransientError } from '../errors.js';

/** Longest body excerpt kept in errors, outcomes and logs. */
export const BODY_EXCERPT_CHARS = 200;

/** What a failed call carries; `status` is undefined when no response came (timeout, reset, refused). */
export interface ServiceCallDetails {
  readonly status: number | undefined;
  readonly target: string;
  readonly bodyExcerpt: string;
}

/** Worth another attempt: 408, 429, 5xx, 409 in progress, timeouts, resets. */
export class ServiceCallTransientError extends TransientError implements ServiceCallDetails {
  readonly status: number | undefined;
  readonly target: string;
  readonly bodyExcerpt: string;

  constructor(
    message: string,
    details: ServiceCallDetails,
    retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, retryAfterMs, options);
    this.status = details.status;
    this.target = details.target;
    this.bodyExcerpt = details.bodyExcerpt;
  }
}

/** No attempt can succeed: other 4xx, an invalid response. */
export class ServiceCallPermanentError extends PermanentError implements ServiceCallDetails {
  readonly status: number | undefined;
  readonly target: string;
  readonly bodyExcerpt: string;

  constructor(message: string, details: ServiceCallDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.status = details.status;
    this.target = details.target;
    this.bodyExcerpt = details.bodyExcerpt;
  }
}

export type ServiceCallError = ServiceCallTransientError | ServiceCallPermanentError;

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
// three base64url segments starting with an encoded JSON header: a JWT (or JWS) wherever it appears
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
const PEM_BLOCK = /-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g;
const CONTROL = /[\p{Cc}\p{Cs}]+/gu;

/**
 * A body excerpt safe to log: credentials a server may echo back (bearer tokens, JWTs, PEM blocks, the
 * given `secrets`) replaced, control characters folded to spaces, cut to BODY_EXCERPT_CHARS.
 */
export function scrubExcerpt(text: string, secrets: readonly string[] = []): string {
  let scrubbed = text;
  for (const secret of secrets) {
    if (secret.length >= 8) scrubbed = scrubbed.split(secret).join('[redacted]');
  }
  scrubbed = scrubbed
    .replace(PEM_BLOCK, '[redacted]')
    .replace(JWT_LIKE, '[redacted]')
    .replace(BEARER, '$1 [redacted]')
    .replace(CONTROL, ' ')
    .trim();
  return scrubbed.length > BODY_EXCERPT_CHARS ? `${scrubbed.slice(0, BODY_EXCERPT_CHARS)}...` : scrubbed;
}
