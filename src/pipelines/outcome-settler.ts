// Writes a decided outcome for one delivery and says what was written: ack (+ dedupe mark), retry hint, the defer
// timer with its ack (one script), or the DLQ entry. A skip or a repeat is acked without a dedupe mark and reported
// as what it was; a runAt schedule that met its timer's tombstone is reported as `tombstoned`.
import type { Clock } from '../clock.js';
import type { DeferWriter } from '../scheduler/defer-writer.js';
import type { Delivery } from '../streams/delivery.js';
import { deadLetterFields } from '../streams/dlq-entry.js';
import type { OutcomeWriter } from '../streams/outcome-writer.js';
import type { Classified } from './classify-outcome.js';
import type { PlannedDefer } from './defer-plan.js';
import type { OutcomeEvent } from './runner-events.js';

export interface SettleRequest {
  readonly delivery: Delivery;
  readonly eventId: string | undefined;
  readonly classified: Classified;
  readonly settledAs?: 'skip' | 'duplicate' | undefined;
  /** The checked timer of a `defer` outcome. */
  readonly defer?: PlannedDefer | undefined;
}

export interface OutcomeSettlerDeps {
  readonly group: string;
  readonly consumer: string;
  readonly clock: Clock;
  readonly writer: OutcomeWriter;
  readonly deferWriter: Pick<DeferWriter, 'defer'>;
}

export type OutcomeSettler = (request: SettleRequest) => Promise<OutcomeEvent>;

export function createOutcomeSettler(deps: OutcomeSettlerDeps): OutcomeSettler {
  const { group, consumer, clock, writer } = deps;

  return async ({ delivery, eventId, classified, settledAs, defer }) => {
    const { outcome: final, failures } = classified;
    const base = {
      job: group,
      entryId: delivery.entryId,
      stream: delivery.partition.stream,
      eventId,
      source: delivery.source,
    };
    switch (final.kind) {
      case 'ack': {
        await writer.ack(delivery, settledAs === undefined ? eventId : undefined);
        return { ...base, kind: settledAs ?? 'ack', failures };
      }
      case 'retry': {
        const delay = classified.delayMs ?? 0;
        await writer.retry(delivery, delay, failures);
        return { ...base, kind: 'retry', reason: final.reason, failures, delayMs: delay };
      }
      case 'defer': {
        if (defer === undefined)
          throw new Error(`defer of entry ${delivery.entryId} without a checked timer`);
        // a timer re-emits the event to this group later; the delivery is acked in the same script
        const now = clock.now();
        const written = await deps.deferWriter.defer({
          partition: delivery.partition,
          group,
          consumer,
          entryId: delivery.entryId,
          timer: defer.timer,
          chain: defer.chain,
        });
        if (!written.acked) throw new Error(`entry ${delivery.entryId} was claimed by another consumer`);
        if (written.timer === 'tombstoned') return { ...base, kind: 'defer', reason: 'tombstoned', failures };
        const delayMs = Math.max(0, defer.timer.dueMs - now);
        return { ...base, kind: 'defer', reason: final.reason, failures, delayMs };
      }
      case 'dead': {
        const letter = {
          group,
          reason: final.reason,
          error: final.error ?? final.reason,
          failures,
          deliveries: delivery.deliveries,
          failedAt: clock.now(),
        };
        await writer.dead(delivery, deadLetterFields(delivery, letter));
        return { ...base, kind: 'dead', reason: final.reason, failures };
      }
    }
  };
}
