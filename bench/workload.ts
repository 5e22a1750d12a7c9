// The contract between the harness and a workload: a workload is one file in bench/workloads/ exporting
// `workload`, with one runner per system; a runner sets up, marks its measured window, and reports counts.
import type { Meter } from './meter.js';

export const SYSTEMS = ['fuze', 'bullmq', 'raw'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const SYSTEM_LABELS: Record<SystemName, string> = {
  fuze: 'fuze-workers',
  bullmq: 'BullMQ',
  raw: 'raw streams',
};

export interface LatencySummary {
  /** Events whose handler finished within the run. */
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** The publish rate asked for, events/s. */
  readonly targetRate: number;
  /** Events handled / the time from the first intended publish to the last handler done (at least the schedule). */
  readonly achievedRate: number;
  /** Events published / the time from the first intended publish to the last publish call's return. */
  readonly publishedRate: number;
  /** Every event handled and the achieved rate within 5 % of the target. */
  readonly sustained: boolean;
}

export interface RunResult {
  /** Events completed inside the measured window. */
  readonly events: number;
  /** Length of the measured window. */
  readonly seconds: number;
  /** Longest pause between two completions inside the window, ms (a stall shows up here). */
  readonly longestPauseMs?: number;
  readonly latency?: LatencySummary;
}

export interface RunContext {
  /** redis://host:port of the private server; FLUSHALLed before every run. */
  readonly redisUrl: string;
  /** Events this run should process. */
  readonly events: number;
  /** Handler slots (consumers) or batch size (raw reads); the value is reported with the results. */
  readonly concurrency: number;
  readonly quick: boolean;
  /** Call begin() right before the measured part and end() right after it: CPU deltas are taken there. */
  readonly meter: Meter;
  /** Gives up waiting for completions after this long (a stuck run must not hang the harness). */
  readonly deadlineMs: number;
}

export type SystemRunner = (ctx: RunContext) => Promise<RunResult>;

/** How a workload chooses each system's concurrency. */
export type ConcurrencyPolicy =
  /** Measured at several values first (a short run each), the fastest is used and remembered as "best". */
  | { readonly kind: 'tune'; readonly candidates: Readonly<Record<SystemName, readonly number[]>> }
  /** The best found by an earlier tuning workload in this run, or the system's default. */
  | { readonly kind: 'best' }
  | { readonly kind: 'fixed'; readonly values: Readonly<Record<SystemName, number>> };

export interface Workload {
  /** Short id used by --only and in the results, e.g. `consume`. */
  readonly name: string;
  /** One line for the table. */
  readonly title: string;
  /** Position in the run and the table. */
  readonly order: number;
  /** Latency workloads are reported as percentiles instead of throughput. */
  readonly kind: 'throughput' | 'latency';
  /** Events per run from the base count (--events, default 200k; 10k with --quick). */
  events(base: number, quick: boolean): number;
  readonly concurrency: ConcurrencyPolicy;
  readonly systems: Readonly<Record<SystemName, SystemRunner>>;
}

/** Concurrency per system when no tuning ran (quick runs): values that did well on a 2-core machine. */
export const DEFAULT_CONCURRENCY: Record<SystemName, number> = { fuze: 256, bullmq: 64, raw: 500 };
