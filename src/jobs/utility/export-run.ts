// export.run (seed 000 §3.7): drives an Admin export through the service that owns the data, page by page; after
// each page the service's cursor is checkpointed in Redis, so a retried, redelivered or restarted export resumes at
// its page (and a repeated page carries the same Idempotency-Key, so the service writes it once).
import { z } from 'zod';
import { SERVICE_URL_VARIABLES } from '../../config/index.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { exportRunning, exportStep, serviceExport } from './api.js';
import { UTILITY_DOMAIN } from './events.js';
import type { UtilityEventMap } from './events.js';
import type { UtilitySettings } from './utility-settings.js';

export const EXPORT_RUN_JOB = 'export.run';
const CHECKPOINT_NAMESPACE = 'export.checkpoint';
type ExportRequested = UtilityEventMap['export.requested'];

/** Where an export got to: the next page to ask for and the cursor the service gave for it. */
export const exportCheckpointSchema = z.object({
  page: z.number().int().min(0),
  cursor: z.string().min(1).optional(),
  rows: z.number().int().min(0),
});
export type ExportCheckpoint = z.infer<typeof exportCheckpointSchema>;

export function exportRunJob(settings: UtilitySettings): PackJob {
  return {
    catalog: {
      name: EXPORT_RUN_JOB,
      domain: UTILITY_DOMAIN,
      enableFlag: 'ENABLE_EXPORTS',
      // like every pack job: runs when its ENABLE_* flag is true or PROCESSORS names it (it needs SVC_*_URLs)
      enabledByDefault: false,
    },
    definition: (ctx) => exportRunDefinition(ctx, settings),
  };
}

export function exportRunDefinition(
  ctx: PackContext,
  settings: UtilitySettings,
): JobDefinition<ExportRequested> {
  const sink = ctx.services();
  const logger = ctx.logger.child({ job: EXPORT_RUN_JOB });
  // the checkpoint outlives the export's deadline, so every run of it finds where the last one stopped
  const checkpointTtlMs = settings.exportDeadlineMs + 86_400_000;

  async function readCheckpoint(exportId: string): Promise<ExportCheckpoint> {
    const parsed = exportCheckpointSchema.safeParse(await ctx.cache.get(CHECKPOINT_NAMESPACE, exportId));
    return parsed.success ? parsed.data : { page: 0, rows: 0 };
  }

  return {
    name: EXPORT_RUN_JOB,
    domain: UTILITY_DOMAIN,
    types: ['export.requested'],
    concurrency: 4,
    // past the deadline the export goes to the DLQ (the default timeout action)
    defer: { deadline: (event) => Date.parse(event.occurredAt) + settings.exportDeadlineMs },
    handler: async (event: EventEnvelope<ExportRequested>, job: JobContext): Promise<Outcome> => {
      const { exportId, service, dataset, format, filters } = event.data;
      if (ctx.config.services[service] === undefined) {
        return outcome.dead(
          'service not configured',
          `${SERVICE_URL_VARIABLES[service]} is not set in this worker`,
        );
      }
      let checkpoint = await readCheckpoint(exportId);
      const yieldAt = ctx.clock.now() + settings.exportRunBudgetMs;
      for (;;) {
        const result = await sink.call(
          {
            service,
            path: serviceExport.path,
            body: {
              exportId,
              dataset,
              format,
              ...(filters === undefined ? {} : { filters }),
              page: checkpoint.page,
              ...(checkpoint.cursor === undefined ? {} : { cursor: checkpoint.cursor }),
            },
            idempotencyKey: idempotencyKey(serviceExport.idempotencyKey.scope, exportId, checkpoint.page),
            responseSchema: exportStep,
            policy: { deferDefaultMs: settings.exportRecheckMs },
          },
          { event, signal: job.signal },
        );
        if (result.outcome.kind === 'defer') {
          const busy = exportRunning.safeParse(result.raw);
          const retryAt =
            busy.success && busy.data.retryAt !== undefined ? Date.parse(busy.data.retryAt) : undefined;
          return retryAt === undefined
            ? result.outcome
            : outcome.defer(Math.max(ctx.clock.now(), retryAt), `export ${exportId} busy`);
        }
        if (result.outcome.kind !== 'ack') return result.outcome;
        const step = exportStep.safeParse(result.body);
        if (!step.success) {
          // a 409 ALREADY_DONE without the replayed step: the next cursor is unknown
          return outcome.dead(
            'no export step',
            `${service} acknowledged page ${checkpoint.page} of ${exportId} without its answer`,
          );
        }
        if (step.data.state === 'completed') {
          logger.info(
            { exportId, service, dataset, rows: step.data.rows, pages: checkpoint.page + 1 },
            'export completed',
          );
          return outcome.ack();
        }
        checkpoint = { page: checkpoint.page + 1, cursor: step.data.cursor, rows: step.data.rows };
        await ctx.cache.put(CHECKPOINT_NAMESPACE, exportId, checkpoint, checkpointTtlMs);
        if (ctx.clock.now() >= yieldAt) {
          // free the handler slot; the re-emission resumes from the checkpoint
          return outcome.defer(ctx.clock.now(), `export ${exportId} continues at page ${checkpoint.page}`);
        }
      }
    },
  };
}
