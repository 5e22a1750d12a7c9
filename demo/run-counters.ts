// What a demo run counts while it runs: every runner outcome per job, timer lateness samples, provider polls and
// alerts the jobs signal. The live line and the final report read these counters.
import type { JobSignals } from '../src/jobs/pack-context.js';
import type { JobRunner, OutcomeEvent } from '../src/pipelines/job-runner.js';

/** Outcomes of one job. `scheduled` = runAt events put on the timer wheel; `defer` = deferrals of the handler. */
export interface JobTally {
  ack: number;
  retry: number;
  defer: number;
  scheduled: number;
  dead: number;
  /** Entries acked unrun by the consumer dedupe (already handled). */
  duplicate: number;
  /** Entries of other types or other groups, acked unrun. */
  skip: number;
}

export interface RunCounters {
  readonly jobs: Map<string, JobTally>;
  /** Lateness samples (ms) per job. */
  readonly lateness: Map<string, number[]>;
  readonly polls: Map<string, { up: number; down: number }>;
  readonly alerts: Map<string, number>;
  readonly signals: JobSignals;
  /** Counts the outcomes of these runners from now on. */
  watch(runners: readonly Pick<JobRunner, 'job' | 'on'>[]): void;
  recordLateness(job: string, lateMs: number): void;
}

/** Most lateness samples kept per job (enough for percentiles of a demo run). */
const MAX_SAMPLES = 100_000;

export function emptyTally(): JobTally {
  return { ack: 0, retry: 0, defer: 0, scheduled: 0, dead: 0, duplicate: 0, skip: 0 };
}

/** Outcomes where the job did something: acks, retries, deferrals and dead letters (not scheduling, skips, dups). */
export function handledOf(tally: JobTally): number {
  return tally.ack + tally.retry + tally.defer + tally.dead;
}

export function createRunCounters(): RunCounters {
  const jobs = new Map<string, JobTally>();
  const lateness = new Map<string, number[]>();
  const polls = new Map<string, { up: number; down: number }>();
  const alerts = new Map<string, number>();
  const tallyOf = (job: string): JobTally => {
    let tally = jobs.get(job);
    if (tally === undefined) jobs.set(job, (tally = emptyTally()));
    return tally;
  };
  const onOutcome = (event: OutcomeEvent): void => {
    const tally = tallyOf(event.job);
    if (event.kind === 'defer' && event.reason === 'scheduled') tally.scheduled += 1;
    else tally[event.kind] += 1;
  };
  return {
    jobs,
    lateness,
    polls,
    alerts,
    signals: {
      providerPolled(provider, up) {
        const poll = polls.get(provider) ?? { up: 0, down: 0 };
        if (up) poll.up += 1;
        else poll.down += 1;
        polls.set(provider, poll);
      },
      alertRaised(alert) {
        alerts.set(alert, (alerts.get(alert) ?? 0) + 1);
      },
    },
    watch(runners) {
      for (const runner of runners) {
        tallyOf(runner.job);
        runner.on('outcome', onOutcome);
      }
    },
    recordLateness(job, lateMs) {
      const samples = lateness.get(job) ?? [];
      if (samples.length < MAX_SAMPLES) samples.push(lateMs);
      lateness.set(job, samples);
    },
  };
}
