// What a timer is: its request (deterministic id, due time, version, the event it fires), the checks a request must
// pass before anything is written, and the stored payload format ("<version>\n<JSON array of entry fields>").
import { ValidationError } from '../errors.js';
import type { ValidationIssue } from '../errors.js';
import { describeIssues, parseEnvelope } from '../events/envelope.js';
import type { EventEnvelope } from '../events/envelope.js';
import { decodeEntry, encodeEvent, eventByteSize } from '../events/wire.js';

export interface TimerRequest {
  /** Deterministic, e.g. `cfb.settle:<betId>`, `cron:<name>:<tick-iso>`; 1-200 chars, no control chars. */
  readonly id: string;
  /** Due time, ms since the epoch (compared with Redis TIME). */
  readonly dueMs: number;
  /** Non-negative integer, default 0; a higher version reschedules a pending timer and beats older tombstones. */
  readonly version?: number;
  /** What fires: encoded with encodeEvent into the partition stream. */
  readonly event: EventEnvelope;
}

export type ScheduleResult = 'scheduled' | 'unchanged' | 'rescheduled' | 'tombstoned';

/** A pending timer as stored. */
export interface ScheduledTimer {
  readonly id: string;
  readonly dueMs: number;
  readonly version: number;
  readonly event: EventEnvelope;
}

/** A request checked and encoded for the scripts. */
export interface EncodedTimer {
  readonly id: string;
  readonly dueMs: number;
  readonly version: number;
  /** JSON array of the entry's field/value strings, exactly what the mover XADDs. */
  readonly fieldsJson: string;
}

export const TIMER_ID_MAX_CHARS = 200;
/** Latest accepted due time: 9999-12-31T23:59:59.999Z. */
export const MAX_DUE_MS = 253_402_300_799_999;
/** Cancelling without a version beats every version: its tombstone holds the largest one. */
export const MAX_TIMER_VERSION = Number.MAX_SAFE_INTEGER;
/** How long a tombstone outlives its timer by default: past any domain's horizon for late or redelivered events. */
export const DEFAULT_TOMBSTONE_RETENTION_MS = 30 * 24 * 3_600_000;
export const DEFAULT_MAX_TIMER_EVENT_BYTES = 65_536;

const SCHEDULE_CODES: Record<number, ScheduleResult> = {
  1: 'scheduled',
  2: 'unchanged',
  3: 'rescheduled',
  4: 'tombstoned',
};
const CONTROL_CHARS = /[\p{Cc}\p{Cs}]/u;

/** Maps a schedule/defer script code to its result; undefined for anything else. */
export function scheduleResultOf(code: unknown): ScheduleResult | undefined {
  return typeof code === 'number' ? SCHEDULE_CODES[code] : undefined;
}

export function assertTimerId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || Array.from(id).length > TIMER_ID_MAX_CHARS) {
    throw new ValidationError(`timer id must be 1-${TIMER_ID_MAX_CHARS} characters`, [
      { path: 'id', message: 'invalid timer id' },
    ]);
  }
  if (CONTROL_CHARS.test(id)) {
    throw new ValidationError('timer id must not contain control characters or lone surrogates', [
      { path: 'id', message: 'invalid timer id' },
    ]);
  }
}

export function assertTimerVersion(version: unknown): asserts version is number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new ValidationError(`timer version must be a non-negative safe integer, got ${String(version)}`, [
      { path: 'version', message: 'invalid version' },
    ]);
  }
}

/** Checks a request (id, due, version, envelope, size) and encodes it; throws ValidationError, writes nothing. */
export function encodeTimer(
  timer: TimerRequest,
  maxEventBytes = DEFAULT_MAX_TIMER_EVENT_BYTES,
): EncodedTimer {
  assertTimerId(timer.id);
  const { dueMs } = timer;
  if (!Number.isSafeInteger(dueMs) || dueMs < 0 || dueMs > MAX_DUE_MS) {
    throw new ValidationError(`timer ${timer.id}: dueMs must be an integer ms in 0..${MAX_DUE_MS}`, [
      { path: 'dueMs', message: `got ${String(dueMs)}` },
    ]);
  }
  const version = timer.version ?? 0;
  assertTimerVersion(version);
  let event: EventEnvelope;
  try {
    event = parseEnvelope(timer.event);
  } catch (error) {
    const issues: readonly ValidationIssue[] = error instanceof ValidationError ? error.issues : [];
    throw new ValidationError(
      `timer ${timer.id}: invalid event: ${describeIssues(issues)}`,
      issues.map((issue) => ({ ...issue, path: `event.${issue.path}` })),
      { cause: error },
    );
  }
  const fields = encodeEvent(event);
  const bytes = eventByteSize(fields);
  if (bytes > maxEventBytes) {
    throw new ValidationError(`timer ${timer.id}: event is ${bytes} bytes encoded, over ${maxEventBytes}`, [
      { path: 'event', message: `expected at most ${maxEventBytes} bytes` },
    ]);
  }
  return { id: timer.id, dueMs, version, fieldsJson: JSON.stringify(fields) };
}

/** Reads a stored payload back; throws ValidationError when it is not one this module wrote. */
export function decodeTimerPayload(payload: string): {
  version: number;
  fields: string[];
  event: EventEnvelope;
} {
  const newline = payload.indexOf('\n');
  const versionText = newline < 0 ? '' : payload.slice(0, newline);
  if (!/^\d{1,16}$/.test(versionText)) {
    throw new ValidationError('timer payload has no version line', [
      { path: 'payload', message: 'bad format' },
    ]);
  }
  let fields: unknown;
  try {
    fields = JSON.parse(payload.slice(newline + 1));
  } catch (error) {
    throw new ValidationError('timer payload fields are not JSON', [], { cause: error });
  }
  if (!Array.isArray(fields) || !fields.every((f) => typeof f === 'string')) {
    throw new ValidationError('timer payload fields are not an array of strings');
  }
  return { version: Number(versionText), fields, event: decodeEntry(fields) };
}
