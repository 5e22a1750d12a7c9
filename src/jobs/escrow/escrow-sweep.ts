// escrow.sweep: each tick asks Escrow for open escrows past expiresAt and republishes their `escrow.created`
// (deterministic ids); when too many of them are overdue it raises the expiry backlog alert (seed 000 §3.4).
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { derivedEventId, dueSweeperJob } from '../due-sweeper.js';
import type { DueSweep, SweepOptions, SweepResult } from '../due-sweeper.js';
import type { PackContext } from '../pack-context.js';
import { escrowDue, escrowDueResponse } from './api.js';
import type { EscrowEventMap } from './events.js';

export const ESCROW_SWEEP = 'escrow.sweep';
export const ESCROW_EXPIRY_BACKLOG = 'escrow.expiry_backlog';

type EscrowCreated = EscrowEventMap['escrow.created'];

/**
 * "Expiries pile up" = at least `threshold` open escrows whose expiresAt is more than `graceMs` before the sweeper's
 * tick: Escrow still reports them open although their timers should have fired and been handled by then.
 */
// not in the seeds: chosen here
export interface ExpiryBacklogOptions {
  readonly threshold: number;
  readonly graceMs: number;
}

export function escrowSweep(options: SweepOptions): DueSweep<EscrowCreated> {
  return {
    name: ESCROW_SWEEP,
    service: 'escrow',
    path: escrowDue.path,
    responseSchema: escrowDueResponse,
    eventType: 'escrow.created',
    keyOf: (escrow) => escrow.escrowId,
    dueMsOf: (escrow) => Date.parse(escrow.expiresAt),
    // escrow.expire's timer id and version: the same escrow and expiresAt is the same fact
    identityOf: (escrow) => [escrow.escrowId, String(Date.parse(escrow.expiresAt))],
    ...options,
  };
}

/** The alert for one tick's scan, or undefined when the overdue escrows stay under the threshold. */
export function expiryBacklog(
  result: SweepResult<EscrowCreated>,
  tick: string,
  options: ExpiryBacklogOptions,
): EscrowEventMap['escrow.expiry_backlog'] | undefined {
  const cutoff = Date.parse(tick) - options.graceMs;
  const overdue = result.items.map((escrow) => Date.parse(escrow.expiresAt)).filter((at) => at <= cutoff);
  if (overdue.length < options.threshold) return undefined;
  return {
    observedAt: tick,
    overdue: overdue.length,
    threshold: options.threshold,
    graceMs: options.graceMs,
    oldestExpiresAt: new Date(overdue.reduce((a, b) => Math.min(a, b))).toISOString(),
    truncated: result.truncated,
  };
}

export function escrowSweepJob(
  context: PackContext,
  options: { readonly sweep: SweepOptions; readonly backlog: ExpiryBacklogOptions },
): JobDefinition<CronTickData> {
  async function alertOnBacklog(
    result: SweepResult<EscrowCreated>,
    tick: EventEnvelope<CronTickData>,
  ): Promise<void> {
    const backlog = expiryBacklog(result, tick.data.tick, options.backlog);
    if (backlog === undefined) return;
    // one alert per tick: a retried tick republishes the same id, which the publisher dedupes
    const published = await context.publisher.publish({
      id: derivedEventId(Date.parse(tick.data.tick), ESCROW_EXPIRY_BACKLOG, tick.data.tick),
      type: ESCROW_EXPIRY_BACKLOG,
      key: backlog.observedAt,
      occurredAt: tick.data.tick,
      source: context.config.service.id,
      schemaVersion: 1,
      data: backlog,
    });
    if (published.duplicate) return;
    context.signals.alertRaised(ESCROW_EXPIRY_BACKLOG);
    context.logger.warn(
      { alert: ESCROW_EXPIRY_BACKLOG, ...backlog },
      `escrow expiries pile up: ${backlog.overdue} open escrows expired more than ${backlog.graceMs} ms ago`,
    );
  }
  return dueSweeperJob(context, escrowSweep(options.sweep), alertOnBacklog);
}
