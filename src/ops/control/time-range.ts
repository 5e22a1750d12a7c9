// Time bounds given by operators (`--from`, `--to`): ISO-8601 times, epoch ms, stream ids or ages such as `2h`,
// turned into ms and into stream ids (entry ids start with their Redis-time ms).
import { ValidationError } from '../../errors.js';

/** A bound in time; `id` is set when the operator gave an exact stream id. */
export interface TimeBound {
  readonly ms: number;
  readonly id?: string;
}

const STREAM_ID = /^(\d{1,16})-(\d{1,20})$/;
const EPOCH_MS = /^\d{1,16}$/;
const AGE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
/** The largest sequence number of a stream id (unsigned 64 bits). */
const MAX_SEQUENCE = 18_446_744_073_709_551_615n;

export const TIME_SPEC_HELP =
  'an ISO-8601 time (2026-05-01T12:00:00Z), epoch ms, a stream id (1714564800000-0), an age back from now ' +
  '(90s, 15m, 2h, 7d) or "now"';

/** Parses one bound; `what` names the option in the error. */
export function parseTimeSpec(text: string, nowMs: number, what = 'time'): TimeBound {
  const value = text.trim();
  if (value === 'now') return { ms: nowMs };
  const id = STREAM_ID.exec(value);
  if (id) return { ms: Number(id[1]), id: value };
  if (EPOCH_MS.test(value)) return { ms: Number(value) };
  const age = AGE.exec(value);
  if (age) return { ms: nowMs - Math.round(Number(age[1]) * (UNIT_MS[age[2] ?? 'ms'] ?? 1)) };
  if (ISO.test(value)) {
    // a date or a time without a zone is read as UTC: operators compare with UTC ids and logs
    const normalised = /(?:Z|[+-]\d{2}:?\d{2})$/.test(value) || value.length === 10 ? value : `${value}Z`;
    const ms = Date.parse(normalised.replace(' ', 'T'));
    if (Number.isFinite(ms)) return { ms };
  }
  throw new ValidationError(`${what} "${text}" is not ${TIME_SPEC_HELP}`, [
    { path: what, message: 'invalid time' },
  ]);
}

/** Checks from <= to; both optional. */
export function checkTimeRange(from: TimeBound | undefined, to: TimeBound | undefined): void {
  if (from !== undefined && to !== undefined && compareBounds(from, to) > 0) {
    throw new ValidationError(`the range is empty: from ${describe(from)} is after to ${describe(to)}`, [
      { path: 'from', message: 'expected from <= to' },
    ]);
  }
}

/** XRANGE start bound: the exact id, else the first id of the ms. */
export function rangeStartId(bound: TimeBound | undefined): string {
  if (bound === undefined) return '-';
  return bound.id ?? `${Math.max(0, bound.ms)}-0`;
}

/** XRANGE end bound: the exact id, else the last id of the ms. */
export function rangeEndId(bound: TimeBound | undefined): string {
  if (bound === undefined) return '+';
  return bound.id ?? `${Math.max(0, bound.ms)}-${MAX_SEQUENCE}`;
}

/** The id just before `id` (a group created there delivers `id` first); `0-0` has none, so it is itself. */
export function streamIdBefore(id: string): string {
  const match = STREAM_ID.exec(id);
  if (!match) throw new ValidationError(`"${id}" is not a stream id`);
  const ms = BigInt(match[1] ?? '0');
  const seq = BigInt(match[2] ?? '0');
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  if (ms > 0n) return `${ms - 1n}-${MAX_SEQUENCE}`;
  return '0-0';
}

/** Orders two stream ids numerically; -1, 0 or 1. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map((part) => BigInt(part));
  const [bm = 0n, bs = 0n] = b.split('-').map((part) => BigInt(part));
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

function compareBounds(a: TimeBound, b: TimeBound): number {
  return compareStreamIds(a.id ?? `${a.ms}-0`, b.id ?? `${b.ms}-${MAX_SEQUENCE}`);
}

function describe(bound: TimeBound): string {
  return bound.id ?? new Date(bound.ms).toISOString();
}
