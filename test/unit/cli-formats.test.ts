// Pure parts of the operator CLI: time bounds (ISO, epoch ms, stream ids, ages), stream id arithmetic, DLQ
// export rows (CSV quoting, formula cells), re-emitted fields of a requeue, and the exit code of each error kind.
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ConfigError, ValidationError, WorkersError } from '../../src/errors.js';
import { exitCodeOf } from '../../src/ops/cli/exit-codes.js';
import { formatAge } from '../../src/ops/cli/output.js';
import {
  checkTimeRange,
  compareStreamIds,
  parseTimeSpec,
  rangeEndId,
  rangeStartId,
  streamIdBefore,
} from '../../src/ops/control/time-range.js';
import type { DeadLetterRecord } from '../../src/ops/dlq/dead-letters.js';
import { deadLetterCsvHeader, deadLetterCsvRow, deadLetterJsonLine } from '../../src/ops/dlq/export.js';
import { requeueFields } from '../../src/ops/dlq/requeue.js';

const NOW = Date.parse('2026-05-01T12:00:00.000Z');

function record(overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  const envelope = {
    id: '01J0000000000000000000000A',
    type: 'bet.opened',
    key: 'b1',
    data: '{"betId":"b1"}',
  };
  return {
    id: 'playhub:1:1714564800000-0',
    domain: 'playhub',
    partition: 1,
    dlqEntryId: '1714564800000-0',
    failedAt: '2024-05-01T12:00:00.000Z',
    group: 'cfb.settle',
    reason: 'rejected',
    error: 'bet "b1" rejected,\nsee log',
    fingerprint: 'abcdef012345',
    failures: 3,
    deliveries: 4,
    sourceStream: '{tg:playhub:1}:events',
    sourceEntryId: '1714564700000-0',
    type: 'bet.opened',
    eventId: envelope.id,
    key: 'b1',
    envelope,
    fields: {},
    ...overrides,
  };
}

describe('time bounds', () => {
  it('reads ISO times, epoch ms, stream ids, ages and now', () => {
    expect(parseTimeSpec('2026-05-01T10:00:00Z', NOW)).toEqual({ ms: NOW - 7_200_000 });
    expect(parseTimeSpec('2026-05-01T10:00:00', NOW)).toEqual({ ms: NOW - 7_200_000 }); // no zone = UTC
    expect(parseTimeSpec('2026-05-01', NOW)).toEqual({ ms: NOW - 43_200_000 });
    expect(parseTimeSpec('2026-05-01T14:00:00+02:00', NOW)).toEqual({ ms: NOW });
    expect(parseTimeSpec('1714564800000', NOW)).toEqual({ ms: 1_714_564_800_000 });
    expect(parseTimeSpec('1714564800000-7', NOW)).toEqual({ ms: 1_714_564_800_000, id: '1714564800000-7' });
    expect(parseTimeSpec('90s', NOW)).toEqual({ ms: NOW - 90_000 });
    expect(parseTimeSpec('2h', NOW)).toEqual({ ms: NOW - 7_200_000 });
    expect(parseTimeSpec('1.5d', NOW)).toEqual({ ms: NOW - 129_600_000 });
    expect(parseTimeSpec('now', NOW)).toEqual({ ms: NOW });
    expect(() => parseTimeSpec('yesterday', NOW, '--from')).toThrow(ValidationError);
    expect(() => parseTimeSpec('2026-13-45', NOW)).toThrow(/--from|time/);
  });

  it('turns bounds into XRANGE ids, orders ids numerically and finds the id before one', () => {
    expect(rangeStartId(undefined)).toBe('-');
    expect(rangeEndId(undefined)).toBe('+');
    expect(rangeStartId({ ms: 5 })).toBe('5-0');
    expect(rangeEndId({ ms: 5 })).toBe('5-18446744073709551615');
    expect(rangeEndId({ ms: 5, id: '5-3' })).toBe('5-3');
    expect(streamIdBefore('5-3')).toBe('5-2');
    expect(streamIdBefore('5-0')).toBe('4-18446744073709551615');
    expect(streamIdBefore('0-0')).toBe('0-0');
    expect(compareStreamIds('10-0', '9-99')).toBe(1);
    expect(compareStreamIds('9-10', '9-9')).toBe(1);
    expect(compareStreamIds('9-9', '9-9')).toBe(0);
    expect(() => checkTimeRange({ ms: 10 }, { ms: 9 })).toThrow(ValidationError);
    expect(() => checkTimeRange({ ms: 10 }, { ms: 10 })).not.toThrow();
  });
});

describe('DLQ export and requeue', () => {
  it('writes CSV per RFC 4180 and neutralises formula cells; JSON Lines carry the parsed data', () => {
    expect(deadLetterCsvHeader()).toMatch(/^id,failedAt,domain,.*,envelope\r\n$/);
    const row = deadLetterCsvRow(record({ reason: '=HYPERLINK("x")' }));
    expect(row).toContain('"bet ""b1"" rejected,\nsee log"');
    expect(row).toContain(`"'=HYPERLINK(""x"")"`);
    expect(row.endsWith('\r\n')).toBe(true);
    const line = JSON.parse(deadLetterJsonLine(record())) as Record<string, unknown>;
    expect(line).toMatchObject({ id: 'playhub:1:1714564800000-0', data: { betId: 'b1' }, failures: 3 });
    expect(line['fields']).toBeUndefined();
  });

  it('re-emits the original fields aimed at the failed group, and refuses letters without an event', () => {
    const fields = requeueFields(
      record({ envelope: { id: 'e', type: 't.x', targetGroup: 'other', data: '{}' } }),
    );
    expect(fields).toEqual(['id', 'e', 'type', 't.x', 'data', '{}', 'targetGroup', 'cfb.settle']);
    expect(requeueFields(record({ envelope: undefined }))).toBeUndefined();
    expect(requeueFields(record({ group: '' }))).toBeUndefined();
  });
});

describe('CLI exit codes and formats', () => {
  it('maps usage and config errors to 2 and other failures to 1', () => {
    expect(exitCodeOf(new CommanderError(1, 'commander.unknownOption', 'x'))).toBe(2);
    expect(exitCodeOf(new CommanderError(0, 'commander.helpDisplayed', 'x'))).toBe(0);
    expect(exitCodeOf(new ValidationError('x'))).toBe(2);
    expect(exitCodeOf(new ConfigError('x'))).toBe(2);
    expect(exitCodeOf(new WorkersError('REDIS_UNAVAILABLE', 'x'))).toBe(1);
    expect(exitCodeOf(new Error('x'))).toBe(1);
  });

  it('formats ages compactly', () => {
    expect([0, 850, 12_000, 185_000, 7_800_000, 273_600_000].map(formatAge)).toEqual([
      '-',
      '850ms',
      '12s',
      '3m05s',
      '2h10m',
      '3d04h',
    ]);
  });
});
