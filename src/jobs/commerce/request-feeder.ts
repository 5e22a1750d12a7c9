// Cron feeders of the commerce queues (what BullMQ repeatable jobs did): each tick publishes one request event per
// base currency, connected source or tenant, with ids derived from the tick and the item, so a repeated tick adds none.
import type { z } from 'zod';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import type { CallScope, HttpSink } from '../../sinks/http-sink.js';
import { outcome } from '../../streams/outcome.js';
import { derivedEventId } from '../due-sweeper.js';
import type { PackContext } from '../pack-context.js';

export type Tick = EventEnvelope<CronTickData>;

export interface RequestFeeder {
  /** Job name, e.g. `fx.refresh.schedule`. */
  readonly name: string;
  /** The events of one tick, in batches (one per page of a listing). */
  events(tick: Tick, scope: CallScope): AsyncIterable<readonly EventEnvelope[]>;
}

/** A request event of a tick: its id is derived from (type, tick, identity), its time is the tick's. */
export function tickRequest(
  context: PackContext,
  tick: Tick,
  type: string,
  key: string,
  data: object,
  identity: readonly string[],
): EventEnvelope {
  const tickMs = Date.parse(tick.data.tick);
  return {
    id: derivedEventId(tickMs, type, tick.data.tick, ...identity),
    type,
    key,
    occurredAt: tick.data.tick,
    source: context.config.service.id,
    schemaVersion: 1,
    data,
  };
}

/** Every page (up to `maxPages`) of a Commerce listing with `limit`/`cursor` paging. */
export async function* listingPages<T>(
  sink: HttpSink,
  path: string,
  schema: z.ZodType<{ items: T[]; nextCursor: string | null }>,
  scope: CallScope,
  paging: { readonly pageSize: number; readonly maxPages: number },
): AsyncIterable<T[]> {
  let cursor: string | null = null;
  for (let pages = 0; pages < paging.maxPages; pages += 1) {
    const query = new URLSearchParams({ limit: String(paging.pageSize) });
    if (cursor !== null) query.set('cursor', cursor);
    const page = await sink.fetchJson(
      { service: 'commerce', method: 'GET', path: `${path}?${query.toString()}`, responseSchema: schema },
      scope,
    );
    if (page === undefined) return; // 204: nothing listed
    yield page.items;
    cursor = page.nextCursor;
    if (cursor === null) return;
  }
}

/** The cron job of a feeder: failed listing calls retry the tick (events already written are deduped then). */
export function requestFeederJob(context: PackContext, feeder: RequestFeeder): JobDefinition<CronTickData> {
  const logger = context.logger.child({ job: feeder.name });
  return {
    name: feeder.name,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    concurrency: 1,
    // a tick retried a little, then left to the next one (which publishes the same requests anew)
    retry: { maxAttempts: 3 },
    handler: async (tick, job) => {
      let published = 0;
      let requested = 0;
      for await (const batch of feeder.events(tick, { event: tick, signal: job.signal })) {
        if (batch.length === 0) continue;
        requested += batch.length;
        const results = await context.publisher.publishBatch(batch);
        published += results.filter((result) => !result.duplicate).length;
      }
      logger.debug({ tick: tick.data.tick, requested, published }, `${feeder.name}: requests published`);
      return outcome.ack();
    },
  };
}
