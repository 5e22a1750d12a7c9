// Timer-wheel metrics from the mover's events: timers moved into their streams per domain, timers dead-lettered
// because their payload was unreadable, and mover errors. (Lateness is measured at the handler: handler-metrics.)
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { TimerMoverEvents } from '../../scheduler/timer-mover.js';
import type { EventSource } from './event-source.js';
import { METRICS_PREFIX } from './metrics-registry.js';

export type ObservedTimerMover = EventSource<TimerMoverEvents>;

export interface TimerMetrics {
  /** Counts the mover's events from now on; returns a function that stops counting. */
  watch(mover: ObservedTimerMover): () => void;
}

export function createTimerMetrics(registry: Registry): TimerMetrics {
  const moved = new Counter({
    name: `${METRICS_PREFIX}timers_moved_total`,
    help: 'Due timers (defers, repeats, runAt schedules, cron ticks) this process moved into their streams.',
    labelNames: ['domain'],
    registers: [registry],
  });
  const deadLettered = new Counter({
    name: `${METRICS_PREFIX}timers_dead_lettered_total`,
    help: 'Due timers sent to the DLQ because their payload was missing or unreadable.',
    labelNames: ['domain'],
    registers: [registry],
  });
  const errors = new Counter({
    name: `${METRICS_PREFIX}timer_mover_errors_total`,
    help: 'Failed mover passes (the mover retries after its poll interval).',
    registers: [registry],
  });
  return {
    watch(mover) {
      const onMoved = ({ partition, count }: TimerMoverEvents['moved'][0]): void =>
        moved.inc({ domain: partition.domain }, count);
      const onDeadLettered = ({ partition, count }: TimerMoverEvents['deadLettered'][0]): void =>
        deadLettered.inc({ domain: partition.domain }, count);
      const onError = (): void => errors.inc();
      mover.on('moved', onMoved);
      mover.on('deadLettered', onDeadLettered);
      mover.on('error', onError);
      return () => {
        mover.off('moved', onMoved);
        mover.off('deadLettered', onDeadLettered);
        mover.off('error', onError);
      };
    },
  };
}
