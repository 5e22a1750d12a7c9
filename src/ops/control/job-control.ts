// Operator job control (pause, resume, drain): one Redis hash per job with a version raised on every change, and a
// global change counter, so every replica can poll cheaply and apply a change within its poll interval.
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import { ValidationError } from '../../errors.js';
import type { KeyBuilder } from '../../streams/keys.js';
import { pipelineResults } from '../../streams/scripts.js';
import type { RedisClient } from '../../streams/scripts.js';

/**
 * - `running`: normal operation (also what an absent key means).
 * - `paused`: pull nothing (new entries, due retries, abandoned entries); in-flight work finishes and is written.
 * - `draining`: pull no new entries (`>`), keep taking due retries and abandoned entries until nothing is pending.
 */
export const JOB_STATES = ['running', 'paused', 'draining'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** How often runners are expected to poll their control key (the "config poll interval"). */
export const DEFAULT_CONTROL_POLL_MS = 1000;

export interface JobControlState {
  readonly job: string;
  readonly state: JobState;
  /** Raised by one on every change; 0 = never set. */
  readonly version: number;
  /** ISO time of the last change. */
  readonly updatedAt: string | undefined;
  /** Who changed it (`user@host` for the CLI). */
  readonly updatedBy: string | undefined;
  readonly reason: string | undefined;
}

export interface JobControlDeps {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  readonly clock?: Clock;
}

export interface SetJobStateOptions {
  readonly by?: string;
  readonly reason?: string;
}

export interface JobControl {
  get(job: string): Promise<JobControlState>;
  /** States of several jobs, in input order, concurrently (one round trip on one connection). */
  getMany(jobs: readonly string[]): Promise<JobControlState[]>;
  /** Writes the state, raises the job's version and then the global change counter; returns the new state. */
  set(job: string, state: JobState, options?: SetJobStateOptions): Promise<JobControlState>;
  /** The global change counter (0 when nothing was ever changed). */
  changeCounter(): Promise<number>;
}

const FIELDS = ['state', 'version', 'updatedAt', 'updatedBy', 'reason'] as const;
const MAX_TEXT_CHARS = 500;

export function isJobState(value: unknown): value is JobState {
  return typeof value === 'string' && (JOB_STATES as readonly string[]).includes(value);
}

export function createJobControl(deps: JobControlDeps): JobControl {
  const { redis, keys } = deps;
  const clock = deps.clock ?? systemClock;

  async function get(job: string): Promise<JobControlState> {
    const values = await redis.hmget(keys.jobControl(job), ...FIELDS);
    return stateOf(job, values);
  }

  return {
    get,
    async getMany(jobs) {
      return Promise.all(jobs.map(get));
    },

    async set(job, state, options = {}) {
      if (!isJobState(state)) {
        throw new ValidationError(
          `job state must be one of ${JOB_STATES.join(', ')}, got "${String(state)}"`,
        );
      }
      const key = keys.jobControl(job);
      const by = text('by', options.by);
      const reason = text('reason', options.reason);
      const fields: string[] = ['state', state, 'updatedAt', new Date(clock.now()).toISOString()];
      if (by !== undefined) fields.push('updatedBy', by);
      if (reason !== undefined) fields.push('reason', reason);
      // one key, so MULTI is atomic on a cluster too: readers never see a state without its version
      const multi = redis.multi().hset(key, ...fields);
      const stale = [by === undefined ? 'updatedBy' : undefined, reason === undefined ? 'reason' : undefined];
      const gone = stale.filter((field): field is string => field !== undefined);
      if (gone.length > 0) multi.hdel(key, ...gone);
      multi.hincrby(key, 'version', 1);
      pipelineResults(await multi.exec());
      // the counter goes up after the job key, so a replica that sees the new count reads the new state
      await redis.incr(keys.controlVersion);
      return get(job);
    },

    async changeCounter() {
      const raw = await redis.get(keys.controlVersion);
      return raw === null ? 0 : Number(raw);
    },
  };
}

function stateOf(job: string, values: readonly (string | null)[]): JobControlState {
  const [state, version, updatedAt, updatedBy, reason] = values;
  const current = state ?? 'running';
  if (!isJobState(current)) {
    throw new ValidationError(
      `control key of job ${job} holds state "${current}" (expected ${JOB_STATES.join(', ')})`,
    );
  }
  return {
    job,
    state: current,
    version: version === null || version === undefined ? 0 : Number(version),
    updatedAt: updatedAt ?? undefined,
    updatedBy: updatedBy ?? undefined,
    reason: reason ?? undefined,
  };
}

function text(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length > MAX_TEXT_CHARS) {
    throw new ValidationError(`${name} must be at most ${MAX_TEXT_CHARS} characters, got ${value.length}`);
  }
  return value;
}
