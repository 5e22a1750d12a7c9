// The shape every seed 002 cron worker shares: a `cron.tick` job on the exchange service whose run either finishes
// (ack, per-item failures logged inside) or fails as a whole: retried a little, then left to the next tick.
import type { Logger } from 'pino';
import { errorMessage } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import type { CronScheduleDeclaration, MissedPolicy } from '../../scheduler/cron-schedules.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import type { CallScope } from '../../sinks/http-sink.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { pollFailure } from '../provider-health.js';
import { createExchangeClient } from './exchange-client.js';
import type { ExchangeClient } from './exchange-client.js';

/** What a run gets: the tick, the attempt, the exchange and a scope for its calls. */
export interface TickRun {
  readonly event: EventEnvelope<CronTickData>;
  readonly job: JobContext;
  readonly scope: CallScope;
  readonly exchange: ExchangeClient;
  readonly logger: Logger;
}

export interface ExchangeTickJobOptions {
  readonly name: string;
  /** Runs in parallel (different schedules of one job, or a due retry beside the blocking read). Default 2. */
  readonly concurrency?: number;
  /** Returns nothing for an ack, or an outcome of its own (e.g. defer). */
  readonly run: (run: TickRun) => Promise<Outcome | undefined>;
}

/** A schedule of the pack: seed 002's "skip if previous run still running" on every one of them. */
export function exchangeSchedule(
  name: string,
  defaultSpec: string,
  missed: MissedPolicy,
  variable?: string,
): CronScheduleDeclaration {
  return { name, defaultSpec, overlap: 'skip', missed, ...(variable === undefined ? {} : { variable }) };
}

export function exchangeTickJob(
  context: PackContext,
  options: ExchangeTickJobOptions,
): JobDefinition<CronTickData> {
  const exchange = createExchangeClient(serviceSinkFor(context, options.name, 'exchange'));
  const logger = context.logger.child({ job: options.name });
  return {
    name: options.name,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    concurrency: options.concurrency ?? 2,
    handler: async (event, job) => {
      const scope: CallScope = { event, signal: job.signal };
      try {
        return (await options.run({ event, job, scope, exchange, logger })) ?? outcome.ack();
      } catch (error) {
        // a whole run failed (the exchange is down, a contract broke): a few attempts, then the next tick
        return pollFailure(outcomeFromError(error), job.attempt, (reason) =>
          logger.error(
            { schedule: event.data.schedule, tick: event.data.tick, attempts: job.attempt, reason },
            `${options.name}: run failed, giving the tick up (the next tick runs again): ${errorMessage(error)}`,
          ),
        );
      }
    },
  };
}
