// The one key builder: every Redis key of the project is named here and nowhere else.
// A partition is one hash-tagged unit ({tg:escrow:3}) so every multi-key script stays in one slot.
import { ValidationError } from '../errors.js';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Checks a domain, group, job or prefix name: no hash-tag braces, colons or spaces inside keys. */
export function assertKeyName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new ValidationError(
      `${kind} "${name}" must be 1-64 characters of letters, digits, "_", "." or "-"`,
      [{ path: kind, message: 'invalid name' }],
    );
  }
}

/** The keys of one partition of one domain. */
export interface PartitionKeys {
  readonly domain: string;
  readonly index: number;
  /** The hash tag shared by every key below, e.g. `{tg:escrow:3}`. */
  readonly tag: string;
  /** The partition's event stream. */
  readonly stream: string;
  /** The partition's dead-letter stream (stream key + DLQ_SUFFIX). */
  readonly dlq: string;
  /** ZSET of retry hints of one group: member = entry id, score = due ms (Redis time). */
  retry(group: string): string;
  /** HASH of failure counts of one group's pending entries: entry id -> failures. */
  failures(group: string): string;
  /** SET of event ids a group has acked within one dedupe bucket. */
  seen(group: string, bucket: number): string;
  /** HASH of event ids published within one dedupe bucket: event id -> stream entry id. */
  published(bucket: number): string;
  /** ZSET of timers: member = timer id, score = due ms. */
  readonly timers: string;
  /** HASH of timer payloads: timer id -> encoded fields. */
  readonly timerPayloads: string;
  /** HASH of timer tombstones: timer id -> version that fired or was cancelled. */
  readonly timerTombstones: string;
}

export interface KeyBuilder {
  readonly prefix: string;
  readonly dlqSuffix: string;
  partition(domain: string, index: number): PartitionKeys;
  /** HASH domain -> partition count, fixed when the domain's streams are created. */
  readonly partitionCounts: string;
  /** HASH of counters that must survive restarts (trimmed unacked entries, data-loss alarms). */
  readonly counters: string;
  /** Channel on which timer movers hear about timers nearer than the known next one. */
  readonly timerWakeChannel: string;
}

export interface KeyBuilderOptions {
  prefix?: string;
  dlqSuffix?: string;
}

export function createKeyBuilder(options: KeyBuilderOptions = {}): KeyBuilder {
  const prefix = options.prefix ?? 'tg';
  const dlqSuffix = options.dlqSuffix ?? '.dlq';
  assertKeyName('prefix', prefix);
  if (!/^[A-Za-z0-9_.-]{1,16}$/.test(dlqSuffix)) {
    throw new ValidationError(
      `DLQ suffix "${dlqSuffix}" must be 1-16 characters of letters, digits, "_", "." or "-"`,
    );
  }
  return {
    prefix,
    dlqSuffix,
    partitionCounts: `${prefix}:partitions`,
    counters: `${prefix}:counters`,
    timerWakeChannel: `${prefix}:timers:wake`,
    partition(domain, index) {
      assertKeyName('domain', domain);
      if (!Number.isInteger(index) || index < 0) {
        throw new ValidationError(`partition index must be a non-negative integer, got ${index}`);
      }
      const tag = `{${prefix}:${domain}:${index}}`;
      const stream = `${tag}:events`;
      return {
        domain,
        index,
        tag,
        stream,
        dlq: `${stream}${dlqSuffix}`,
        retry: (group) => groupKey(tag, 'retry', group),
        failures: (group) => groupKey(tag, 'failures', group),
        seen: (group, bucket) => `${groupKey(tag, 'seen', group)}:${bucket}`,
        published: (bucket) => `${tag}:published:${bucket}`,
        timers: `${tag}:timers`,
        timerPayloads: `${tag}:timers:payloads`,
        timerTombstones: `${tag}:timers:tombstones`,
      };
    },
  };
}

function groupKey(tag: string, kind: string, group: string): string {
  assertKeyName('group', group);
  return `${tag}:${kind}:${group}`;
}
