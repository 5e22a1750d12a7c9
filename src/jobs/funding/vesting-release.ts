// vesting.release: releases each vesting epoch through Funding at its nextReleaseAt (seed 000 §3.3); Funding computes
// what is releasable (partial releases), and the epoch its answer names next is published as the next fact.
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, type Outcome } from '../../streams/outcome.js';
import { dueEventId } from '../due-sweeper.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { vestingRelease, vestingReleaseResponse } from './api.js';
import type { FundingEventMap } from './events.js';

export const VESTING_RELEASE = 'vesting.release';

type VestingScheduled = FundingEventMap['vesting.scheduled'];

/** What identifies one scheduled epoch: the timer's id (vestingId, epoch) and version (nextReleaseAt). */
export function vestingIdentity(vesting: VestingScheduled): readonly string[] {
  return [vesting.vestingId, String(vesting.epoch), String(Date.parse(vesting.nextReleaseAt))];
}

/** The id of a `vesting.scheduled` fact, the same whether vesting.release or the sweeper publishes it. */
export function vestingScheduledEventId(vesting: VestingScheduled): string {
  return dueEventId('vesting.scheduled', Date.parse(vesting.nextReleaseAt), vestingIdentity(vesting));
}

/**
 * The next epoch is published as a `vesting.scheduled` fact (not put on the wheel directly): it goes through the
 * same timer (per vestingId and epoch, tombstoned once fired) as Funding's own facts, other consumers see it, and its
 * derived id makes a retried handler, or a sweeper finding the same epoch, publish it once.
 */
export function vestingReleaseJob(context: PackContext): JobDefinition<VestingScheduled> {
  const sink = serviceSinkFor(context, VESTING_RELEASE, 'funding');

  async function release(event: EventEnvelope<VestingScheduled>, signal: AbortSignal): Promise<Outcome> {
    const vesting = event.data;
    const result = await sink.call(
      {
        service: 'funding',
        path: vestingRelease.path,
        body: { vestingId: vesting.vestingId, epoch: vesting.epoch, releaseAt: vesting.nextReleaseAt },
        idempotencyKey: idempotencyKey(vestingRelease.idempotencyKey.scope, vesting.vestingId, vesting.epoch),
        responseSchema: vestingReleaseResponse,
      },
      { event, signal },
    );
    // 204 nothing to release, 409 ALREADY_DONE (no body to read `next` from): done; later epochs are the sweeper's
    if (result.outcome.kind !== 'ack' || result.status !== 200 || result.body === undefined)
      return result.outcome;
    const { next } = result.body;
    if (next === null) return outcome.ack();
    if (next.epoch <= vesting.epoch) {
      return outcome.dead(
        'invalid response',
        `funding named epoch ${next.epoch} after epoch ${vesting.epoch} of ${vesting.vestingId} (expected a later one)`,
      );
    }
    const following: VestingScheduled = {
      vestingId: vesting.vestingId,
      epoch: next.epoch,
      nextReleaseAt: next.releaseAt,
      amount: next.amount,
      asset: vesting.asset,
    };
    // a failed publish throws: the attempt is retried, Funding replays the release for the same key
    await context.publisher.publish({
      id: vestingScheduledEventId(following),
      type: 'vesting.scheduled',
      key: following.vestingId,
      occurredAt: new Date(context.clock.now()).toISOString(),
      source: context.config.service.id,
      schemaVersion: 1,
      data: following,
      ...(event.traceparent === undefined ? {} : { traceparent: event.traceparent }),
    });
    return outcome.ack();
  }

  return {
    name: VESTING_RELEASE,
    domain: 'funding',
    types: ['vesting.scheduled'],
    runAt: {
      at: (event) => Date.parse(event.data.nextReleaseAt),
      // one timer per epoch: releasing epoch n tombstones its timer, never the next epoch's
      timerId: (event) => `${event.data.vestingId}:${event.data.epoch}`,
      // a later nextReleaseAt for the same epoch moves its timer
      version: (event) => Date.parse(event.data.nextReleaseAt),
    },
    handler: (event, ctx) => release(event, ctx.signal),
  };
}
