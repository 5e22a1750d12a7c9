// The DLQ entry format: the original entry's fields as JSON plus why it failed, and an error fingerprint
// (stable across ids and numbers in the message) so operators can triage failures in groups.
import { createHash } from 'node:crypto';
import type { Delivery } from './delivery.js';

export interface DeadLetter {
  readonly group: string;
  readonly reason: string;
  readonly error: string;
  readonly failures: number;
  readonly deliveries: number;
  readonly failedAt: number;
}

const MAX_ERROR_CHARS = 2000;

/** Groups errors that differ only by ids, numbers or quoted values. */
export function errorFingerprint(group: string, reason: string, error: string): string {
  const shape = error
    .replace(/"[^"]*"|'[^']*'/g, '"…"')
    // event ids: ULIDs (Crockford base32) and UUIDs, which the hex rule below only partly covers
    .replace(/\b[0-9A-HJKMNP-TV-Z]{26}\b|\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b/gi, '#')
    .replace(/[0-9a-f]{8,}|\d+/gi, '#')
    .slice(0, 300);
  return createHash('sha1').update(`${group}\n${reason}\n${shape}`).digest('hex').slice(0, 12);
}

export function fieldsToObject(fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
  return out;
}

/** Field/value list of the DLQ stream entry. */
export function deadLetterFields(delivery: Delivery, letter: DeadLetter): string[] {
  const error = letter.error.slice(0, MAX_ERROR_CHARS);
  return [
    'group', letter.group,
    'reason', letter.reason,
    'error', error,
    'failures', String(letter.failures),
    'deliveries', String(letter.deliveries),
    'fingerprint', errorFingerprint(letter.group, letter.reason, error),
    'sourceStream', delivery.partition.stream,
    'sourceEntryId', delivery.entryId,
    'failedAt', new Date(letter.failedAt).toISOString(),
    'envelope', JSON.stringify(fieldsToObject(delivery.fields)),
  ]; // prettier-ignore
}
