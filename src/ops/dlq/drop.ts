// DLQ drop: deletes dead letters an operator has triaged (XDEL from their partition DLQ), one batch per partition.
import type { KeyBuilder } from '../../streams/keys.js';
import type { RedisClient } from '../../streams/scripts.js';
import { parseDeadLetterId } from './dead-letters.js';

export interface DropResult {
  /** Dead letters deleted. */
  readonly dropped: number;
  /** Ids that were no longer in their DLQ. */
  readonly missing: number;
}

const BATCH = 500;

/** Deletes the dead letters with these ids (`<domain>:<partition>:<entry id>`). */
export async function dropDeadLetters(
  redis: RedisClient,
  keys: KeyBuilder,
  ids: readonly string[],
  onProgress?: (done: number, total: number) => void,
): Promise<DropResult> {
  const byDlq = new Map<string, string[]>();
  for (const id of ids) {
    const { domain, partition, dlqEntryId } = parseDeadLetterId(id);
    const dlq = keys.partition(domain, partition).dlq;
    byDlq.set(dlq, [...(byDlq.get(dlq) ?? []), dlqEntryId]);
  }
  const unique = [...byDlq.values()].reduce((n, entries) => n + new Set(entries).size, 0);
  let dropped = 0;
  let done = 0;
  for (const [dlq, entryIds] of byDlq) {
    const distinct = [...new Set(entryIds)];
    for (let start = 0; start < distinct.length; start += BATCH) {
      const batch = distinct.slice(start, start + BATCH);
      dropped += await redis.xdel(dlq, ...batch);
      done += batch.length;
      onProgress?.(done, unique);
    }
  }
  return { dropped, missing: unique - dropped };
}
