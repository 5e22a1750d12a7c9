// The one key builder: every Redis key of the project is named here and nowhere else.
// A partition is one hash-tagged unit ({tg:escrow:3}) so every multi-key script stays in one slot.
import { ValidationError } from '../errors.js';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const KEY_ID = /^[A-Za-z0-9_.:/@-]{1,128}$/;

/** Checks a domain, group, job or prefix name: no hash-tag braces, colons or spaces inside keys. */
export function assertKeyName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new ValidationError(
      `${kind} "${name}" must be 1-64 characters of letters, digits, "_", "." or "-"`,
      [{ path: kind, message: 'invalid name' }],
    );
  }
}

/** Checks an id inside a key (cache id, market symbol such as `BTC/USDT`): no braces (hash tags) or spaces. */
export function assertKeyId(kind: string, id: string): void {
  if (!KEY_ID.test(id)) {
    throw new ValidationError(
      `${kind} "${id}" must be 1-128 characters of letters, digits, "_", ".", ":", "/", "@" or "-"`,
      [{ path: kind, message: 'invalid id' }],
    );
  }
}

/** The keys of one OHLCV bar; both share the symbol's hash tag, so a bar update is one single-slot script. */
export interface BarKeys {
  /** The hash tag of every bar of the symbol, e.g. `{tg:bars:BTC/USDT}`. */
  readonly tag: string;
  /** HASH of the bar: open/high/low/close, volumes, trade count, and the (ts, id) of its open and close trades. */
  readonly bar: string;
  /** SET of trade ids already applied to the bar (idempotency per trade), expiring with the bar. */
  readonly appliedTrades: string;
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
  /** ZSET of tombstone expiries: timer id -> ms (Redis time) after which its tombstone is pruned. */
  readonly timerTombstoneExpiry: string;
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
  /**
   * HASH of one cron schedule's high-water mark: `mark` (ms up to which every tick is on the timer wheel or was
   * deliberately skipped) and `pending` (catch-up ticks chosen after downtime, not yet confirmed on the wheel).
   */
  cronMark(schedule: string): string;
  /** STRING holding the owner token of a cron schedule's overlap lock while one of its runs is in progress. */
  cronLock(schedule: string): string;
  /** HASH {tokens, ts} of one distributed token bucket (name = provider or provider.endpoint), its own hash tag. */
  rateLimit(name: string): string;
  /** STRING holding one cached JSON value of a namespace (e.g. `ticker`, `BTC/USDT`). */
  cache(namespace: string, id: string): string;
  /** The keys of one bar of a symbol, interval (`1m` .. `1M`) and bar start (ms since the epoch, UTC). */
  bar(symbol: string, interval: string, barStart: number): BarKeys;
  /**
   * HASH of one job's operator control: `state` (running|paused|draining), `version` (raised on every change),
   * `updatedAt`, `updatedBy`, `reason`. Absent = running, version 0. Runners poll it.
   */
  jobControl(job: string): string;
  /** STRING counter raised after every job-control change: one cheap GET tells a replica whether to re-read. */
  readonly controlVersion: string;
  /** STREAM of admin actions (who changed what, from the admin HTTP API), trimmed to AUDIT_MAX_LEN entries. */
  readonly audit: string;
  /** STREAM of job calls to internal services (JOB_AUDIT_ENABLED): job, event, target, key, status, outcome. */
  readonly jobAudit: string;
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
    cronMark(schedule) {
      assertKeyName('schedule', schedule);
      return `{${prefix}:schedule:${schedule}}:mark`;
    },
    cronLock(schedule) {
      assertKeyName('schedule', schedule);
      return `{${prefix}:schedule:${schedule}}:lock`;
    },
    rateLimit(name) {
      assertKeyName('rate limit', name);
      return `{${prefix}:ratelimit:${name}}`;
    },
    cache(namespace, id) {
      assertKeyName('cache namespace', namespace);
      assertKeyId('cache id', id);
      return `${prefix}:cache:${namespace}:${id}`;
    },
    bar(symbol, interval, barStart) {
      assertKeyId('symbol', symbol);
      assertKeyName('interval', interval);
      if (!Number.isSafeInteger(barStart)) {
        throw new ValidationError(`bar start must be an integer ms, got ${barStart}`);
      }
      const tag = `{${prefix}:bars:${symbol}}`;
      const bar = `${tag}:${interval}:${barStart}`;
      return { tag, bar, appliedTrades: `${bar}:trades` };
    },
    jobControl(job) {
      assertKeyName('job', job);
      return `${prefix}:control:job:${job}`;
    },
    controlVersion: `${prefix}:control:version`,
    audit: `${prefix}:audit`,
    jobAudit: `${prefix}:audit:jobs`,
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
        timerTombstoneExpiry: `${tag}:timers:tombstone-expiry`,
      };
    },
  };
}

function groupKey(tag: string, kind: string, group: string): string {
  assertKeyName('group', group);
  return `${tag}:${kind}:${group}`;
}
