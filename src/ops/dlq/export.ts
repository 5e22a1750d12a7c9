// DLQ export formats: JSON Lines (one record per line, every field) and CSV (RFC 4180, a fixed column set with
// the original envelope as one JSON column), for triage in other tools.
import type { DeadLetterRecord } from './dead-letters.js';

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const DEAD_LETTER_CSV_COLUMNS = [
  'id',
  'failedAt',
  'domain',
  'partition',
  'group',
  'type',
  'eventId',
  'key',
  'reason',
  'fingerprint',
  'failures',
  'deliveries',
  'error',
  'sourceStream',
  'sourceEntryId',
  'envelope',
] as const;

/** The record as exported: `data` of the envelope parsed when it is JSON, `fields` left out (they are in it). */
export function exportedDeadLetter(record: DeadLetterRecord): Record<string, unknown> {
  const { fields, ...rest } = record;
  return { ...rest, timerId: fields['timerId'], data: deadLetterData(record) };
}

export function deadLetterJsonLine(record: DeadLetterRecord): string {
  return `${JSON.stringify(exportedDeadLetter(record))}\n`;
}

export function deadLetterCsvHeader(): string {
  return `${DEAD_LETTER_CSV_COLUMNS.join(',')}\r\n`;
}

export function deadLetterCsvRow(record: DeadLetterRecord): string {
  const cells = DEAD_LETTER_CSV_COLUMNS.map((column) => {
    if (column === 'envelope') return record.envelope === undefined ? '' : JSON.stringify(record.envelope);
    const value = record[column];
    return value === undefined ? '' : String(value);
  });
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** Writes every record in the format; `write` may return a promise (back-pressure); returns the count. */
export async function exportDeadLetters(
  records: AsyncIterable<DeadLetterRecord> | Iterable<DeadLetterRecord>,
  format: ExportFormat,
  write: (chunk: string) => void | Promise<void>,
  onRecord?: (count: number) => void,
): Promise<number> {
  let count = 0;
  if (format === 'csv') await write(deadLetterCsvHeader());
  for await (const record of records) {
    await write(format === 'csv' ? deadLetterCsvRow(record) : deadLetterJsonLine(record));
    count += 1;
    onRecord?.(count);
  }
  return count;
}

/** The envelope's `data` parsed, or its raw text when it is not JSON. */
export function deadLetterData(record: DeadLetterRecord): unknown {
  const raw = record.envelope?.['data'];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function csvCell(value: string): string {
  // spreadsheet formula injection: a cell starting with = + - @ is prefixed so it is read as text
  const safe = /^[=+\-@\t\r]/.test(value) && !/^-?\d/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
