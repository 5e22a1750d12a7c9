// Status mapping (DESIGN.md §7): an internal service's HTTP answer -> the Outcome of the job attempt, per job overridable.
import { outcome, type Outcome, type OutcomeKind } from '../streams/outcome.js';

/** What a 409 says about the Idempotency-Key: applied before, still being applied, or a real conflict. */
export type ConflictMeaning = 'done' | 'in-progress' | 'conflict';
/** Reads a 409's error envelope; undefined when it does not say. */
export type ConflictMatcher = (body: unknown) => ConflictMeaning | undefined;

/** A response as the mapping sees it; `excerpt` is short and scrubbed of credentials. */
export interface SinkResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON body, or undefined (empty, not JSON, or over the size cap). */
  readonly body: unknown;
  readonly excerpt: string;
  /** `service METHOD /path`, for messages. */
  readonly target: string;
}

export interface StatusPolicy {
  /** A 202 without Retry-After is deferred this long (the scheduler adds jitter and enforces the deadline). */
  readonly deferDefaultMs: number;
  /** Retry-After values beyond this are clamped to it. */
  readonly maxRetryAfterMs: number;
  /** Reads what a 409 means from the target's error envelope. */
  readonly conflict: ConflictMatcher;
  /** A 409 whose envelope the matcher does not recognise (default retry: a bare 409 usually means "in use"). */
  readonly unknownConflict: Exclude<OutcomeKind, 'defer'>;
  /** Per-status overrides of the mapped kind, e.g. `{ 404: 'ack' }` for a job where "gone" means done. */
  readonly statuses: Readonly<Partial<Record<number, OutcomeKind>>>;
  /** Last word: an Outcome here replaces the mapped one. */
  readonly override?: (response: SinkResponse, mapped: Outcome) => Outcome | undefined;
}

/** Error codes of a 409 envelope meaning "this key was already applied". */
export const CONFLICT_DONE_CODES: readonly string[] = [
  'ALREADY_DONE',
  'ALREADY_APPLIED',
  'ALREADY_PROCESSED',
  'IDEMPOTENT_REPLAY',
  'IDEMPOTENCY_KEY_REPLAYED',
  'IDEMPOTENCY_KEY_COMPLETED',
];
/** Error codes of a 409 envelope meaning "a request with this key is still being applied". */
export const CONFLICT_IN_PROGRESS_CODES: readonly string[] = [
  'IN_PROGRESS',
  'REQUEST_IN_PROGRESS',
  'IDEMPOTENCY_IN_PROGRESS',
  'IDEMPOTENCY_KEY_IN_USE',
  'IDEMPOTENCY_KEY_IN_PROGRESS',
];
/** Error codes meaning the key was used for a different request: no attempt can succeed. */
export const CONFLICT_MISMATCH_CODES: readonly string[] = [
  'IDEMPOTENCY_KEY_MISMATCH',
  'IDEMPOTENCY_KEY_REUSED',
];

/**
 * The `code` of an error envelope: `{ error: { code } }`, `{ code }`, `{ errorCode }` or `{ error: "CODE" }`,
 * normalised to upper snake case.
 */
export function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const nested = record['error'];
  const candidates = [
    typeof nested === 'object' && nested !== null ? (nested as Record<string, unknown>)['code'] : undefined,
    record['code'],
    record['errorCode'],
    nested,
  ];
  const code = candidates.find((c): c is string => typeof c === 'string' && c !== '');
  return code
    ?.trim()
    .toUpperCase()
    .replace(/[\s.-]+/g, '_');
}

/** A matcher over envelope codes; the defaults are the lists above. */
export function conflictMatcher(
  codes: { done?: readonly string[]; inProgress?: readonly string[]; mismatch?: readonly string[] } = {},
): ConflictMatcher {
  const done = new Set(codes.done ?? CONFLICT_DONE_CODES);
  const inProgress = new Set(codes.inProgress ?? CONFLICT_IN_PROGRESS_CODES);
  const mismatch = new Set(codes.mismatch ?? CONFLICT_MISMATCH_CODES);
  return (body) => {
    const code = errorCodeOf(body);
    if (code === undefined) return undefined;
    if (done.has(code)) return 'done';
    if (inProgress.has(code)) return 'in-progress';
    if (mismatch.has(code)) return 'conflict';
    return undefined;
  };
}

export const defaultStatusPolicy: StatusPolicy = {
  deferDefaultMs: 30_000,
  maxRetryAfterMs: 3_600_000,
  conflict: conflictMatcher(),
  unknownConflict: 'retry',
  statuses: {},
};

const DELTA_SECONDS = /^\d+$/;

/** Retry-After as ms from `now`: delta-seconds or an HTTP date (past dates give 0); undefined when absent or bad. */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  now: number,
): number | undefined {
  const text = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (text === undefined || text === '') return undefined;
  if (DELTA_SECONDS.test(text)) return Number(text) * 1000;
  // an HTTP date always names its weekday and GMT; this keeps Date.parse from guessing at other strings
  if (!/^[A-Za-z]{3},? /.test(text) || !/GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function kindFor(status: number, response: SinkResponse, policy: StatusPolicy): OutcomeKind {
  const override = policy.statuses[status];
  if (override !== undefined) return override;
  if (status === 202) return 'defer';
  if (status >= 200 && status < 300) return 'ack';
  if (status === 409) {
    const meaning = policy.conflict(response.body);
    if (meaning === 'done') return 'ack';
    if (meaning === 'in-progress') return 'retry';
    if (meaning === 'conflict') return 'dead';
    return policy.unknownConflict;
  }
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  // other 4xx, and 1xx/3xx an internal API should never send
  return 'dead';
}

/** `playhub POST /internal/v1/cfb/settle -> 503: {"error":...}` */
export function describeResponse(response: SinkResponse): string {
  const excerpt = response.excerpt === '' ? '' : `: ${response.excerpt}`;
  return `${response.target} -> ${response.status}${excerpt}`;
}

/** The Outcome of one response under `policy`, at time `now` (ms since epoch). */
export function mapResponse(response: SinkResponse, policy: StatusPolicy, now: number): Outcome {
  const retryAfter = parseRetryAfter(response.headers['retry-after'], now);
  const after = retryAfter === undefined ? undefined : Math.min(retryAfter, policy.maxRetryAfterMs);
  const kind = kindFor(response.status, response, policy);
  let mapped: Outcome;
  switch (kind) {
    case 'ack':
      mapped = outcome.ack();
      break;
    case 'retry':
      mapped = outcome.retry(describeResponse(response), after);
      break;
    case 'defer':
      mapped = outcome.defer(
        now + (after ?? policy.deferDefaultMs),
        `${response.target} -> ${response.status}`,
      );
      break;
    case 'dead':
      mapped = outcome.dead(`http ${response.status}`, describeResponse(response));
      break;
  }
  return policy.override?.(response, mapped) ?? mapped;
}
