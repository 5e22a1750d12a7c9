// The last outcomes of each job run by this process (a ring per job), from the runners' `outcome` events, for the
// job page: what happened to the latest entries, with reasons, without reading Redis.
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { OutcomeEvent, RunnerEvents } from '../../pipelines/job-runner.js';
import type { EventSource } from '../metrics/event-source.js';

export interface RecentOutcome {
  /** ISO time the outcome was written. */
  readonly at: string;
  readonly kind: OutcomeEvent['kind'];
  readonly entryId: string;
  readonly stream: string;
  readonly eventId: string | undefined;
  readonly reason: string | undefined;
  readonly failures: number;
  readonly delayMs: number | undefined;
}

export interface RecentOutcomes {
  /** Records the runners' outcomes from now on; returns a function that stops. */
  watch(runners: readonly EventSource<RunnerEvents>[]): () => void;
  /** Newest first. */
  of(job: string): readonly RecentOutcome[];
}

export function createRecentOutcomes(options: { perJob?: number; clock?: Clock } = {}): RecentOutcomes {
  const perJob = options.perJob ?? 50;
  const clock = options.clock ?? systemClock;
  const rings = new Map<string, RecentOutcome[]>();
  const onOutcome = (event: OutcomeEvent): void => {
    let ring = rings.get(event.job);
    if (ring === undefined) rings.set(event.job, (ring = []));
    ring.unshift({
      at: new Date(clock.now()).toISOString(),
      kind: event.kind,
      entryId: event.entryId,
      stream: event.stream,
      eventId: event.eventId,
      reason: event.reason,
      failures: event.failures,
      delayMs: event.delayMs,
    });
    if (ring.length > perJob) ring.length = perJob;
  };
  return {
    watch(runners) {
      for (const runner of runners) runner.on('outcome', onOutcome);
      return () => {
        for (const runner of runners) runner.off('outcome', onOutcome);
      };
    },
    of(job) {
      return rings.get(job) ?? [];
    },
  };
}
