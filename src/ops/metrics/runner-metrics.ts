// Job metrics from the runner's events: outcomes per job, the retry backoff (seed 001) and defer delays chosen,
// end-to-end latency of finished entries, entries in flight, data-loss alarms, lost ownership, loop errors and
// entries released at shutdown. Labels are job names and bounded words, never event or entry ids.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { JobRunner, OutcomeEvent, RunnerEvents } from '../../pipelines/job-runner.js';
import type { EventSource } from './event-source.js';
import {
  DEFER_SECONDS_BUCKETS,
  DELAY_SECONDS_BUCKETS,
  METRICS_PREFIX,
  entryTimeMs,
} from './metrics-registry.js';

/** What the metrics read from a runner: its name, held entries and events. */
export interface ObservedRunner extends EventSource<RunnerEvents>, Pick<JobRunner, 'job' | 'heldCount'> {}

export interface RunnerMetrics {
  /** Counts the runner's events from now on; returns a function that stops counting (its series stay). */
  watch(runner: ObservedRunner): () => void;
}

export function createRunnerMetrics(registry: Registry, clock: Clock = systemClock): RunnerMetrics {
  const watched = new Set<ObservedRunner>();
  const outcomes = new Counter({
    name: `${METRICS_PREFIX}job_outcomes_total`,
    help: 'Outcomes written per job: ack, retry, defer, dead, and skip/duplicate (acked without running the handler).',
    labelNames: ['job', 'outcome'],
    registers: [registry],
  });
  const retryBackoff = new Histogram({
    name: `${METRICS_PREFIX}job_retry_backoff_seconds`,
    help: 'Delay until the retry hint of a failed attempt is due (the backoff, or the Retry-After asked for).',
    labelNames: ['job'],
    buckets: [...DELAY_SECONDS_BUCKETS],
    registers: [registry],
  });
  const deferDelay = new Histogram({
    name: `${METRICS_PREFIX}job_defer_delay_seconds`,
    help: 'Delay until a deferred or scheduled event is re-emitted by its timer.',
    labelNames: ['job'],
    buckets: [...DEFER_SECONDS_BUCKETS],
    registers: [registry],
  });
  const endToEnd = new Histogram({
    name: `${METRICS_PREFIX}job_end_to_end_seconds`,
    help:
      'From an entry entering its stream (publish or timer re-emission, Redis time of its id) to its final ' +
      'outcome (ack or dead) being written, retries included.',
    labelNames: ['job', 'outcome'],
    buckets: [...DELAY_SECONDS_BUCKETS],
    registers: [registry],
  });
  new Gauge({
    name: `${METRICS_PREFIX}job_in_flight`,
    help: 'Entries this process holds for the job (being handled or waiting in its pipeline), read at scrape.',
    labelNames: ['job'],
    registers: [registry],
    collect() {
      this.reset();
      for (const runner of watched) this.inc({ job: runner.job }, runner.heldCount());
    },
  });
  const dataLoss = new Counter({
    name: `${METRICS_PREFIX}data_loss_entries_total`,
    help: 'Pending entries found deleted from their stream before they were handled (data-loss alarm).',
    labelNames: ['job', 'stream'],
    registers: [registry],
  });
  const ownershipLost = new Counter({
    name: `${METRICS_PREFIX}job_ownership_lost_entries_total`,
    help: 'Entries another consumer claimed while this one was still handling them.',
    labelNames: ['job'],
    registers: [registry],
  });
  const loopErrors = new Counter({
    name: `${METRICS_PREFIX}job_loop_errors_total`,
    help: 'Errors of the runner loops (read, claim, heartbeat, outcome write, ...), by where they happened.',
    labelNames: ['job', 'where'],
    registers: [registry],
  });
  const released = new Counter({
    name: `${METRICS_PREFIX}job_released_entries_total`,
    help: 'Entries left pending (retry hint due now) when the shutdown grace period ran out.',
    labelNames: ['job'],
    registers: [registry],
  });

  function onOutcome(event: OutcomeEvent): void {
    const job = event.job;
    outcomes.inc({ job, outcome: event.kind });
    if (event.kind === 'retry' && event.delayMs !== undefined) {
      retryBackoff.observe({ job }, event.delayMs / 1000);
    } else if (event.kind === 'defer' && event.delayMs !== undefined) {
      deferDelay.observe({ job }, event.delayMs / 1000);
    } else if (event.kind === 'ack' || event.kind === 'dead') {
      const enteredAt = entryTimeMs(event.entryId);
      // Redis time vs the worker clock: a clock behind Redis must not give negative latencies
      if (Number.isFinite(enteredAt)) {
        endToEnd.observe({ job, outcome: event.kind }, Math.max(0, clock.now() - enteredAt) / 1000);
      }
    }
  }

  return {
    watch(runner) {
      const onDataLoss = ({ job, stream, ids }: RunnerEvents['dataLoss'][0]): void =>
        dataLoss.inc({ job, stream }, ids.length);
      const onOwnershipLost = ({ job, ids }: RunnerEvents['ownershipLost'][0]): void =>
        ownershipLost.inc({ job }, ids.length);
      const onLoopError = ({ job, where }: RunnerEvents['loopError'][0]): void =>
        loopErrors.inc({ job, where });
      const onStopped = ({ job, released: count }: RunnerEvents['stopped'][0]): void =>
        released.inc({ job }, count);
      // zero series for the outcomes alerts compare, so rate() and increase() see the first one
      for (const outcome of ['ack', 'retry', 'dead'] as const) outcomes.inc({ job: runner.job, outcome }, 0);
      ownershipLost.inc({ job: runner.job }, 0);
      watched.add(runner);
      runner.on('outcome', onOutcome);
      runner.on('dataLoss', onDataLoss);
      runner.on('ownershipLost', onOwnershipLost);
      runner.on('loopError', onLoopError);
      runner.on('stopped', onStopped);
      return () => {
        watched.delete(runner);
        runner.off('outcome', onOutcome);
        runner.off('dataLoss', onDataLoss);
        runner.off('ownershipLost', onOwnershipLost);
        runner.off('loopError', onLoopError);
        runner.off('stopped', onStopped);
      };
    },
  };
}
