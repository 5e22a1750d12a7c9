// Reading the DLQ for triage: dead letters of every partition as records, filtered (job, type, reason, error
// fingerprint, time range) and merged across partitions in failure-time order, paged so a big DLQ is never loaded.
import { ValidationError } from '../../errors.js';
import type { KeyBuilder, PartitionKeys } from '../../streams/keys.js';
import type { RedisClient } from '../../streams/scripts.js';
import { fieldsToObject } from '../../streams/dlq-entry.js';
import { compareStreamIds, rangeEndId, rangeStartId } from '../control/time-range.js';
import type { TimeBound } from '../control/time-range.js';

/** One dead letter, as operators see it. */
export interface DeadLetterRecord {
  /** `<domain>:<partition>:<DLQ entry id>`: what `dlq show|requeue|drop` take. */
  readonly id: string;
  readonly domain: string;
  readonly partition: number;
  readonly dlqEntryId: string;
  /** ISO time of the failure (the DLQ entry's Redis time when the field is missing). */
  readonly failedAt: string;
  /** The group (job) that gave up; '' for entries the timer mover dead-lettered (unreadable timer payloads). */
  readonly group: string;
  readonly reason: string;
  readonly error: string;
  readonly fingerprint: string;
  readonly failures: number;
  readonly deliveries: number;
  readonly sourceStream: string;
  readonly sourceEntryId: string;
  readonly type: string | undefined;
  readonly eventId: string | undefined;
  readonly key: string | undefined;
  /** The original entry's fields; undefined when the DLQ entry has none (an unreadable timer payload). */
  readonly envelope: Readonly<Record<string, string>> | undefined;
  /** Every field of the DLQ entry as written (timer ids, payloads and future fields included). */
  readonly fields: Readonly<Record<string, string>>;
}

export interface DeadLetterFilter {
  readonly domain?: string;
  /** Exact group (job) name. */
  readonly job?: string;
  /** Exact event type. */
  readonly type?: string;
  /** Case-insensitive substring of the reason. */
  readonly reason?: string;
  /** Error fingerprint, or a prefix of at least 4 characters. */
  readonly fingerprint?: string;
  /** Failure time bounds (the DLQ entry ids' time), inclusive. */
  readonly from?: TimeBound;
  readonly to?: TimeBound;
}

/** A domain and its partition count, as discoverStreams returns them. */
export interface DomainPartitions {
  readonly domain: string;
  readonly partitions: number;
}

export interface DeadLetterDeps {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
}

const PAGE = 500;
const RECORD_ID = /^([A-Za-z0-9_.-]{1,64}):(\d{1,4}):(\d{1,16}-\d{1,20})$/;

/** Parses `<domain>:<partition>:<entry id>`; throws ValidationError. */
export function parseDeadLetterId(id: string): { domain: string; partition: number; dlqEntryId: string } {
  const match = RECORD_ID.exec(id);
  if (!match) {
    throw new ValidationError(`"${id}" is not a dead-letter id (expected <domain>:<partition>:<entry id>)`, [
      { path: 'id', message: 'invalid dead-letter id' },
    ]);
  }
  return { domain: match[1] ?? '', partition: Number(match[2]), dlqEntryId: match[3] ?? '' };
}

/** Builds a record from a DLQ entry. */
export function deadLetterRecord(
  partition: PartitionKeys,
  entryId: string,
  raw: readonly string[],
): DeadLetterRecord {
  const fields = fieldsToObject(raw);
  const envelope = parseEnvelopeField(fields['envelope']);
  const failedAt = fields['failedAt'] ?? new Date(Number(entryId.split('-')[0])).toISOString();
  return {
    id: `${partition.domain}:${partition.index}:${entryId}`,
    domain: partition.domain,
    partition: partition.index,
    dlqEntryId: entryId,
    failedAt,
    group: fields['group'] ?? '',
    reason: fields['reason'] ?? '',
    error: fields['error'] ?? '',
    fingerprint: fields['fingerprint'] ?? '',
    failures: count(fields['failures']),
    deliveries: count(fields['deliveries']),
    sourceStream: fields['sourceStream'] ?? partition.stream,
    sourceEntryId: fields['sourceEntryId'] ?? '',
    type: envelope?.['type'],
    eventId: envelope?.['id'],
    key: envelope?.['key'],
    envelope,
    fields,
  };
}

/** True when the record passes every filter given (the time range is applied by the scan itself). */
export function matchesDeadLetter(record: DeadLetterRecord, filter: DeadLetterFilter): boolean {
  if (filter.job !== undefined && record.group !== filter.job) return false;
  if (filter.type !== undefined && record.type !== filter.type) return false;
  if (filter.reason !== undefined && !record.reason.toLowerCase().includes(filter.reason.toLowerCase()))
    return false;
  if (filter.fingerprint !== undefined && !record.fingerprint.startsWith(filter.fingerprint)) return false;
  return true;
}

/** Checks a filter before any I/O. */
export function checkDeadLetterFilter(filter: DeadLetterFilter): void {
  if (filter.fingerprint !== undefined && !/^[0-9a-f]{4,40}$/.test(filter.fingerprint)) {
    throw new ValidationError(
      `fingerprint "${filter.fingerprint}" must be 4-40 lower-case hex characters (a fingerprint or its prefix)`,
      [{ path: 'fingerprint', message: 'invalid fingerprint' }],
    );
  }
}

/**
 * Yields the matching dead letters of the given domains in failure-time order (a k-way merge of per-partition
 * pages of XRANGE), reading only as far as the caller consumes.
 */
export async function* scanDeadLetters(
  deps: DeadLetterDeps,
  domains: readonly DomainPartitions[],
  filter: DeadLetterFilter = {},
): AsyncGenerator<DeadLetterRecord> {
  checkDeadLetterFilter(filter);
  const cursors = domains
    .filter((d) => filter.domain === undefined || d.domain === filter.domain)
    .flatMap((d) =>
      Array.from({ length: d.partitions }, (_, index) =>
        partitionCursor(deps.redis, deps.keys.partition(d.domain, index), filter),
      ),
    );
  const heads = await Promise.all(cursors.map((cursor) => cursor.next()));
  for (;;) {
    let best = -1;
    heads.forEach((head, i) => {
      if (head.done) return;
      const current = heads[best];
      if (
        best < 0 ||
        (current && !current.done && compareStreamIds(head.value.dlqEntryId, current.value.dlqEntryId) < 0)
      )
        best = i;
    });
    const head = heads[best];
    const cursor = cursors[best];
    if (best < 0 || head === undefined || head.done || cursor === undefined) return;
    yield head.value;
    heads[best] = await cursor.next();
  }
}

/** Collects up to `limit` matching records (all when limit is undefined). */
export async function listDeadLetters(
  deps: DeadLetterDeps,
  domains: readonly DomainPartitions[],
  filter: DeadLetterFilter = {},
  limit?: number,
): Promise<DeadLetterRecord[]> {
  const records: DeadLetterRecord[] = [];
  if (limit !== undefined && limit < 1) return records;
  for await (const record of scanDeadLetters(deps, domains, filter)) {
    records.push(record);
    if (limit !== undefined && records.length >= limit) break;
  }
  return records;
}

/** One dead letter by id; undefined when it is not (or no longer) in its DLQ. */
export async function getDeadLetter(deps: DeadLetterDeps, id: string): Promise<DeadLetterRecord | undefined> {
  const { domain, partition, dlqEntryId } = parseDeadLetterId(id);
  const keys = deps.keys.partition(domain, partition);
  const entries = (await deps.redis.xrange(keys.dlq, dlqEntryId, dlqEntryId)) as [string, string[]][];
  const entry = entries[0];
  return entry === undefined ? undefined : deadLetterRecord(keys, entry[0], entry[1]);
}

/** Pages through one partition's DLQ, yielding the records that pass the filter. */
async function* partitionCursor(
  redis: RedisClient,
  partition: PartitionKeys,
  filter: DeadLetterFilter,
): AsyncGenerator<DeadLetterRecord> {
  let start = rangeStartId(filter.from);
  const end = rangeEndId(filter.to);
  for (;;) {
    const page = (await redis.xrange(partition.dlq, start, end, 'COUNT', PAGE)) as [string, string[]][];
    for (const [entryId, raw] of page) {
      const record = deadLetterRecord(partition, entryId, raw);
      if (matchesDeadLetter(record, filter)) yield record;
    }
    const last = page[page.length - 1];
    if (page.length < PAGE || last === undefined) return;
    start = `(${last[0]}`;
  }
}

function parseEnvelopeField(raw: string | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed)) if (typeof value === 'string') out[name] = value;
    return out;
  } catch {
    return undefined;
  }
}

function count(raw: string | undefined): number {
  const n = Number(raw);
  return Number.isFinite(n) ? n : 0;
}
