// Hooks a started worker up to its metrics (every runner, the timer mover, retention) and logs the one state change
// the worker does not log itself: each dead letter written. Returns a function that unhooks everything.
import type { Logger } from 'pino';
import type { OutcomeEvent } from '../../pipelines/job-runner.js';
import type { ObservedRetention } from './retention-metrics.js';
import type { ObservedTimerMover } from './timer-metrics.js';
import type { WatchedRunner, WorkerMetrics } from './worker-metrics.js';

/** What instrumentWorker reads from a Worker (startWorker's result has all of it). */
export interface InstrumentedWorker {
  readonly runners: readonly WatchedRunner[];
  readonly timers: ObservedTimerMover;
  readonly retention: ObservedRetention;
}

export interface InstrumentWorkerOptions {
  /** When given, one warn line per entry written to a DLQ. */
  readonly logger?: Pick<Logger, 'warn'>;
}

export function instrumentWorker(
  worker: InstrumentedWorker,
  metrics: WorkerMetrics,
  options: InstrumentWorkerOptions = {},
): () => void {
  const stops = worker.runners.map((runner) => metrics.watchRunner(runner));
  stops.push(metrics.watchTimerMover(worker.timers), metrics.watchRetention(worker.retention));
  const logger = options.logger;
  if (logger) {
    const onOutcome = (event: OutcomeEvent): void => {
      if (event.kind !== 'dead') return;
      logger.warn(
        {
          job: event.job,
          stream: event.stream,
          entryId: event.entryId,
          eventId: event.eventId,
          reason: event.reason,
          failures: event.failures,
        },
        `job ${event.job}: entry ${event.entryId} dead-lettered (${event.reason ?? 'no reason'})`,
      );
    };
    for (const runner of worker.runners) {
      runner.on('outcome', onOutcome);
      stops.push(() => runner.off('outcome', onOutcome));
    }
  }
  return () => stops.forEach((stop) => stop());
}
