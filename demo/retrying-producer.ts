// The producer side of the mock platform in the demo: publishes every fact a service emits and, for a share of them,
// publishes it again the way a producer retries after a timed-out XADD; the publisher's dedupe by event id refuses
// the repeat, which the demo counts as a duplicate prevented.
import type { EventEnvelope } from '../src/events/envelope.js';
import type { Publisher } from '../src/events/publisher.js';
import type { EventSink } from './mock-platform/event-producer.js';
import type { Random } from './mock-platform/seeded-random.js';

export interface PublishTally {
  /** Events written (first publishes), by type. */
  readonly byType: Map<string, number>;
  /** Repeats the publisher refused (the same event id within its dedupe window). */
  duplicatesRefused: number;
}

export function createPublishTally(): PublishTally {
  return { byType: new Map(), duplicatesRefused: 0 };
}

/** Counts one publish result in the tally. */
export function countPublish(tally: PublishTally, type: string, duplicate: boolean): void {
  if (duplicate) tally.duplicatesRefused += 1;
  else tally.byType.set(type, (tally.byType.get(type) ?? 0) + 1);
}

export function retryingProducer(deps: {
  readonly publisher: Publisher;
  readonly tally: PublishTally;
  /** Share (0-1) of events published a second time. */
  readonly repeatShare: number;
  readonly random: Random;
}): EventSink & { publish(event: EventEnvelope): Promise<void> } {
  return {
    async publish(event) {
      const first = await deps.publisher.publish(event);
      countPublish(deps.tally, event.type, first.duplicate);
      if (deps.random() >= deps.repeatShare) return;
      const repeat = await deps.publisher.publish(event);
      countPublish(deps.tally, event.type, repeat.duplicate);
    },
  };
}
