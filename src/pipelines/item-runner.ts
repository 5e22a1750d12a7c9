// One prepared item from attempt to written outcome, as a plain async function (no Observable per item): the
// attempt (or the verdict decided before any handler), its classification, a defer's timer checked, then the outcome
// written and reported. The held entry and its credit are always given back. Items of one key run one at a time in
// arrival order, keys in parallel (the consumer's credits bound how many are in flight).
import type { EventEnvelope } from '../events/envelope.js';
import { readEntryHeader } from '../events/wire.js';
import type { Credits } from '../streams/credits.js';
import { classifyAttempt, type RetryPolicy } from './classify-outcome.js';
import type { DeferDecision } from './defer-plan.js';
import type { HeldEntries } from './held-entries.js';
import type { JobAttempt } from './job-attempt.js';
import { needsHandler, type Prepared } from './prepared.js';
import type { OutcomeSettler } from './outcome-settler.js';
import type { OutcomeEvent } from './runner-events.js';

export interface ItemRunnerDeps {
  /** The job's key for keyed concurrency; default: the event's partition key. */
  readonly keyOf?: ((event: EventEnvelope<never>) => string) | undefined;
  readonly attempt: JobAttempt;
  readonly retryPolicy: RetryPolicy;
  readonly planDefer: (event: EventEnvelope, classified: DeferDecision['classified']) => DeferDecision;
  readonly settle: OutcomeSettler;
  readonly held: HeldEntries;
  readonly credits: Credits;
  /** Aborted once the grace period is over: nothing more starts, and only acks are still written. */
  readonly stopped: AbortSignal;
  emitOutcome(event: OutcomeEvent): void;
  readonly report: (where: string) => (error: unknown) => void;
}

export interface ItemRunner {
  /** Starts (or queues behind their key) the items of a prepared batch. */
  dispatch(items: readonly Prepared[]): void;
}

export function createItemRunner(deps: ItemRunnerDeps): ItemRunner {
  const { attempt, retryPolicy, held, credits, stopped } = deps;
  // a key is present while one of its items runs; the array holds the items waiting behind it
  const queues = new Map<string, Prepared[] | undefined>();

  async function process(item: Prepared): Promise<void> {
    const { delivery } = item;
    let forgotten = false;
    try {
      // after the grace period the entry was released to other consumers: do not start it here
      if (stopped.aborted) return;
      let decision: DeferDecision;
      let eventId: string | undefined;
      let settledAs: 'skip' | 'duplicate' | undefined;
      if (needsHandler(item)) {
        const result = await attempt.run(item);
        if (result === undefined) return;
        decision = deps.planDefer(item.event, classifyAttempt(result, delivery.failures, retryPolicy));
        eventId = item.event.id;
      } else {
        decision = { classified: classifyAttempt({ decided: item.verdict }, delivery.failures, retryPolicy) };
        eventId = readEntryHeader(delivery.fields).id;
        settledAs = item.settledAs;
      }
      // an attempt cut short by shutdown is not a failure: its release hint (due now) stands
      if (stopped.aborted && decision.classified.outcome.kind !== 'ack') return;
      // forget before writing: a zero-delay retry may be claimed (and held) again before this write resolves
      held.forget(delivery);
      forgotten = true;
      const { classified, defer } = decision;
      deps.emitOutcome(await deps.settle({ delivery, eventId, classified, settledAs, defer }));
    } catch (error) {
      // the outcome was not written: the entry stays pending and is reclaimed after the claim floor
      deps.report('outcome')(error);
    } finally {
      if (!forgotten) held.forget(delivery);
      credits.release(1);
    }
  }

  async function drain(key: string, first: Prepared): Promise<void> {
    let item: Prepared | undefined = first;
    while (item !== undefined) {
      await process(item);
      item = queues.get(key)?.shift();
      if (item === undefined) queues.delete(key);
    }
  }

  function keyOf(item: Prepared & { event: EventEnvelope }): string {
    if (!deps.keyOf) return item.event.key;
    try {
      return deps.keyOf(item.event as EventEnvelope<never>);
    } catch (error) {
      deps.report('key-of')(error);
      return item.event.key;
    }
  }

  return {
    dispatch(items) {
      for (const item of items) {
        // a verdict decided without the handler (skip, repeat, poison) waits for no key
        if (!needsHandler(item)) {
          void process(item);
          continue;
        }
        const key = keyOf(item);
        if (!queues.has(key)) {
          queues.set(key, undefined);
          void drain(key, item);
          continue;
        }
        const waiting = queues.get(key);
        if (waiting) waiting.push(item);
        else queues.set(key, [item]);
      }
    },
  };
}
