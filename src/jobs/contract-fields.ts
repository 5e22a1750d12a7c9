// Field schemas shared by the platform's event and internal-API contracts: ids, money, timestamps, paging, errors.
import { z } from 'zod';
import { minorUnits, occurredAtSchema } from '../events/envelope.js';

/** Timestamps are ISO-8601 UTC strings ending in Z, like the envelope's `occurredAt`. */
// not in the seeds: chosen here (the seeds name T_end, expiresAt, nextReleaseAt but no format)
export const isoTimestamp = occurredAtSchema;

/** An id minted by a domain service (UUID, ULID, `bet_01J...`): safe inside partition and idempotency keys. */
// not in the seeds: chosen here
export const entityId = z
  .string()
  .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'expected an id of 1-128 chars [A-Za-z0-9_.:@-]');

/** Money amount: non-negative integer minor units as a decimal string, no leading zeros (`"1250"` = 12.50). */
export const amountMinor = minorUnits.regex(
  /^(?:0|[1-9]\d*)$/,
  'expected non-negative integer minor units as a decimal string',
);

/** Asset / currency code, e.g. `STAR`, `USDT`, `TON`. */
// not in the seeds: chosen here
export const assetCode = z
  .string()
  .regex(/^[A-Z0-9]{2,16}$/, 'expected an upper-case asset code of 2-16 chars');

/** Market symbol, e.g. `BTC/USDT`. */
// not in the seeds: chosen here
export const marketSymbol = z
  .string()
  .regex(/^[A-Z0-9]{1,16}(?:[/_-][A-Z0-9]{1,16})?$/, 'expected a symbol like BTC/USDT');

/** A price or quantity: a non-negative decimal string (never a float), e.g. `"64250.12"`. */
// not in the seeds: chosen here (prices are not money amounts, so they keep their decimals)
export const decimalString = z.string().regex(/^(?:0|[1-9]\d*)(?:\.\d{1,18})?$/, 'expected a decimal string');

/** A page of a list endpoint: pass `nextCursor` back as `cursor`; null on the last page. */
// not in the seeds: chosen here
export const nextCursor = z.string().min(1).max(512).nullable();

/** Paging fields of a list query: at most `limit` items, from `cursor` (a previous page's `nextCursor`). */
// not in the seeds: chosen here
export const cursorQueryFields = {
  limit: z.coerce.number().int().min(1).max(500),
  cursor: z.string().min(1).max(512).optional(),
} as const;

/** Query of the sweeper scans: items due at or before `before`. */
// not in the seeds: chosen here
export const dueQuery = z.strictObject({ before: isoTimestamp, ...cursorQueryFields });

/**
 * The error envelope of every internal API: `{ error: { code, message, details? } }`. Seed 000 §10 only says error
 * envelopes align with tg-miniapp-shared, which the seeds do not include.
 */
// not in the seeds: chosen here
export const errorEnvelope = z.object({
  error: z.object({
    code: z.string().min(1),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

export type ErrorEnvelope = z.infer<typeof errorEnvelope>;

/**
 * Error codes a job acts on. A 409 says which idempotency case it is; the HTTP sink's conflict matcher
 * (src/sinks/status-mapping.ts) recognises these three.
 */
// not in the seeds: chosen here (seed 000 §5 only says "409 conflict -> success")
export const ERROR_CODES = {
  /** 409: this Idempotency-Key was already applied; the job acks. */
  alreadyDone: 'ALREADY_DONE',
  /** 409: a request with this Idempotency-Key is still being applied; the job retries. */
  inProgress: 'IN_PROGRESS',
  /** 409: this Idempotency-Key was used with a different body; no retry can succeed, so dead. */
  keyMismatch: 'IDEMPOTENCY_KEY_MISMATCH',
  /** 400/422: the body failed validation. */
  invalidRequest: 'INVALID_REQUEST',
  /** 404: the entity does not exist. */
  notFound: 'NOT_FOUND',
  /** 429: over a rate limit; Retry-After says when to come back. */
  rateLimited: 'RATE_LIMITED',
  /** 503: a dependency is down. */
  unavailable: 'UNAVAILABLE',
  /** 500: a bug or an unexpected state in the service. */
  internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];
