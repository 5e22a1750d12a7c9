// The event envelope: the zod schema every published fact must pass, and helpers to report its issues.
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import type { ValidationIssue } from '../errors.js';

/** ULID in canonical form: 26 upper-case Crockford base32 characters; the first is 0-7 (48-bit time). */
export const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
/** UUIDv7 in canonical RFC 9562 form: lower-case hex, version nibble 7, variant 10xx. */
export const UUID_V7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** `noun.verb`: at least two dot-separated segments of [a-z0-9_]. */
export const EVENT_TYPE_PATTERN = /^[a-z0-9_]+(?:\.[a-z0-9_]+)+$/;
export const EVENT_TYPE_MAX_CHARS = 100;
export const PARTITION_KEY_MAX_CHARS = 256;
const SOURCE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
// Same alphabet as key-builder names: a targetGroup must name a consumer group that can exist.
const GROUP_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
// Lone surrogates are rejected too: they cannot be encoded as UTF-8, so they would not survive Redis.
const NO_CONTROL_CHARS = /^[^\p{Cc}\p{Cs}]*$/u;
const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** Money: integer minor units as a decimal string (never a float), e.g. "-1250" for -12.50. */
export const minorUnits = z.string().regex(/^-?\d+$/, 'expected integer minor units as a decimal string');

export const eventIdSchema = z.string().refine((id) => ULID_PATTERN.test(id) || UUID_V7_PATTERN.test(id), {
  message: 'expected a ULID (26 upper-case Crockford base32 chars) or a lower-case UUIDv7',
});

export const eventTypeSchema = z
  .string()
  .max(EVENT_TYPE_MAX_CHARS, `expected at most ${EVENT_TYPE_MAX_CHARS} characters`)
  .regex(EVENT_TYPE_PATTERN, 'expected noun.verb: dot-separated lower-case segments of [a-z0-9_]');

export const partitionKeySchema = z
  .string()
  .min(1, 'expected a non-empty partition key')
  .refine((key) => codePointCount(key) <= PARTITION_KEY_MAX_CHARS, {
    message: `expected at most ${PARTITION_KEY_MAX_CHARS} characters`,
  })
  .regex(NO_CONTROL_CHARS, 'expected no control characters or lone surrogates');

export const occurredAtSchema = z.string().refine(isIsoUtc, {
  message: 'expected an ISO-8601 UTC timestamp ending in Z, e.g. 2026-11-23T15:00:00.000Z',
});

export const traceparentSchema = z.string().refine(isTraceparent, {
  message: 'expected a W3C traceparent 00-<32 hex>-<16 hex>-<2 hex> with non-zero ids',
});

export const envelopeSchema = z.strictObject({
  id: eventIdSchema,
  type: eventTypeSchema,
  key: partitionKeySchema,
  occurredAt: occurredAtSchema,
  source: z.string().regex(SOURCE_PATTERN, 'expected a service id of 1-64 chars [A-Za-z0-9_.-]'),
  schemaVersion: z.number().int('expected an integer').min(1, 'expected a version >= 1'),
  // Checked per type by the registry; here it only has to be present.
  data: z.unknown().refine((data) => data !== undefined, { message: 'expected data' }),
  traceparent: traceparentSchema.optional(),
  targetGroup: z
    .string()
    .regex(GROUP_PATTERN, 'expected a group name of 1-64 chars [A-Za-z0-9_.-]')
    .optional(),
  // How many times this event was re-emitted by defer/repeat (1 on the first re-emission); absent on originals.
  repetition: z.number().int('expected an integer').min(1, 'expected a count >= 1').optional(),
});

/** A published fact. `data` is typed by the registry schema of `type` once validated. */
export type EventEnvelope<TData = unknown> = Omit<z.infer<typeof envelopeSchema>, 'data'> & { data: TData };

/** Parses an envelope (not its data, see the registry) or throws ValidationError listing every issue. */
export function parseEnvelope(input: unknown): EventEnvelope {
  const result = envelopeSchema.safeParse(input);
  if (!result.success) {
    const issues = zodIssues(result.error);
    throw new ValidationError(`invalid event envelope: ${describeIssues(issues)}`, issues);
  }
  return result.data;
}

/** Turns zod issues into ValidationIssues with dotted paths under `base` (e.g. `data.amount`). */
export function zodIssues(error: z.ZodError, base = ''): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: [base, ...issue.path.map(String)].filter((part) => part !== '').join('.') || '(root)',
    message: issue.message,
  }));
}

/** One line for an error message: `path: message; path: message`. */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
}

function codePointCount(text: string): number {
  // Fast path: UTF-16 length is an upper bound on the code point count.
  if (text.length <= PARTITION_KEY_MAX_CHARS) return text.length;
  return Array.from(text).length;
}

function isIsoUtc(text: string): boolean {
  const match = ISO_UTC.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (hour > 23 || minute > 59 || second > 59) return false;
  // Date.UTC rolls 2026-02-30 over into March; a real calendar date round-trips unchanged.
  const date = new Date(Date.UTC(year, month - 1, day));
  date.setUTCFullYear(year);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function isTraceparent(text: string): boolean {
  const match = TRACEPARENT.exec(text);
  return match !== null && !/^0+$/.test(match[1] ?? '') && !/^0+$/.test(match[2] ?? '');
}
