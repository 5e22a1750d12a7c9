// DLQ triage for the dashboard: dead letters grouped by error fingerprint (count, jobs, types, first/last failure,
// a sample error) over a bounded scan, and the selection of one group's records for bulk requeue, drop or export.
import type { DeadLetterDeps, DeadLetterRecord, DomainPartitions } from '../dlq/dead-letters.js';
import { scanDeadLetters } from '../dlq/dead-letters.js';

export interface FingerprintGroup {
  /** '' for dead letters without one (unreadable timer payloads). */
  readonly fingerprint: string;
  readonly count: number;
  readonly jobs: readonly string[];
  readonly domains: readonly string[];
  readonly types: readonly string[];
  /** Reason and error of the newest dead letter of the group. */
  readonly reason: string;
  readonly error: string;
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
  /** Ids of up to 5 of its dead letters (`<domain>:<partition>:<entry id>`). */
  readonly sampleIds: readonly string[];
}

export interface DlqTriage {
  readonly groups: readonly FingerprintGroup[];
  readonly scanned: number;
  /** True when the scan stopped at its limit: counts are then of the first `scanned` dead letters. */
  readonly truncated: boolean;
}

/** What a bulk action applies to: one fingerprint group (optionally of one job or domain), or explicit ids. */
export interface DeadLetterSelection {
  readonly fingerprint?: string;
  readonly job?: string;
  readonly domain?: string;
}

export const DEFAULT_TRIAGE_SCAN_LIMIT = 5000;

/** Groups the dead letters (oldest first, at most `scanLimit`) by fingerprint, biggest group first. */
export async function triageDeadLetters(
  deps: DeadLetterDeps,
  domains: readonly DomainPartitions[],
  filter: { readonly job?: string; readonly domain?: string } = {},
  scanLimit = DEFAULT_TRIAGE_SCAN_LIMIT,
): Promise<DlqTriage> {
  const groups = new Map<
    string,
    {
      count: number;
      jobs: Set<string>;
      domains: Set<string>;
      types: Set<string>;
      newest: DeadLetterRecord;
      first: string;
      samples: string[];
    }
  >();
  let scanned = 0;
  let truncated = false;
  for await (const record of scanDeadLetters(deps, domains, scanFilter(filter))) {
    if (scanned >= scanLimit) {
      truncated = true;
      break;
    }
    scanned += 1;
    const group = groups.get(record.fingerprint);
    if (group === undefined) {
      groups.set(record.fingerprint, {
        count: 1,
        jobs: new Set([record.group]),
        domains: new Set([record.domain]),
        types: new Set(record.type === undefined ? [] : [record.type]),
        newest: record,
        first: record.failedAt,
        samples: [record.id],
      });
      continue;
    }
    group.count += 1;
    group.jobs.add(record.group);
    group.domains.add(record.domain);
    if (record.type !== undefined) group.types.add(record.type);
    group.newest = record;
    if (group.samples.length < 5) group.samples.push(record.id);
  }
  return {
    groups: [...groups]
      .map(([fingerprint, g]) => ({
        fingerprint,
        count: g.count,
        jobs: [...g.jobs].sort(),
        domains: [...g.domains].sort(),
        types: [...g.types].sort(),
        reason: g.newest.reason,
        error: g.newest.error,
        firstFailedAt: g.first,
        lastFailedAt: g.newest.failedAt,
        sampleIds: g.samples,
      }))
      .sort((a, b) => b.count - a.count || a.fingerprint.localeCompare(b.fingerprint)),
    scanned,
    truncated,
  };
}

/** The dead letters of the selection (exact fingerprint, '' included), oldest first, read as consumed. */
export async function* selectedDeadLetters(
  deps: DeadLetterDeps,
  domains: readonly DomainPartitions[],
  selection: DeadLetterSelection,
): AsyncGenerator<DeadLetterRecord> {
  for await (const record of scanDeadLetters(deps, domains, scanFilter(selection))) {
    if (selection.fingerprint === undefined || record.fingerprint === selection.fingerprint) yield record;
  }
}

/** Up to `limit` dead letters of the selection; `limited` when more matched. */
export async function selectDeadLetters(
  deps: DeadLetterDeps,
  domains: readonly DomainPartitions[],
  selection: DeadLetterSelection,
  limit: number,
): Promise<{ records: DeadLetterRecord[]; limited: boolean }> {
  const records: DeadLetterRecord[] = [];
  for await (const record of selectedDeadLetters(deps, domains, selection)) {
    if (records.length >= limit) return { records, limited: true };
    records.push(record);
  }
  return { records, limited: false };
}

/** The scan's own filter: job and domain (the fingerprint is matched exactly by the callers). */
function scanFilter(filter: { readonly job?: string; readonly domain?: string }): {
  job?: string;
  domain?: string;
} {
  return {
    ...(filter.job === undefined ? {} : { job: filter.job }),
    ...(filter.domain === undefined ? {} : { domain: filter.domain }),
  };
}
