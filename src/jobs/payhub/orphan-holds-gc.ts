// payhub.orphan_holds.gc (seed 001 §7): every CRON_RECON_ORPHAN_HOLDS tick, lists the holds older than the TTL with
// no correlation and releases each through Payhub's internal API, once per hold (Idempotency-Key per hold id).
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { requireServices } from '../pack-settings.js';
import { holdReleaseResponse, orphanHoldsResponse, payhubOrphanHolds, payhubReleaseHold } from './api.js';
import type { PayhubSettings } from './payhub-settings.js';

export const ORPHAN_HOLDS_GC_JOB = 'payhub.orphan_holds.gc';
/** Seed 001 §4: `CRON_RECON_ORPHAN_HOLDS=*\/10 * * * *`. */
export const ORPHAN_HOLDS_GC_DEFAULT_SPEC = '*/10 * * * *';
const PAGE_SIZE = 100;
/** An alert (signals.alertRaised) per release Payhub refused for good. */
export const RELEASE_REFUSED_ALERT = 'payhub.orphan_hold_release_refused';

export function orphanHoldsGcJob(settings: PayhubSettings): PackJob {
  return {
    catalog: {
      name: ORPHAN_HOLDS_GC_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: ['payhub', 'recon'],
      enableFlag: 'ENABLE_RECON_ORPHAN_HOLDS',
      // like every pack job: runs when its ENABLE_* flag is true or PROCESSORS names it (it needs SVC_*_URLs)
      enabledByDefault: false,
    },
    schedules: [
      {
        name: ORPHAN_HOLDS_GC_JOB,
        variable: 'CRON_RECON_ORPHAN_HOLDS',
        defaultSpec: ORPHAN_HOLDS_GC_DEFAULT_SPEC,
        overlap: 'skip',
        missed: 'once',
      },
    ],
    definition: (ctx) => orphanHoldsGcDefinition(ctx, settings),
  };
}

export function orphanHoldsGcDefinition(
  ctx: PackContext,
  settings: PayhubSettings,
): JobDefinition<CronTickData> {
  requireServices(ctx.config, ORPHAN_HOLDS_GC_JOB, 'payhub');
  const sink = ctx.services();
  const logger = ctx.logger.child({ job: ORPHAN_HOLDS_GC_JOB });

  /** Releases one hold; a hold Payhub no longer knows (404) is gone already, which is what we wanted. */
  async function release(
    holdId: string,
    event: EventEnvelope<CronTickData>,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const result = await sink.call(
      {
        service: 'payhub',
        path: payhubReleaseHold.path,
        body: { holdId, reason: 'orphan_gc' },
        idempotencyKey: idempotencyKey(payhubReleaseHold.idempotencyKey.scope, holdId),
        responseSchema: holdReleaseResponse,
        policy: { statuses: { 404: 'ack' } },
      },
      { event, signal },
    );
    return result.outcome;
  }

  return {
    name: ORPHAN_HOLDS_GC_JOB,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    concurrency: 2,
    handler: async (event: EventEnvelope<CronTickData>, job: JobContext): Promise<Outcome> => {
      // the tick, not the clock: every retry of this run asks Payhub the same question
      const olderThan = new Date(Date.parse(event.data.tick) - settings.orphanHoldTtlMs).toISOString();
      let cursor: string | undefined;
      let released = 0;
      let refused = 0;
      let pending: Outcome | undefined;
      let seen = 0;
      do {
        const query = new URLSearchParams({ olderThan, limit: String(PAGE_SIZE) });
        if (cursor !== undefined) query.set('cursor', cursor);
        const page = await sink.call(
          {
            service: 'payhub',
            method: 'GET',
            path: `${payhubOrphanHolds.path}?${query.toString()}`,
            responseSchema: orphanHoldsResponse,
          },
          { event, signal: job.signal },
        );
        if (page.outcome.kind !== 'ack' || page.body === undefined) return pending ?? page.outcome;
        for (const hold of page.body.items) {
          if (seen >= settings.orphanHoldsMaxPerRun) break;
          seen += 1;
          const result = await release(hold.holdId, event, job.signal);
          if (result.kind === 'ack') released += 1;
          else if (result.kind === 'dead') {
            refused += 1;
            ctx.signals.alertRaised(RELEASE_REFUSED_ALERT);
            logger.error(
              { holdId: hold.holdId, reason: result.reason, error: result.error },
              'orphan hold release refused',
            );
          } else pending ??= result;
        }
        cursor = page.body.nextCursor ?? undefined;
      } while (cursor !== undefined && seen < settings.orphanHoldsMaxPerRun);
      if (released > 0 || refused > 0) {
        logger.info({ tick: event.data.tick, olderThan, released, refused }, 'orphan holds released');
      }
      // holds not released yet are listed again on the retry; released ones are not (or their key makes it a no-op)
      return pending ?? outcome.ack();
    },
  };
}
