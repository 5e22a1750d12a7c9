// payhub.ledger.recalc (seed 001 §2, optional): on each tick asks Payhub to verify its ledger invariants as of the
// tick; violations are alerted (a `ledger.violations_found` event, a metric per violation, an error log), not retried.
import { createHash } from 'node:crypto';
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
import { ledgerRecalcResponse, payhubRecalcLedger } from './api.js';
import { LEDGER_ALERT_MAX_ACCOUNTS } from './events.js';
import type { PayhubEventMap } from './events.js';

export const LEDGER_RECALC_JOB = 'payhub.ledger.recalc';
/** Hourly; the job is optional (seed 001 §2) and off unless ENABLE_RECON_LEDGER_RECALC=true. */
// not in the seeds: chosen here
export const LEDGER_RECALC_DEFAULT_SPEC = '0 * * * *';
export const LEDGER_VIOLATION_ALERT = 'payhub.ledger_violation';
export const LEDGER_ALERT_TYPE = 'ledger.violations_found';
/** Violations written into one log line; the event and the metric count them all. */
const LOGGED_VIOLATIONS = 20;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID whose time is `ms` and whose rest hashes `seed`: a retried run publishes the same event id (deduped). */
export function deterministicEventId(seed: string, ms: number): string {
  let time = '';
  for (let rest = ms, i = 0; i < 10; i += 1, rest = Math.floor(rest / 32))
    time = CROCKFORD.charAt(rest % 32) + time;
  const digest = createHash('sha256').update(seed).digest();
  let random = '';
  for (let i = 0; i < 16; i += 1) random += CROCKFORD.charAt((digest[i] ?? 0) % 32);
  return time + random;
}

export function ledgerRecalcJob(): PackJob {
  return {
    catalog: {
      name: LEDGER_RECALC_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: ['payhub', 'recon'],
      enableFlag: 'ENABLE_RECON_LEDGER_RECALC',
      // seed 001 §2: "(optional)"
      enabledByDefault: false,
    },
    schedules: [
      { name: LEDGER_RECALC_JOB, defaultSpec: LEDGER_RECALC_DEFAULT_SPEC, overlap: 'skip', missed: 'once' },
    ],
    definition: (ctx) => ledgerRecalcDefinition(ctx),
  };
}

export function ledgerRecalcDefinition(ctx: PackContext): JobDefinition<CronTickData> {
  requireServices(ctx.config, LEDGER_RECALC_JOB, 'payhub');
  const sink = ctx.services();
  const logger = ctx.logger.child({ job: LEDGER_RECALC_JOB });

  return {
    name: LEDGER_RECALC_JOB,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    // above 1 so a due retry is not held up behind the blocking read (the overlap lock keeps runs apart anyway)
    concurrency: 2,
    handler: async (event: EventEnvelope<CronTickData>, job: JobContext): Promise<Outcome> => {
      const asOf = event.data.tick;
      const result = await sink.call(
        {
          service: 'payhub',
          path: payhubRecalcLedger.path,
          body: { asOf },
          idempotencyKey: idempotencyKey(payhubRecalcLedger.idempotencyKey.scope, new Date(asOf)),
          responseSchema: ledgerRecalcResponse,
        },
        { event, signal: job.signal },
      );
      if (result.outcome.kind !== 'ack') return result.outcome;
      // a 409 ALREADY_DONE without the replayed answer: the run was checked before, nothing left to report
      const report = ledgerRecalcResponse.safeParse(result.body);
      if (!report.success || report.data.violations.length === 0) return outcome.ack();
      const { violations, checkedAccounts } = report.data;
      logger.error(
        {
          asOf,
          checkedAccounts,
          violations: violations.length,
          first: violations.slice(0, LOGGED_VIOLATIONS),
        },
        `LEDGER INVARIANTS VIOLATED: ${violations.length} account(s) as of ${asOf}`,
      );
      const alert: EventEnvelope<PayhubEventMap[typeof LEDGER_ALERT_TYPE]> = {
        id: deterministicEventId(`${LEDGER_ALERT_TYPE}\n${asOf}`, Date.parse(asOf)),
        type: LEDGER_ALERT_TYPE,
        key: asOf,
        occurredAt: new Date(ctx.clock.now()).toISOString(),
        source: ctx.config.service.id,
        schemaVersion: 1,
        data: {
          asOf,
          checkedAccounts,
          violations: violations.length,
          accounts: violations
            .slice(0, LEDGER_ALERT_MAX_ACCOUNTS)
            .map(({ account, asset }) => ({ account: account.slice(0, 256), asset })),
        },
        ...(event.traceparent === undefined ? {} : { traceparent: event.traceparent }),
      };
      // published before the metric: a failed publish retries the run, and Payhub replays its answer by key
      await ctx.publisher.publish(alert);
      for (let i = 0; i < violations.length; i += 1) ctx.signals.alertRaised(LEDGER_VIOLATION_ALERT);
      return outcome.ack();
    },
  };
}
