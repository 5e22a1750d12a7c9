// The timer wheel of a partition (DESIGN.md §6): schedule, reschedule and cancel timers by deterministic id, with
// tombstones so a fired or cancelled timer is not brought back by a redelivered or late event. Single-slot scripts.
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { ConfigError, ScriptError, ValidationError } from '../errors.js';
import type { EventEnvelope } from '../events/envelope.js';
import type { KeyBuilder, PartitionKeys } from '../streams/keys.js';
import {
  checkScriptResult,
  defineScripts,
  pipelineResults,
  queueScript,
  runScript,
} from '../streams/scripts.js';
import type { ScriptArg } from '../streams/scripts.js';
import {
  assertTimerId,
  assertTimerVersion,
  decodeTimerPayload,
  DEFAULT_MAX_TIMER_EVENT_BYTES,
  DEFAULT_TOMBSTONE_RETENTION_MS,
  encodeTimer,
  MAX_TIMER_VERSION,
  scheduleResultOf,
} from './timer-request.js';
import type { EncodedTimer, ScheduledTimer, ScheduleResult, TimerRequest } from './timer-request.js';

export type { ScheduledTimer, ScheduleResult, TimerRequest } from './timer-request.js';

export interface TimerListOptions {
  /** Earliest due time, inclusive (default: no bound). */
  readonly fromMs?: number;
  /** Latest due time, inclusive (default: no bound). */
  readonly toMs?: number;
  readonly limit: number;
}

export interface TimerWheel {
  schedule(partition: PartitionKeys, timer: TimerRequest): Promise<ScheduleResult>;
  /** All requests are checked before anything is written; one round trip; results in input order. */
  scheduleMany(partition: PartitionKeys, timers: readonly TimerRequest[]): Promise<ScheduleResult[]>;
  /** Leaves a tombstone; no version = beats every version. 'absent' when no pending timer was removed. */
  cancel(partition: PartitionKeys, id: string, version?: number): Promise<'cancelled' | 'absent'>;
  get(
    partition: PartitionKeys,
    id: string,
  ): Promise<{ dueMs: number; version: number; event: EventEnvelope } | undefined>;
  /** Pending timers by due time; a timer whose payload is missing (fired meanwhile) is left out. */
  list(partition: PartitionKeys, opts: TimerListOptions): Promise<ScheduledTimer[]>;
}

export interface TimerWheelDeps {
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  /** Not used for due checks (Redis TIME judges); accepted so every scheduler component takes the same deps. */
  readonly clock?: Clock;
  /** How long a cancel's tombstone lives; default 30 days (must outlive the domain's horizon). */
  readonly tombstoneRetentionMs?: number;
  /** Cap on an encoded event's UTF-8 size; default 64 KiB. */
  readonly maxEventBytes?: number;
}

/** Timers per script call in scheduleMany; the calls share one pipeline (one round trip). */
const SCHEDULE_CHUNK = 500;
const MAX_LIST_LIMIT = 10_000;

export function createTimerWheel(deps: TimerWheelDeps): TimerWheel {
  const { redis, keys } = deps;
  const retentionMs = positiveInteger(
    'tombstoneRetentionMs',
    deps.tombstoneRetentionMs ?? DEFAULT_TOMBSTONE_RETENTION_MS,
  );
  const maxEventBytes = positiveInteger('maxEventBytes', deps.maxEventBytes ?? DEFAULT_MAX_TIMER_EVENT_BYTES);
  defineScripts(redis);

  async function scheduleMany(
    partition: PartitionKeys,
    timers: readonly TimerRequest[],
  ): Promise<ScheduleResult[]> {
    if (timers.length === 0) return [];
    const encoded = timers.map((timer, index) => {
      try {
        return encodeTimer(timer, maxEventBytes);
      } catch (error) {
        if (!(error instanceof ValidationError) || timers.length === 1) throw error;
        throw new ValidationError(`timers[${index}]: ${error.message}`, error.issues, { cause: error });
      }
    });
    const pipeline = redis.pipeline();
    for (let start = 0; start < encoded.length; start += SCHEDULE_CHUNK) {
      queueScript(
        pipeline,
        'timerSchedule',
        [partition.timers, partition.timerPayloads, partition.timerTombstones],
        scheduleArgs(keys.timerWakeChannel, partition.tag, encoded.slice(start, start + SCHEDULE_CHUNK)),
      );
    }
    const replies = pipelineResults(await pipeline.exec());
    const results: ScheduleResult[] = [];
    for (const reply of replies) {
      const checked = checkScriptResult('timerSchedule', reply);
      const codes: unknown = Array.isArray(checked) ? checked[0] : undefined;
      if (!Array.isArray(codes))
        throw new ScriptError('timerSchedule', 0, `unexpected reply ${String(checked)}`);
      for (const code of codes) {
        const result = scheduleResultOf(code);
        if (!result) throw new ScriptError('timerSchedule', 0, `unexpected code ${String(code)}`);
        results.push(result);
      }
    }
    if (results.length !== timers.length) {
      throw new ScriptError('timerSchedule', 0, `expected ${timers.length} results, got ${results.length}`);
    }
    return results;
  }

  return {
    scheduleMany,
    async schedule(partition, timer) {
      const [result] = await scheduleMany(partition, [timer]);
      if (!result) throw new ScriptError('timerSchedule', 0, 'no result for the timer');
      return result;
    },

    async cancel(partition, id, version) {
      assertTimerId(id);
      if (version !== undefined) assertTimerVersion(version);
      const removed = await runScript(
        redis,
        'timerCancel',
        [
          partition.timers,
          partition.timerPayloads,
          partition.timerTombstones,
          partition.timerTombstoneExpiry,
        ],
        [id, String(version ?? MAX_TIMER_VERSION), retentionMs],
      );
      return removed === 1 ? 'cancelled' : 'absent';
    },

    async get(partition, id) {
      assertTimerId(id);
      const [score, payload] = pipelineResults(
        await redis.pipeline().zscore(partition.timers, id).hget(partition.timerPayloads, id).exec(),
      ) as [string | null, string | null];
      if (score === null || payload === null) return undefined;
      const { version, event } = decodeTimerPayload(payload);
      return { dueMs: Number(score), version, event };
    },

    async list(partition, opts) {
      const limit = opts.limit;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
        throw new ValidationError(`list limit must be an integer in 1..${MAX_LIST_LIMIT}, got ${limit}`);
      }
      for (const bound of [opts.fromMs, opts.toMs]) {
        if (bound !== undefined && !Number.isFinite(bound)) {
          throw new ValidationError(`list bounds must be finite ms, got ${bound}`);
        }
      }
      const from = opts.fromMs === undefined ? '-inf' : String(opts.fromMs);
      const to = opts.toMs === undefined ? '+inf' : String(opts.toMs);
      const flat = await redis.zrangebyscore(partition.timers, from, to, 'WITHSCORES', 'LIMIT', 0, limit);
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length === 0) return [];
      const payloads = await redis.hmget(partition.timerPayloads, ...ids);
      const timers: ScheduledTimer[] = [];
      ids.forEach((id, i) => {
        const payload = payloads[i];
        if (payload === null || payload === undefined) return;
        const { version, event } = decodeTimerPayload(payload);
        timers.push({ id, dueMs: Number(flat[2 * i + 1]), version, event });
      });
      return timers;
    },
  };
}

function scheduleArgs(channel: string, tag: string, timers: readonly EncodedTimer[]): ScriptArg[] {
  const args: ScriptArg[] = [channel, tag, timers.length];
  for (const t of timers) args.push(t.id, String(t.dueMs), String(t.version), t.fieldsJson);
  return args;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`timer wheel option ${name} must be a positive integer, got ${value}`, name);
  }
  return value;
}
