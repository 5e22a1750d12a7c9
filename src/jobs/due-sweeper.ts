// Sweepers (DESIGN.md §3, seed 000 §3.4 "scan or subscribe"): on each cron tick, ask a domain service for its
// due-but-unhandled items and republish the events that should have announced them, with ids derived from the items.
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { ServiceName } from '../config/index.js';
import type { EventEnvelope } from '../events/envelope.js';
import type { JobDefinition } from '../pipelines/job-definition.js';
import type { CronScheduleDeclaration } from '../scheduler/cron-schedules.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from '../scheduler/cron-tick-event.js';
import type { CronTickData } from '../scheduler/cron-tick-event.js';
import type { CallScope } from '../sinks/http-sink.js';
import { outcome } from '../streams/outcome.js';
import { serviceSinkFor } from './pack-context.js';
import type { PackContext } from './pack-context.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const MAX_ULID_TIME = 2 ** 48 - 1;

/**
 * A ULID whose time part is `timeMs` and whose 80 other bits are the sha256 of `parts`: the same fact gives the same
 * id in every process. Sweepers, and jobs publishing follow-up facts, use it, so a repeat within the publisher's
 * dedupe window is not written twice; a producer deriving its ids the same way dedupes its races with the sweeper.
 */
export function derivedEventId(timeMs: number, ...parts: readonly string[]): string {
  let rest = Math.min(Math.max(0, Math.floor(timeMs)), MAX_ULID_TIME);
  let time = '';
  for (let i = 0; i < 10; i++, rest = Math.floor(rest / 32)) time = CROCKFORD.charAt(rest % 32) + time;
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest();
  let bits = 0n;
  for (let i = 0; i < 10; i++) bits = (bits << 8n) | BigInt(digest[i] ?? 0);
  let random = '';
  for (let i = 0; i < 16; i++, bits >>= 5n) random = CROCKFORD.charAt(Number(bits & 31n)) + random;
  return time + random;
}

/** The id of a due fact: time part = when it is due, the rest = its type and identity (e.g. betId and tEnd). */
export function dueEventId(type: string, dueMs: number, identity: readonly string[]): string {
  return derivedEventId(dueMs, type, ...identity);
}

/** One page of a `.../due` scan (the contracts' cfbDueBets, escrowDue, vestingDue). */
export interface DuePage<TItem> {
  readonly items: readonly TItem[];
  readonly nextCursor: string | null;
}

export interface DueSweep<TItem> {
  /** Job and schedule name, e.g. `playhub.sweep`; the schedule's variable is CRON_ + the name (CRON_PLAYHUB_SWEEP). */
  readonly name: string;
  readonly service: ServiceName;
  /** GET path of the scan; `before`, `limit` and `cursor` go in the query. */
  readonly path: string;
  readonly responseSchema: z.ZodType<DuePage<TItem>>;
  /** The type republished for each item; the item is the event's data. */
  readonly eventType: string;
  /** Partition key of the event (the data field the contract names as key). */
  readonly keyOf: (item: TItem) => string;
  readonly dueMsOf: (item: TItem) => number;
  /** The fields that identify the fact, the same as the timer's id and version: the event id is derived from them. */
  readonly identityOf: (item: TItem) => readonly string[];
  /** Items per page (the contract allows 1-500). */
  readonly pageSize: number;
  /** Pages per tick; the rest stays due and is found by the next tick. */
  readonly maxPages: number;
}

/** The paging limits a pack sets for its sweeper. */
export type SweepOptions = Pick<DueSweep<unknown>, 'pageSize' | 'maxPages'>;

export interface SweepResult<TItem> {
  /** Every due item the scan returned this tick. */
  readonly items: readonly TItem[];
  /** Events written now; the others were already in their stream within the dedupe window. */
  readonly published: number;
  /** The page limit was reached with more pages left. */
  readonly truncated: boolean;
}

/** What a sweeper job does after its scan, e.g. raise a backlog alert. */
export type AfterSweep<TItem> = (
  result: SweepResult<TItem>,
  tick: EventEnvelope<CronTickData>,
) => Promise<void>;

/** A sweeper's schedule: a tick that finds the previous scan still running is skipped; after downtime, one runs. */
export function sweepSchedule(name: string, defaultSpec: string): CronScheduleDeclaration {
  return { name, defaultSpec, overlap: 'skip', missed: 'once' };
}

/**
 * Scans every page (up to `maxPages`) of items due at or before the tick and publishes their events. Failed calls
 * throw the sink's ServiceCallError (transient: the tick is retried; the events already written are deduped then).
 */
export async function sweepDue<TItem>(
  context: PackContext,
  sweep: DueSweep<TItem>,
  tick: EventEnvelope<CronTickData>,
  scope: CallScope,
): Promise<SweepResult<TItem>> {
  const sink = context.services();
  const items: TItem[] = [];
  let published = 0;
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = new URLSearchParams({ before: tick.data.tick, limit: String(sweep.pageSize) });
    if (cursor !== null) query.set('cursor', cursor);
    const page = await sink.fetchJson(
      {
        service: sweep.service,
        method: 'GET',
        path: `${sweep.path}?${query.toString()}`,
        responseSchema: sweep.responseSchema,
      },
      scope,
    );
    if (page === undefined) break; // 204: nothing due
    pages += 1;
    items.push(...page.items);
    if (page.items.length > 0) {
      const results = await context.publisher.publishBatch(
        page.items.map((item) => dueEvent(context, sweep, item, tick)),
      );
      published += results.filter((result) => !result.duplicate).length;
    }
    cursor = page.nextCursor;
  } while (cursor !== null && pages < sweep.maxPages);
  if (published > 0) {
    // not an error: data created before go-live, or a producer that crashed between its commit and its publish
    context.logger.info(
      { sweep: sweep.name, published, due: items.length },
      `${sweep.name}: published ${published} missing ${sweep.eventType} events`,
    );
  }
  return { items, published, truncated: cursor !== null };
}

function dueEvent<TItem>(
  context: PackContext,
  sweep: DueSweep<TItem>,
  item: TItem,
  tick: EventEnvelope<CronTickData>,
): EventEnvelope {
  return {
    id: dueEventId(sweep.eventType, sweep.dueMsOf(item), sweep.identityOf(item)),
    type: sweep.eventType,
    key: sweep.keyOf(item),
    // when the sweeper observed the fact; the id, not this, makes a repeat recognisable
    occurredAt: tick.data.tick,
    source: context.config.service.id,
    schemaVersion: 1,
    data: item,
  };
}

/** The sweeper job of a timed domain: reads `cron.tick` of its schedule, scans, republishes, then `afterSweep`. */
export function dueSweeperJob<TItem>(
  context: PackContext,
  sweep: DueSweep<TItem>,
  afterSweep?: AfterSweep<TItem>,
): JobDefinition<CronTickData> {
  serviceSinkFor(context, sweep.name, sweep.service);
  return {
    name: sweep.name,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    concurrency: 1,
    // a failed tick is retried a little, then left to the next tick (which finds the same items)
    retry: { maxAttempts: 3 },
    handler: async (event, ctx) => {
      const result = await sweepDue(context, sweep, event, { event, signal: ctx.signal });
      await afterSweep?.(result, event);
      return outcome.ack();
    },
  };
}
