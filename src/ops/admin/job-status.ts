// A job's status from a short history of its lag, in the spirit of Burrow's lag evaluation: OK, WARN (lag growing
// over the window) or STALL (consumers present but their position not moving, or no consumers, while lag > 0).
import type { JobState } from '../control/job-control.js';

export const JOB_STATUSES = ['OK', 'WARN', 'STALL'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** One reading of a job's figures (summed over its partitions). */
export interface LagSample {
  /** ms (the admin server's clock). */
  readonly at: number;
  /** Entries not yet delivered to the group. */
  readonly lag: number;
  readonly pending: number;
  /** Age of the oldest undelivered entry (largest over partitions). */
  readonly timeLagMs: number;
  readonly consumers: number;
  /** The group's position: every partition's last-delivered id, joined. It moves when consumers read. */
  readonly position: string;
}

export interface StatusVerdict {
  readonly status: JobStatus;
  /** One line saying which rule decided. */
  readonly reason: string;
}

export interface StatusRules {
  /** Samples older than this before the newest one are not looked at; default 60 s. */
  readonly windowMs: number;
  /** Fewer samples in the window than this: OK (not enough history); default 3. */
  readonly minSamples: number;
  /** The window's samples must span at least this long before WARN or STALL is said; default 20 s. */
  readonly minSpanMs: number;
}

export const DEFAULT_STATUS_RULES: StatusRules = { windowMs: 60_000, minSamples: 3, minSpanMs: 20_000 };

/**
 * The rules, first match wins (window = the samples within `windowMs` of the newest):
 * 1. no sample, or lag 0 in any sample of the window -> OK (caught up at least once);
 * 2. fewer than `minSamples` samples, or spanning less than `minSpanMs` -> OK (not enough history);
 * 3. the job is paused or draining (it pulls no new entries on purpose): lag growing -> WARN, else OK;
 * 4. no consumer in any sample while lag > 0 -> STALL (nobody reads);
 * 5. consumers present and the position (last-delivered ids) the same in every sample while lag > 0 -> STALL;
 * 6. lag never shrank between samples and ended higher than it started -> WARN (lag growing);
 * 7. otherwise -> OK (lag shrinking or holding while consumers read).
 */
export function evaluateJobStatus(
  samples: readonly LagSample[],
  state: JobState,
  rules: StatusRules = DEFAULT_STATUS_RULES,
): StatusVerdict {
  const newest = samples[samples.length - 1];
  if (newest === undefined) return { status: 'OK', reason: 'no figures yet' };
  const window = samples.filter((s) => s.at >= newest.at - rules.windowMs);
  if (window.some((s) => s.lag === 0)) return { status: 'OK', reason: 'lag reached 0 within the window' };
  const first = window[0] ?? newest;
  if (window.length < rules.minSamples || newest.at - first.at < rules.minSpanMs)
    return { status: 'OK', reason: 'not enough history yet' };
  const growing =
    window.every((s, i) => i === 0 || s.lag >= (window[i - 1] ?? s).lag) && newest.lag > first.lag;
  if (state !== 'running') {
    return growing
      ? { status: 'WARN', reason: `${state}: lag growing (${first.lag} -> ${newest.lag})` }
      : { status: 'OK', reason: state };
  }
  if (window.every((s) => s.consumers === 0))
    return { status: 'STALL', reason: `no consumers while lag is ${newest.lag}` };
  if (window.every((s) => s.position === first.position))
    return {
      status: 'STALL',
      reason: `consumers present but no progress for ${Math.round((newest.at - first.at) / 1000)} s while lag is ${newest.lag}`,
    };
  if (growing)
    return { status: 'WARN', reason: `lag growing over the window (${first.lag} -> ${newest.lag})` };
  return { status: 'OK', reason: newest.lag < first.lag ? 'lag shrinking' : 'consumers keeping up' };
}
