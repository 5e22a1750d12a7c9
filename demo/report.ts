// The demo's report: events published, outcomes per job, retries, deferrals, DLQ entries, duplicates prevented at
// each layer, timer lateness and what the mock platform applied; as JSON (stdout), a table and a live line (stderr).
import type { Redis } from 'ioredis';
import type { KeyBuilder } from '../src/streams/keys.js';
import type { MockPlatform } from './mock-platform/mock-platform.js';
import type { PublishTally } from './retrying-producer.js';
import { handledOf, type JobTally, type RunCounters } from './run-counters.js';

export interface JobReport extends Omit<JobTally, 'skip'> {
  /** ack + retry + defer + dead: entries the job acted on. */
  readonly handled: number;
  /** Timer lateness of the job's fired timers (runAt, cron ticks), when it has any. */
  readonly lateP95Ms?: number;
  /** Why the job did not run in the demo (it needs a service the mock platform does not provide). */
  readonly notRun?: string;
}

export interface LatenessSummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface DemoReport {
  readonly durationS: number;
  readonly redis: string;
  readonly eventsPublished: number;
  readonly publishedByType: Record<string, number>;
  /** Raw entries with invalid data written past the publisher's validation (they end in the DLQ). */
  readonly poisonEvents: number;
  /** Scenario steps that failed (a bug in the demo, not in the workers): 0 expected. */
  readonly scenarioErrors: number;
  /** Every job of the catalog, in catalog order. */
  readonly handledPerJob: Record<string, JobReport>;
  /** Jobs that ran but handled nothing in this run. */
  readonly idleJobs: string[];
  /** Catalog jobs left out because they refused to start in the demo, with the reason. */
  readonly notRun: Record<string, string>;
  readonly retries: number;
  /** Deferrals the handlers asked for (202s, "not yet"), not counting runAt timers put on the wheel. */
  readonly deferrals: number;
  /** runAt timers scheduled (bets at T_end, escrows at expiresAt, vesting epochs). */
  readonly timersScheduled: number;
  readonly dlqEntries: number;
  readonly dlqByDomain: Record<string, number>;
  readonly duplicatesPrevented: {
    readonly total: number;
    /** Producer repeats the publisher refused (same event id). */
    readonly publisher: number;
    /** Redelivered entries the consumer dedupe acked unrun. */
    readonly consumerDedupe: number;
    /** Calls the mock services answered from their Idempotency-Key store instead of applying again. */
    readonly downstreamReplays: number;
  };
  readonly timerLateness: LatenessSummary & { readonly byJob: Record<string, LatenessSummary> };
  /** Idempotency-Keys the mock platform applied more than once: must be 0. */
  readonly appliedTwice: number;
  readonly providerPolls: Record<string, { up: number; down: number }>;
  readonly alerts: Record<string, number>;
  readonly platform: {
    readonly requests: number;
    readonly applied: number;
    readonly faultsInjected: number;
    readonly unauthorized: number;
    readonly contractViolations: number;
    /** Domain state per service (bets by state, escrows, releases, claims...). */
    readonly state: Record<string, Record<string, number>>;
  };
}

export interface ReportInput {
  readonly startedAt: number;
  readonly now: number;
  readonly redis: string;
  /** Every job of the catalog. */
  readonly catalog: readonly string[];
  /** The jobs the worker runs. */
  readonly jobs: readonly string[];
  readonly notRun: ReadonlyMap<string, string>;
  readonly counters: RunCounters;
  readonly published: PublishTally;
  readonly poisonEvents: number;
  readonly scenarioErrors: number;
  readonly platform: Pick<MockPlatform, 'stats' | 'appliedTwice'>;
  readonly dlqByDomain: Record<string, number>;
}

/** Nearest-rank percentiles of the samples (all 0 without samples). */
export function summarize(samples: readonly number[]): LatenessSummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted.length === 0
      ? 0
      : Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!);
  return {
    samples: sorted.length,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    maxMs: Math.round(sorted.at(-1) ?? 0),
  };
}

/** Dead letters per domain: every domain with a partition count in Redis, summed over its partitions. */
export async function readDlqEntries(redis: Redis, keys: KeyBuilder): Promise<Record<string, number>> {
  const counts = await redis.hgetall(keys.partitionCounts);
  const byDomain: Record<string, number> = {};
  for (const [domain, stored] of Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))) {
    const partitions = Number(stored);
    const lengths = await Promise.all(
      Array.from({ length: partitions }, (_, i) => redis.xlen(keys.partition(domain, i).dlq)),
    );
    const total = lengths.reduce((sum, n) => sum + n, 0);
    if (total > 0) byDomain[domain] = total;
  }
  return byDomain;
}

export function buildReport(input: ReportInput): DemoReport {
  const { counters } = input;
  const tallies = [...new Set([...input.catalog, ...input.jobs])].map(
    (job) => [job, counters.jobs.get(job)] as const,
  );
  const sum = (field: keyof JobTally): number =>
    [...counters.jobs.values()].reduce((total, tally) => total + tally[field], 0);
  const handledPerJob: Record<string, JobReport> = {};
  for (const [job, tally] of tallies) {
    const t = tally ?? { ack: 0, retry: 0, defer: 0, scheduled: 0, dead: 0, duplicate: 0, skip: 0 };
    const samples = counters.lateness.get(job);
    handledPerJob[job] = {
      handled: handledOf(t),
      ack: t.ack,
      retry: t.retry,
      defer: t.defer,
      scheduled: t.scheduled,
      dead: t.dead,
      duplicate: t.duplicate,
      ...(samples === undefined ? {} : { lateP95Ms: summarize(samples).p95Ms }),
      ...(input.notRun.has(job) ? { notRun: input.notRun.get(job) } : {}),
    };
  }
  const stats = input.platform.stats();
  const publishedByType = Object.fromEntries(
    [...input.published.byType].sort(([a], [b]) => a.localeCompare(b)),
  );
  const eventsPublished = [...input.published.byType.values()].reduce((a, b) => a + b, 0);
  const consumerDedupe = sum('duplicate');
  const publisher = input.published.duplicatesRefused;
  const downstreamReplays = stats.totals.replays;
  const byJob = Object.fromEntries(
    [...counters.lateness].sort(([a], [b]) => a.localeCompare(b)).map(([job, s]) => [job, summarize(s)]),
  );
  return {
    durationS: Math.round((input.now - input.startedAt) / 100) / 10,
    redis: input.redis,
    eventsPublished: eventsPublished + input.poisonEvents,
    publishedByType,
    poisonEvents: input.poisonEvents,
    scenarioErrors: input.scenarioErrors,
    handledPerJob,
    idleJobs: input.jobs.filter((job) => handledPerJob[job]?.handled === 0),
    notRun: Object.fromEntries(input.notRun),
    retries: sum('retry'),
    deferrals: sum('defer'),
    timersScheduled: sum('scheduled'),
    dlqEntries: Object.values(input.dlqByDomain).reduce((a, b) => a + b, 0),
    dlqByDomain: input.dlqByDomain,
    duplicatesPrevented: {
      total: publisher + consumerDedupe + downstreamReplays,
      publisher,
      consumerDedupe,
      downstreamReplays,
    },
    timerLateness: { ...summarize([...counters.lateness.values()].flat()), byJob },
    appliedTwice: input.platform.appliedTwice(),
    providerPolls: Object.fromEntries(counters.polls),
    alerts: Object.fromEntries(counters.alerts),
    platform: {
      requests: stats.totals.requests,
      applied: stats.totals.applied,
      faultsInjected: stats.totals.faults,
      unauthorized: stats.totals.unauthorized,
      contractViolations: stats.totals.contractViolations,
      state: Object.fromEntries(
        Object.entries(stats.services)
          .filter(([, service]) => Object.keys(service.domain).length > 0)
          .map(([name, service]) => [name, service.domain]),
      ),
    },
  };
}

/** Jobs left out, grouped by what they lack (the variable their error names, else the whole message). */
export function notRunByCause(notRun: Readonly<Record<string, string>>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [job, why] of Object.entries(notRun)) {
    const variable = /\b([A-Z][A-Z0-9_]*_URL)\b/.exec(why)?.[1];
    const cause = variable === undefined ? why : `${variable} not set`;
    groups.set(cause, [...(groups.get(cause) ?? []), job]);
  }
  return groups;
}

/** The report as a table of jobs and a few summary lines, for a terminal. */
export function formatReport(report: DemoReport): string {
  const header = ['job', 'handled', 'ack', 'retry', 'defer', 'dead', 'timers', 'dups', 'late p95'];
  const rows = Object.entries(report.handledPerJob).map(([job, r]) => [
    job,
    String(r.handled),
    String(r.ack),
    String(r.retry),
    String(r.defer),
    String(r.dead),
    String(r.scheduled),
    String(r.duplicate),
    r.notRun !== undefined ? 'not run' : r.lateP95Ms === undefined ? '-' : `${r.lateP95Ms} ms`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const dup = report.duplicatesPrevented;
  const late = report.timerLateness;
  const bets = report.platform.state['playhub'];
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `events published     ${report.eventsPublished} in ${report.durationS} s (${report.poisonEvents} poison)`,
    `retries / deferrals  ${report.retries} / ${report.deferrals}   timers scheduled ${report.timersScheduled}`,
    `DLQ entries          ${report.dlqEntries} ${JSON.stringify(report.dlqByDomain)}`,
    `duplicates prevented ${dup.total} (publisher ${dup.publisher}, consumer dedupe ${dup.consumerDedupe}, ` +
      `downstream replays ${dup.downstreamReplays})`,
    `timer lateness       p50 ${late.p50Ms} ms, p95 ${late.p95Ms} ms, p99 ${late.p99Ms} ms, max ${late.maxMs} ms ` +
      `(${late.samples} timers)`,
    ...(bets === undefined
      ? []
      : [
          `bets                 settled ${bets['settled'] ?? 0}, pushed ${bets['pushed'] ?? 0}, cancelled ` +
            `${bets['cancelled'] ?? 0}, open ${bets['open'] ?? 0}, settle calls before T_end ${bets['earlySettles'] ?? 0}`,
        ]),
    `applied twice        ${report.appliedTwice}`,
    ...(report.idleJobs.length === 0 ? [] : [`idle jobs            ${report.idleJobs.join(', ')}`]),
    ...[...notRunByCause(report.notRun)].map(
      ([cause, jobs]) => `not run              ${jobs.length} job(s), ${cause}: ${jobs.join(', ')}`,
    ),
  ].join('\n');
}

/** One compact status line: elapsed time, events, outcomes, dead letters, bets and lateness so far. */
export function liveLine(input: {
  readonly elapsedMs: number;
  readonly counters: RunCounters;
  readonly published: PublishTally;
  readonly platform: Pick<MockPlatform, 'playhub' | 'appliedTwice'>;
}): string {
  const totals = { ack: 0, retry: 0, defer: 0, dead: 0 };
  for (const tally of input.counters.jobs.values()) {
    totals.ack += tally.ack;
    totals.retry += tally.retry;
    totals.defer += tally.defer;
    totals.dead += tally.dead;
  }
  const events = [...input.published.byType.values()].reduce((a, b) => a + b, 0);
  const bets = input.platform.playhub.domainStats();
  const late = summarize([...input.counters.lateness.values()].flat());
  const seconds = String(Math.round(input.elapsedMs / 1000)).padStart(3);
  return (
    `[${seconds}s] events ${events} (${input.published.duplicatesRefused} repeats refused) | ` +
    `ack ${totals.ack} retry ${totals.retry} defer ${totals.defer} dead ${totals.dead} | ` +
    `bets open ${bets['open'] ?? 0} settled ${bets['settled'] ?? 0} pushed ${bets['pushed'] ?? 0} | ` +
    `late p95 ${late.p95Ms} ms | applied twice ${input.platform.appliedTwice()}`
  );
}
