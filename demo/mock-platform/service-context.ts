// What every mock domain service is built from: the shared clock, seed, per-service PRNG, event producer and
// server options; plus the small helpers they share (times, ids, cursor pages, money).
import type { Clock } from '../../src/clock.js';
import { ERROR_CODES } from '../../src/jobs/contract-fields.js';
import type { EventProducer } from './event-producer.js';
import { errorAnswer, type PlatformServiceOptions, type ServiceAnswer } from './platform-service.js';
import type { Random } from './seeded-random.js';

export interface ServiceContext {
  readonly seed: string | number;
  readonly clock: Clock;
  /** This service's own seeded PRNG. */
  readonly random: Random;
  readonly producer: EventProducer;
  /** Server options shared by every service: auth, latency, clock, log bound. */
  readonly server: Omit<PlatformServiceOptions, 'name' | 'routes' | 'random'>;
}

/** A time as a Date, epoch ms or ISO string. */
export type TimeInput = Date | number | string;

export function toMs(time: TimeInput): number {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(time);
  if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${String(time)}`);
  return ms;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Sequential ids per prefix (`bet-1`, `bet-2`): readable in logs and deterministic. */
export function idSequence(): (prefix: string) => string {
  const counters = new Map<string, number>();
  return (prefix) => {
    const next = (counters.get(prefix) ?? 0) + 1;
    counters.set(prefix, next);
    return `${prefix}-${next}`;
  };
}

export function notFound(what: string): ServiceAnswer {
  return errorAnswer(404, ERROR_CODES.notFound, `${what} not found`);
}

export function invalid(message: string, details?: Record<string, unknown>): ServiceAnswer {
  return errorAnswer(400, ERROR_CODES.invalidRequest, message, details);
}

export function sumMinor(amounts: readonly string[]): bigint {
  return amounts.reduce((sum, amount) => sum + BigInt(amount), 0n);
}

/** One page of items sorted by `sortKey`; the cursor is the last sort key of the previous page. */
export function pageOf<T>(
  items: readonly T[],
  sortKey: (item: T) => string,
  cursor: string | undefined,
  limit: number,
): { items: T[]; nextCursor: string | null } | undefined {
  let after: string | undefined;
  if (cursor !== undefined) {
    after = Buffer.from(cursor, 'base64url').toString('utf8');
    if (!after.startsWith('k:')) return undefined;
    after = after.slice(2);
  }
  const sorted = items
    .map((item) => ({ item, sort: sortKey(item) }))
    .filter(({ sort }) => after === undefined || sort > after)
    .sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
  const page = sorted.slice(0, limit);
  const last = page.at(-1);
  const more = sorted.length > limit && last !== undefined;
  return {
    items: page.map(({ item }) => item),
    nextCursor: more ? Buffer.from(`k:${last.sort}`).toString('base64url') : null,
  };
}

/** A sort key by time then id: zero-padded epoch ms, so strings sort like times. */
export function timeKey(ms: number, id: string): string {
  return `${String(ms).padStart(16, '0')}|${id}`;
}

export const badCursor = (): ServiceAnswer => invalid('cursor is not one this service issued');
