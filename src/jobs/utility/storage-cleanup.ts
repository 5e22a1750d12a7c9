// storage.cleanup (seed 000 §3.7): on each tick of `storage.cleanup.<service>`, asks that service which objects to
// delete, sends DELETE to each signed URL (external, through the SSRF guard, under a shared rate limit) and confirms
// the deleted ones; an object already gone (404/410) counts as deleted.
import { createHash } from 'node:crypto';
import type { ServiceName } from '../../config/index.js';
import { PermanentError, errorMessage } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { requireServices } from '../pack-settings.js';
import {
  cleanupCandidatesResponse,
  cleanupConfirmResponse,
  storageCleanupCandidates,
  storageCleanupConfirm,
} from './api.js';
import { storageCleanupSchedule } from './utility-settings.js';
import type { UtilitySettings } from './utility-settings.js';

export const STORAGE_CLEANUP_JOB = 'storage.cleanup';
/** Hourly. */
// not in the seeds: chosen here
export const STORAGE_CLEANUP_DEFAULT_SPEC = '0 * * * *';
export const DELETE_REFUSED_ALERT = 'storage.cleanup_delete_refused';
/** Most candidates one page asks for (api.ts). */
const PAGE_SIZE = 500;

/** The external fetcher reports a non-retryable status as `<origin> answered <status>`. */
function alreadyGone(error: unknown): boolean {
  return error instanceof PermanentError && / answered (404|410)$/.test(error.message);
}

export function storageCleanupJob(settings: UtilitySettings): PackJob {
  return {
    catalog: {
      name: STORAGE_CLEANUP_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: ['utility'],
      enableFlag: 'ENABLE_STORAGE_CLEANUP',
      // like every pack job: runs when its ENABLE_* flag is true or PROCESSORS names it (it needs SVC_*_URLs)
      enabledByDefault: false,
    },
    schedules: settings.cleanupServices.map((service) => ({
      name: storageCleanupSchedule(service),
      defaultSpec: STORAGE_CLEANUP_DEFAULT_SPEC,
      overlap: 'skip',
      missed: 'once',
    })),
    definition: (ctx) => storageCleanupDefinition(ctx, settings),
  };
}

export function storageCleanupDefinition(
  ctx: PackContext,
  settings: UtilitySettings,
): JobDefinition<CronTickData> {
  requireServices(ctx.config, STORAGE_CLEANUP_JOB, ...settings.cleanupServices);
  const sink = ctx.services();
  const logger = ctx.logger.child({ job: STORAGE_CLEANUP_JOB });
  const bySchedule = new Map(settings.cleanupServices.map((s) => [storageCleanupSchedule(s), s]));
  const limiter = ctx.rateLimiter(
    'storage.cleanup',
    settings.cleanupDeletesPerSecond,
    settings.cleanupDeletesPerSecond,
  );

  async function confirm(
    service: ServiceName,
    objectKeys: readonly string[],
    event: EventEnvelope<CronTickData>,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const digest = createHash('sha256').update(JSON.stringify(objectKeys)).digest('hex');
    const result = await sink.call(
      {
        service,
        path: storageCleanupConfirm.path,
        body: { objectKeys },
        idempotencyKey: idempotencyKey(storageCleanupConfirm.idempotencyKey.scope, digest),
        responseSchema: cleanupConfirmResponse,
      },
      { event, signal },
    );
    return result.outcome;
  }

  return {
    name: STORAGE_CLEANUP_JOB,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    concurrency: 2,
    handler: async (event: EventEnvelope<CronTickData>, job: JobContext): Promise<Outcome> => {
      const service = bySchedule.get(event.data.schedule);
      if (service === undefined) {
        // a tick of a service removed from STORAGE_CLEANUP_SERVICES since it was scheduled
        logger.warn({ schedule: event.data.schedule }, 'tick of an unknown storage cleanup service ignored');
        return outcome.ack();
      }
      let cursor: string | undefined;
      let seen = 0;
      let deleted = 0;
      let pending: Outcome | undefined;
      do {
        const query = new URLSearchParams({
          limit: String(Math.min(PAGE_SIZE, settings.cleanupMaxPerRun - seen)),
        });
        if (cursor !== undefined) query.set('cursor', cursor);
        const page = await sink.call(
          {
            service,
            method: 'GET',
            path: `${storageCleanupCandidates.path}?${query.toString()}`,
            responseSchema: cleanupCandidatesResponse,
          },
          { event, signal: job.signal },
        );
        if (page.outcome.kind !== 'ack' || page.body === undefined) return pending ?? page.outcome;
        const done: string[] = [];
        for (const item of page.body.items) {
          if (seen >= settings.cleanupMaxPerRun || job.signal.aborted) break;
          seen += 1;
          try {
            await limiter.take(1, job.signal);
            await ctx.external().fetchText(item.deleteUrl, { method: 'DELETE', signal: job.signal });
            done.push(item.objectKey);
          } catch (error) {
            if (alreadyGone(error)) done.push(item.objectKey);
            else if (error instanceof PermanentError) {
              ctx.signals.alertRaised(DELETE_REFUSED_ALERT);
              logger.error(
                { service, objectKey: item.objectKey, err: errorMessage(error) },
                'storage delete refused',
              );
            } else pending ??= outcomeFromError(error);
          }
        }
        if (done.length > 0) {
          // confirmed objects leave the candidate list; unconfirmed ones are deleted (404) and confirmed next time
          const confirmed = await confirm(service, done, event, job.signal);
          if (confirmed.kind !== 'ack') return confirmed;
          deleted += done.length;
        }
        cursor = page.body.nextCursor ?? undefined;
      } while (cursor !== undefined && seen < settings.cleanupMaxPerRun && !job.signal.aborted);
      if (deleted > 0) logger.info({ service, tick: event.data.tick, deleted }, 'storage cleaned up');
      if (job.signal.aborted) return outcome.retry('storage cleanup run aborted (timeout or shutdown)');
      return pending ?? outcome.ack();
    },
  };
}
