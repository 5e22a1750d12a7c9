// campaigns.budget.reconcile (seed 000 §3.5): a periodic reconcile of each campaign's spent budget against its granted
// totals, run by Campaigns as of the tick; mismatches are alerted (a metric each, an error log), not retried.
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
import { budgetReconcileResponse, campaignsReconcileBudgets } from './api.js';

export const BUDGET_RECONCILE_JOB = 'campaigns.budget.reconcile';
/** Every 15 minutes. */
// not in the seeds: chosen here (000 §3.5 says "periodic")
export const BUDGET_RECONCILE_DEFAULT_SPEC = '*/15 * * * *';
export const BUDGET_MISMATCH_ALERT = 'campaigns.budget_mismatch';

export function budgetReconcileJob(): PackJob {
  return {
    catalog: {
      name: BUDGET_RECONCILE_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: ['campaigns'],
      enableFlag: 'ENABLE_CAMPAIGNS',
      // like every pack job: runs when its ENABLE_* flag is true or PROCESSORS names it (it needs SVC_*_URLs)
      enabledByDefault: false,
    },
    schedules: [
      {
        name: BUDGET_RECONCILE_JOB,
        defaultSpec: BUDGET_RECONCILE_DEFAULT_SPEC,
        overlap: 'skip',
        missed: 'once',
      },
    ],
    definition: (ctx) => budgetReconcileDefinition(ctx),
  };
}

export function budgetReconcileDefinition(ctx: PackContext): JobDefinition<CronTickData> {
  requireServices(ctx.config, BUDGET_RECONCILE_JOB, 'campaigns');
  const sink = ctx.services();
  const logger = ctx.logger.child({ job: BUDGET_RECONCILE_JOB });

  return {
    name: BUDGET_RECONCILE_JOB,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    // above 1 so a due retry is not held up behind the blocking read (the overlap lock keeps runs apart anyway)
    concurrency: 2,
    handler: async (event: EventEnvelope<CronTickData>, job: JobContext): Promise<Outcome> => {
      const asOf = event.data.tick;
      const result = await sink.call(
        {
          service: 'campaigns',
          path: campaignsReconcileBudgets.path,
          body: { asOf },
          idempotencyKey: idempotencyKey(campaignsReconcileBudgets.idempotencyKey.scope, new Date(asOf)),
          responseSchema: budgetReconcileResponse,
        },
        { event, signal: job.signal },
      );
      if (result.outcome.kind !== 'ack') return result.outcome;
      const report = budgetReconcileResponse.safeParse(result.body);
      if (!report.success || report.data.mismatches.length === 0) return outcome.ack();
      const { mismatches, checked } = report.data;
      logger.error(
        { asOf, checked, mismatches: mismatches.slice(0, 20), count: mismatches.length },
        `campaign budgets differ from granted totals: ${mismatches.length} campaign(s) as of ${asOf}`,
      );
      for (let i = 0; i < mismatches.length; i += 1) ctx.signals.alertRaised(BUDGET_MISMATCH_ALERT);
      return outcome.ack();
    },
  };
}
