// DLQ requeue: a dead letter goes back into its partition stream as a re-emission aimed at the group that gave up
// (targetGroup), so only that job handles it again, with a fresh failure count; removed from the DLQ atomically.
import { ScriptError } from '../../errors.js';
import type { KeyBuilder } from '../../streams/keys.js';
import { runScript } from '../../streams/scripts.js';
import type { RedisClient } from '../../streams/scripts.js';
import type { DeadLetterRecord } from './dead-letters.js';

export interface RequeueResult {
  readonly id: string;
  /**
   * `requeued`: in the stream again (entryId); `missing`: no longer in the DLQ (requeued or dropped meanwhile);
   * `unrequeueable`: the dead letter holds no event or names no group (an unreadable timer payload).
   */
  readonly status: 'requeued' | 'missing' | 'unrequeueable';
  readonly entryId?: string;
  readonly stream?: string;
}

/** The fields re-emitted for a dead letter: the original fields in their order, targetGroup = the failed group. */
export function requeueFields(record: DeadLetterRecord): string[] | undefined {
  if (record.envelope === undefined || record.group === '') return undefined;
  const fields: string[] = [];
  for (const [name, value] of Object.entries(record.envelope)) {
    if (name !== 'targetGroup') fields.push(name, value);
  }
  fields.push('targetGroup', record.group);
  return fields;
}

/** Requeues one dead letter (one single-slot script: XADD to the stream, then XDEL from the DLQ). */
export async function requeueDeadLetter(
  redis: RedisClient,
  keys: KeyBuilder,
  record: DeadLetterRecord,
): Promise<RequeueResult> {
  const fields = requeueFields(record);
  if (fields === undefined) return { id: record.id, status: 'unrequeueable' };
  const partition = keys.partition(record.domain, record.partition);
  const reply = await runScript(
    redis,
    'dlqRequeue',
    [partition.stream, partition.dlq],
    [record.dlqEntryId, ...fields],
  );
  if (typeof reply !== 'string') throw new ScriptError('dlqRequeue', 0, `unexpected reply ${String(reply)}`);
  if (reply === '') return { id: record.id, status: 'missing' };
  return { id: record.id, status: 'requeued', entryId: reply, stream: partition.stream };
}

/** Requeues records one by one (each atomic), reporting progress; results in input order. */
export async function requeueDeadLetters(
  redis: RedisClient,
  keys: KeyBuilder,
  records: readonly DeadLetterRecord[],
  onProgress?: (done: number, total: number) => void,
): Promise<RequeueResult[]> {
  const results: RequeueResult[] = [];
  for (const record of records) {
    results.push(await requeueDeadLetter(redis, keys, record));
    onProgress?.(results.length, records.length);
  }
  return results;
}
