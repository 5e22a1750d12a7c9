// The shape of an internal API contract: what a job sends to a domain service and what each answer means for it.
import type { z } from 'zod';
import type { ServiceName } from '../config/index.js';
import type { OutcomeKind } from '../streams/outcome.js';
import { ERROR_CODES, errorEnvelope } from './contract-fields.js';

/** The target service; `per-call` = the job picks it: an export's `data.service`, a cleanup schedule's service. */
export type EndpointTarget = ServiceName | 'per-call';

/** How a job builds the Idempotency-Key: `idempotencyKey(scope, ...parts)` (src/sinks/idempotency-key.ts). */
export interface IdempotencyKeySpec {
  /** The job name, or job name + step when one job makes several mutations (`campaigns.claim.receipt`). */
  readonly scope: string;
  /**
   * Request fields whose values are the logic epoch, in order; timestamps go in as Dates (epoch ms).
   * `digest(field)` = the sha256 hex of the field's JSON, for batches whose content is their identity.
   */
  readonly parts: readonly string[];
}

/** What one HTTP status means for the job. */
export interface StatusContract {
  /** The outcome the job returns; `by-error-code` = read `error.code` of the envelope (409). */
  readonly outcome: OutcomeKind | 'by-error-code';
  readonly meaning: string;
  /** Schema of the body with this status, when it has one. */
  readonly body?: z.ZodType;
}

export interface InternalEndpoint {
  readonly service: EndpointTarget;
  readonly method: 'GET' | 'POST';
  /** Path under the service's SVC_*_URL; no path parameters (ids travel in the body or the query). */
  readonly path: string;
  /** Where the seeds say so, e.g. `001 §7 cfb.settle; 000 §4.1`, or `not in the seeds: chosen here`. */
  readonly seed: string;
  /** Every mutation (POST) sends one. */
  readonly idempotencyKey?: IdempotencyKeySpec;
  /** Query string of a GET, as an object (values are sent as strings). */
  readonly query?: z.ZodType;
  /** JSON body of a POST. */
  readonly request?: z.ZodType;
  /** Body of the main success answer (200). */
  readonly response: z.ZodType;
  /** Statuses with a meaning of their own; anything else follows DESIGN.md §7's mapping. */
  readonly statuses: Readonly<Record<number, StatusContract>>;
}

/** 409 on a mutation: which idempotency case it is, by the envelope's code. */
export const CONFLICT_OUTCOMES = {
  [ERROR_CODES.alreadyDone]: 'ack',
  [ERROR_CODES.inProgress]: 'retry',
  [ERROR_CODES.keyMismatch]: 'dead',
} as const satisfies Readonly<Record<string, OutcomeKind>>;

/** The statuses every internal endpoint shares (DESIGN.md §7), each with the error envelope as body. */
export const commonStatuses = {
  400: {
    outcome: 'dead',
    meaning: 'INVALID_REQUEST: the body or query failed validation',
    body: errorEnvelope,
  },
  404: { outcome: 'dead', meaning: 'NOT_FOUND: the entity does not exist', body: errorEnvelope },
  429: { outcome: 'retry', meaning: 'RATE_LIMITED: retry after Retry-After', body: errorEnvelope },
  500: { outcome: 'retry', meaning: 'INTERNAL: retry with backoff', body: errorEnvelope },
  503: {
    outcome: 'retry',
    meaning: 'UNAVAILABLE: retry after Retry-After or with backoff',
    body: errorEnvelope,
  },
} as const satisfies Readonly<Record<number, StatusContract>>;

/** The statuses every mutation adds: the idempotency cases of 409. */
export const mutationStatuses = {
  ...commonStatuses,
  409: {
    outcome: 'by-error-code',
    meaning:
      'ALREADY_DONE: the key was applied before, ack; IN_PROGRESS: the same key is still running, retry; ' +
      'IDEMPOTENCY_KEY_MISMATCH: the key was used with another body, dead',
    body: errorEnvelope,
  },
} as const satisfies Readonly<Record<number, StatusContract>>;
