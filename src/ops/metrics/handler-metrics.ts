// Handler latency and timer lateness, measured around a job's handler: the definition is wrapped before its runner
// is created. Lateness = handler start minus the Redis time its re-emitted entry entered the stream (the mover adds
// a due timer at or after its due time, normally within its poll interval), for first attempts of fired timers.
import { Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { JobDefinition, JobHandler } from '../../pipelines/job-definition.js';
import { isOutcome } from '../../streams/outcome.js';
import {
  CALL_SECONDS_BUCKETS,
  DELAY_SECONDS_BUCKETS,
  METRICS_PREFIX,
  entryTimeMs,
} from './metrics-registry.js';

export interface HandlerMetrics {
  /** The same job with its handler timed; everything else is left as it is. */
  instrument<TData>(job: JobDefinition<TData>): JobDefinition<TData>;
}

export function createHandlerMetrics(registry: Registry, clock: Clock = systemClock): HandlerMetrics {
  const duration = new Histogram({
    name: `${METRICS_PREFIX}job_handler_duration_seconds`,
    help:
      'Handler calls per job by what the handler returned (ack, retry, defer, dead) or `error` when it threw ' +
      '(classified as retry or dead afterwards).',
    labelNames: ['job', 'result'],
    buckets: [...CALL_SECONDS_BUCKETS],
    registers: [registry],
  });
  const lateness = new Histogram({
    name: `${METRICS_PREFIX}timer_lateness_seconds`,
    help:
      "From a fired timer's re-emitted entry entering the stream (at or after its due time) to its handler " +
      'starting, first attempts only: defers, repeats, runAt schedules and cron ticks aimed at the job.',
    labelNames: ['job'],
    buckets: [...DELAY_SECONDS_BUCKETS],
    registers: [registry],
  });

  return {
    instrument<TData>(job: JobDefinition<TData>): JobDefinition<TData> {
      const inner = job.handler;
      const name = job.name;
      const handler: JobHandler<TData> = async (event, ctx) => {
        const started = clock.now();
        if (event.targetGroup === name && ctx.failures === 0) {
          const enteredAt = entryTimeMs(ctx.entryId);
          if (Number.isFinite(enteredAt))
            lateness.observe({ job: name }, Math.max(0, started - enteredAt) / 1000);
        }
        try {
          const returned = await inner(event, ctx);
          duration.observe(
            { job: name, result: isOutcome(returned) ? returned.kind : 'invalid' },
            (clock.now() - started) / 1000,
          );
          return returned;
        } catch (error) {
          duration.observe({ job: name, result: 'error' }, (clock.now() - started) / 1000);
          throw error;
        }
      };
      return { ...job, handler };
    },
  };
}
