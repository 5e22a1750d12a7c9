// The retention trimmer of DESIGN.md §4: trims a partition stream up to the safe id (never past a pending or
// undelivered entry of any group), raises the hard-cap alarm naming the pinning groups, and trims DLQs by count/age.
import { ScriptError, ValidationError } from '../errors.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { assertKeyName } from './keys.js';
import type { KeyBuilder } from './keys.js';
import { pipelineResults, runScript } from './scripts.js';
import type { RedisClient } from './scripts.js';

export interface TrimmerLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface TrimmerDeps {
  redis: RedisClient;
  keys: KeyBuilder;
  /** Judges DLQ entry age (DLQ ids are Redis-time ms); stream retention itself uses Redis TIME in the script. */
  clock?: Clock;
  logger?: TrimmerLogger;
}

export interface TrimPartitionOptions {
  domain: string;
  partition: number;
  /** Active groups the caller knows; one not yet created on the stream pins everything until it exists. */
  groups: readonly string[];
  /** Keep entries younger than this even if acked, for replay; default 0. */
  minRetentionMs?: number;
  /** Max entries after the trim before the alarm; unset = no cap. */
  hardCap?: number;
  /** Explicit per-stream policy: over the cap, drop the oldest entries even if unacked; default false. */
  dropUnackedOverCap?: boolean;
}

export interface TrimResult {
  /** Entries removed up to the safe id (all delivered and acked by every group). */
  trimmed: number;
  /** Entries before this id were removed; null when no group exists to bound the trim (nothing removed). */
  safeId: string | null;
  /** Stream length after trimming. */
  length: number;
  overCap: boolean;
  /** Groups holding the safe id back when over cap (empty when min retention, not a group, is the bound). */
  pinningGroups: string[];
  /** Entries removed past the safe id under dropUnackedOverCap, also added to the counters hash. */
  droppedUnacked: number;
}

export interface TrimDlqOptions {
  domain: string;
  partition: number;
  /** Keep at most this many dead letters. */
  maxLen?: number;
  /** Drop dead letters older than this. */
  maxAgeMs?: number;
}

export interface TrimDlqResult {
  trimmed: number;
  length: number;
}

export interface Trimmer {
  trimPartition(options: TrimPartitionOptions): Promise<TrimResult>;
  trimDlq(options: TrimDlqOptions): Promise<TrimDlqResult>;
}

/** The field of the counters hash that counts unacked entries dropped from a stream by the over-cap policy. */
export function trimmedUnackedField(stream: string): string {
  return `trimmed_unacked:${stream}`;
}

export function createTrimmer(deps: TrimmerDeps): Trimmer {
  const clock = deps.clock ?? systemClock;
  // Streams currently over their cap, so the alarm logs once per episode instead of on every trim.
  const overCapStreams = new Set<string>();

  return {
    async trimPartition(options) {
      const partition = deps.keys.partition(options.domain, options.partition);
      for (const group of options.groups) assertKeyName('group', group);
      const minRetentionMs = nonNegativeInteger('minRetentionMs', options.minRetentionMs ?? 0);
      const hardCap = options.hardCap === undefined ? 0 : positiveInteger('hardCap', options.hardCap);
      const drop = options.dropUnackedOverCap === true;

      const reply = await runScript(
        deps.redis,
        'trim',
        [partition.stream],
        [minRetentionMs, hardCap, drop ? 1 : 0, ...options.groups],
      );
      const result = parseTrimReply(reply);

      if (result.droppedUnacked > 0) {
        // Outside the script: the counters hash is not in the partition's hash slot (Redis Cluster).
        await deps.redis.hincrby(
          deps.keys.counters,
          trimmedUnackedField(partition.stream),
          result.droppedUnacked,
        );
        deps.logger?.error(
          {
            stream: partition.stream,
            droppedUnacked: result.droppedUnacked,
            hardCap,
            pinningGroups: result.pinningGroups,
          },
          'dropped unacked entries over the hard cap (dropUnackedOverCap policy)',
        );
      }
      if (result.overCap && !overCapStreams.has(partition.stream)) {
        overCapStreams.add(partition.stream);
        const known = new Set(options.groups);
        deps.logger?.warn(
          {
            stream: partition.stream,
            length: result.length + result.droppedUnacked,
            hardCap,
            pinningGroups: result.pinningGroups,
            // Groups of disabled or removed jobs keep pinning until an operator deletes them.
            inactivePinningGroups: result.pinningGroups.filter((group) => !known.has(group)),
          },
          'stream over its hard cap: a group is holding retention back',
        );
      } else if (!result.overCap) {
        overCapStreams.delete(partition.stream);
      }
      return result;
    },

    async trimDlq(options) {
      const { dlq } = deps.keys.partition(options.domain, options.partition);
      const maxLen = options.maxLen === undefined ? undefined : nonNegativeInteger('maxLen', options.maxLen);
      const maxAgeMs =
        options.maxAgeMs === undefined ? undefined : nonNegativeInteger('maxAgeMs', options.maxAgeMs);
      // MULTI so the reported length matches what both trims left, even with concurrent dead-lettering.
      const transaction = deps.redis.multi();
      if (maxAgeMs !== undefined) {
        transaction.xtrim(dlq, 'MINID', `${Math.max(0, clock.now() - maxAgeMs)}-0`);
      }
      if (maxLen !== undefined) transaction.xtrim(dlq, 'MAXLEN', maxLen);
      transaction.xlen(dlq);
      const replies = pipelineResults(await transaction.exec());
      const counts = replies.map((reply) => integerReply('trimDlq', reply));
      const length = counts.pop() ?? 0;
      return { trimmed: counts.reduce((sum, n) => sum + n, 0), length };
    },
  };
}

function parseTrimReply(reply: unknown): TrimResult {
  if (!Array.isArray(reply) || reply.length !== 6) {
    throw new ScriptError('trim', 0, `unexpected reply ${JSON.stringify(reply)}`);
  }
  const [trimmed, safeId, length, overCap, pinning, dropped] = reply as unknown[];
  if (typeof safeId !== 'string' || !Array.isArray(pinning) || !pinning.every((g) => typeof g === 'string')) {
    throw new ScriptError('trim', 0, `unexpected reply ${JSON.stringify(reply)}`);
  }
  return {
    trimmed: integerReply('trim', trimmed),
    safeId: safeId === '' ? null : safeId,
    length: integerReply('trim', length),
    overCap: integerReply('trim', overCap) === 1,
    pinningGroups: pinning,
    droppedUnacked: integerReply('trim', dropped),
  };
}

function integerReply(script: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ScriptError(script, 0, `expected an integer reply, got ${JSON.stringify(value)}`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ValidationError(`${name} must be a non-negative integer, got ${value}`, [
      { path: name, message: 'expected an integer >= 0' },
    ]);
  }
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${name} must be a positive integer, got ${value}`, [
      { path: name, message: 'expected an integer >= 1' },
    ]);
  }
  return value;
}
