// A short in-memory history of every job's lag, fed with each stats reading (at most one sample per job every
// `sampleEveryMs`) and kept for `historyMs`: the dashboard's sparklines and the status rules read it.
import type { GroupStats } from '../control/group-stats.js';
import type { LagSample } from './job-status.js';

export interface LagHistoryOptions {
  /** Readings closer than this to the job's previous sample are not kept; default 2000 ms. */
  readonly sampleEveryMs?: number;
  /** Samples older than this are dropped; default 15 min. */
  readonly historyMs?: number;
}

export interface LagHistory {
  /** Adds a sample per group read at `at` (skipped when its previous one is too recent). */
  record(groups: readonly GroupStats[], at: number): void;
  /** The samples of a job, oldest first. */
  samples(domain: string, job: string): readonly LagSample[];
}

export const DEFAULT_SAMPLE_EVERY_MS = 2000;
export const DEFAULT_HISTORY_MS = 15 * 60 * 1000;

export function createLagHistory(options: LagHistoryOptions = {}): LagHistory {
  const sampleEveryMs = options.sampleEveryMs ?? DEFAULT_SAMPLE_EVERY_MS;
  const historyMs = options.historyMs ?? DEFAULT_HISTORY_MS;
  const series = new Map<string, LagSample[]>();
  const keyOf = (domain: string, job: string): string => `${domain}\0${job}`;

  return {
    record(groups, at) {
      const seen = new Set<string>();
      for (const group of groups) {
        const key = keyOf(group.domain, group.group);
        seen.add(key);
        let samples = series.get(key);
        if (samples === undefined) series.set(key, (samples = []));
        const last = samples[samples.length - 1];
        if (last !== undefined && at - last.at < sampleEveryMs) continue;
        samples.push({
          at,
          lag: group.lag,
          pending: group.pending,
          timeLagMs: group.timeLagMs,
          consumers: group.consumers,
          position: group.byPartition.map((p) => `${p.partition}:${p.lastDeliveredId ?? '-'}`).join(','),
        });
        const cut = samples.findIndex((s) => s.at >= at - historyMs);
        if (cut > 0) samples.splice(0, cut);
      }
      // groups deleted from Redis leave the history with them
      for (const key of series.keys()) if (!seen.has(key)) series.delete(key);
    },
    samples(domain, job) {
      return series.get(keyOf(domain, job)) ?? [];
    },
  };
}
