// pageviews.flush (seed 000 §3.7 "metrics flushers for page view aggregations from Events if enabled"): on each tick
// asks Events to flush its page-view aggregations up to the tick; off unless ENABLE_PAGEVIEWS_FLUSH=true.
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import type { Outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { requireServices } from '../pack-settings.js';
import { pageviewsFlush, pageviewsFlushResponse } from './api.js';

export const PAGEVIEWS_FLUSH_JOB = 'pageviews.flush';
/** Every 5 minutes. */
// not in the seeds: chosen here
export const PAGEVIEWS_FLUSH_DEFAULT_SPEC = '*/5 * * * *';

export function pageviewsFlushJob(): PackJob {
  return {
    catalog: {
      name: PAGEVIEWS_FLUSH_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: ['utility', 'events'],
      enableFlag: 'ENABLE_PAGEVIEWS_FLUSH',
      // seed 000 §3.7: "if enabled"
      enabledByDefault: false,
    },
    schedules: [
      {
        name: PAGEVIEWS_FLUSH_JOB,
        defaultSpec: PAGEVIEWS_FLUSH_DEFAULT_SPEC,
        overlap: 'skip',
        missed: 'once',
      },
    ],
    definition: (ctx) => pageviewsFlushDefinition(ctx),
  };
}

export function pageviewsFlushDefinition(ctx: PackContext): JobDefinition<CronTickData> {
  requireServices(ctx.config, PAGEVIEWS_FLUSH_JOB, 'events');
  const sink = ctx.services();
  return {
    name: PAGEVIEWS_FLUSH_JOB,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    // above 1 so a due retry is not held up behind the blocking read (the overlap lock keeps runs apart anyway)
    concurrency: 2,
    handler: async (event: EventEnvelope<CronTickData>, job: JobContext): Promise<Outcome> => {
      const until = event.data.tick;
      // 200 flushed or 204 nothing to flush: both ack
      return sink.outcomeOf(
        {
          service: 'events',
          path: pageviewsFlush.path,
          body: { until },
          idempotencyKey: idempotencyKey(pageviewsFlush.idempotencyKey.scope, new Date(until)),
          responseSchema: pageviewsFlushResponse,
        },
        { event, signal: job.signal },
      );
    },
  };
}
