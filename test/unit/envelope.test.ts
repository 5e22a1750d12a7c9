// Unit tests of the envelope schema and the public wire format: valid/invalid fields, round trip, decode errors.
import fc from 'fast-check';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { envelopeSchema, minorUnits, parseEnvelope } from '../../src/events/envelope.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { decodeEntry, encodeEvent, eventByteSize, readEntryHeader } from '../../src/events/wire.js';

const valid: EventEnvelope = {
  id: '01JDQ8Z5X3V7W9Y2K4M6N8P0RT',
  type: 'bet.opened',
  key: 'bet-42',
  occurredAt: '2026-11-23T15:00:00.000Z',
  source: 'playhub',
  schemaVersion: 1,
  data: { betId: 'bet-42', stake: '1250', tags: ['a', 'b'], nested: { ok: true, none: null } },
};

function withField(field: string, value: unknown): Record<string, unknown> {
  return { ...valid, [field]: value };
}

function errorOf(action: () => unknown): ValidationError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

describe('envelopeSchema', () => {
  it('accepts a full envelope with ULID or UUIDv7 ids and the optional fields', () => {
    expect(envelopeSchema.safeParse(valid).success).toBe(true);
    expect(envelopeSchema.safeParse(withField('id', ulid())).success).toBe(true);
    const full = {
      ...valid,
      id: '0190f1c2-7d3e-7a00-8b00-0123456789ab',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      targetGroup: 'cfb.settle',
    };
    expect(parseEnvelope(full)).toEqual(full);
  });

  it.each([
    ['id', 'not-an-id'],
    ['id', '01jdq8z5x3v7w9y2k4m6n8p0rt'], // ULID must be canonical upper case
    ['id', '81JDQ8Z5X3V7W9Y2K4M6N8P0RT'], // first char > 7 overflows 48-bit time
    ['id', '01JDQ8Z5X3V7W9Y2K4M6N8P0RI'], // I is not Crockford base32
    ['id', '01JDQ8Z5X3V7W9Y2K4M6N8P0R'], // 25 chars
    ['id', '0190f1c2-7d3e-4a00-8b00-0123456789ab'], // UUIDv4
    ['id', '0190f1c2-7d3e-7a00-cb00-0123456789ab'], // wrong variant
    ['id', '0190F1C2-7D3E-7A00-8B00-0123456789AB'], // UUID must be canonical lower case
    ['type', 'opened'],
    ['type', 'Bet.opened'],
    ['type', 'bet..opened'],
    ['type', 'bet.opened.'],
    ['type', 'bet-x.opened'],
    ['type', `a.${'b'.repeat(99)}`],
    ['key', ''],
    ['key', 'bet\n42'],
    ['key', 'bet\u007f42'],
    ['key', 'bet\u008542'],
    ['key', 'bet\ud80042'], // lone surrogate
    ['key', 'k'.repeat(257)],
    ['occurredAt', '2026-11-23T15:00:00.000+01:00'],
    ['occurredAt', '2026-11-23T15:00:00.000'],
    ['occurredAt', '2026-11-23 15:00:00Z'],
    ['occurredAt', '2026-02-30T15:00:00Z'],
    ['occurredAt', '2026-11-23T24:00:00Z'],
    ['occurredAt', '2026-11-23T15:60:00Z'],
    ['occurredAt', '2026-11-23T15:00:60Z'],
    ['occurredAt', '2026-11-23T15:00:00.0000000000Z'],
    ['occurredAt', 1_795_000_000_000],
    ['source', ''],
    ['source', 'play hub'],
    ['source', 's'.repeat(65)],
    ['schemaVersion', 0],
    ['schemaVersion', 1.5],
    ['schemaVersion', '1'],
    ['data', undefined],
    ['traceparent', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['traceparent', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['traceparent', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7'],
    ['targetGroup', ''],
    ['targetGroup', 'a:b'],
    ['targetGroup', '{tg}'],
  ])('rejects %s = %j', (field, value) => {
    const error = errorOf(() => parseEnvelope(withField(field, value)));
    expect(error.issues.map((issue) => issue.path)).toEqual([field]);
  });

  it.each([
    ['key', 'k'.repeat(256)],
    ['key', '🎲'.repeat(256)], // 256 characters, 512 UTF-16 units
    ['key', 'bet-ü-€ with spaces'],
    ['type', `a.${'b'.repeat(98)}`],
    ['type', 'escrow.expiry.due_2'],
    ['occurredAt', '2028-02-29T23:59:59Z'],
    ['occurredAt', '2026-11-23T15:00:00.123456789Z'],
    ['source', 'price-feed_v2.eu'],
    ['data', null],
  ])('accepts %s = %j', (field, value) => {
    expect(envelopeSchema.safeParse(withField(field, value)).success).toBe(true);
  });

  it('rejects unknown and missing fields', () => {
    expect(errorOf(() => parseEnvelope({ ...valid, extra: 1 })).issues[0]?.message).toMatch(/extra/);
    const withoutSource: Record<string, unknown> = { ...valid };
    delete withoutSource['source'];
    expect(errorOf(() => parseEnvelope(withoutSource)).issues.map((issue) => issue.path)).toEqual(['source']);
  });

  it('minorUnits accepts integer strings only', () => {
    expect(minorUnits.safeParse('-1250').success).toBe(true);
    expect(minorUnits.safeParse('0').success).toBe(true);
    for (const bad of ['12.50', '1e3', '', ' 1', 1250]) expect(minorUnits.safeParse(bad).success).toBe(false);
  });
});

describe('wire format', () => {
  it('encodes the documented fields in their fixed order', () => {
    const traced = {
      ...valid,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      targetGroup: 'cfb.settle',
      repetition: 3,
    };
    expect(encodeEvent(traced)).toEqual([
      'id',
      valid.id,
      'type',
      'bet.opened',
      'key',
      'bet-42',
      'occurredAt',
      '2026-11-23T15:00:00.000Z',
      'source',
      'playhub',
      'v',
      '1',
      'data',
      JSON.stringify(valid.data),
      'traceparent',
      traced.traceparent,
      'targetGroup',
      'cfb.settle',
      'repetition',
      '3',
    ]);
    expect(encodeEvent(valid)).toHaveLength(14);
  });

  it('round-trips through decodeEntry, in any field order', () => {
    expect(decodeEntry(encodeEvent(valid))).toEqual(valid);
    const fields = encodeEvent({ ...valid, targetGroup: 'g1' });
    const pairs = Array.from({ length: fields.length / 2 }, (_, i) =>
      fields.slice(2 * i, 2 * i + 2),
    ).reverse();
    expect(decodeEntry(pairs.flat())).toEqual({ ...valid, targetGroup: 'g1' });
    expect(decodeEntry(encodeEvent({ ...valid, repetition: 12 }))).toEqual({ ...valid, repetition: 12 });
  });

  it('refuses a repetition that is not a positive decimal count', () => {
    const base = encodeEvent(valid);
    for (const bad of ['0', '-1', '1.5', '01', 'two', '']) {
      const error = errorOf(() => decodeEntry([...base, 'repetition', bad]));
      expect(error.issues.map((issue) => issue.path)).toContain('repetition');
    }
  });

  it('refuses data without a JSON form', () => {
    expect(errorOf(() => encodeEvent({ ...valid, data: 10n })).issues[0]?.path).toBe('data');
    expect(errorOf(() => encodeEvent({ ...valid, data: () => 1 })).message).toMatch(/no JSON form/);
  });

  const encoded = encodeEvent(valid);
  it.each([
    ['an odd number of strings', [...encoded, 'x'], /odd number/],
    ['a missing field', encoded.slice(2), /id: missing field/],
    ['a duplicate field', [...encoded, 'key', 'other'], /key: duplicate field/],
    ['an unknown field', [...encoded, 'amount', '1'], /unknown field "amount"/],
    ['non-JSON data', encoded.map((text, i) => (i === 13 ? '{not json' : text)), /data: expected JSON text/],
    [
      'a signed version',
      encoded.map((text, i) => (i === 11 ? '+1' : text)),
      /v: expected a positive decimal/,
    ],
    ['a zero version', encoded.map((text, i) => (i === 11 ? '0' : text)), /v: /],
    ['an unsafe version', encoded.map((text, i) => (i === 11 ? '9999999999999999' : text)), /v: /],
    [
      'an invalid envelope field',
      encoded.map((text, i) => (i === 5 ? '' : text)),
      /key: expected a non-empty/,
    ],
    ['an empty entry', [], /missing field/],
  ])('decodeEntry rejects %s with a ValidationError', (_name, fields, message) => {
    expect(errorOf(() => decodeEntry(fields)).message).toMatch(message);
  });

  it('readEntryHeader finds id, type and targetGroup without parsing', () => {
    expect(readEntryHeader(encodeEvent(valid))).toEqual({ id: valid.id, type: 'bet.opened' });
    expect(readEntryHeader(encodeEvent({ ...valid, targetGroup: 'g1' }))).toEqual({
      id: valid.id,
      type: 'bet.opened',
      targetGroup: 'g1',
    });
    expect(readEntryHeader(['data', '{not json', 'type', 'x.y', 'dangling'])).toEqual({ type: 'x.y' });
  });

  it('eventByteSize counts UTF-8 bytes of names and values', () => {
    expect(eventByteSize(['key', 'ü€🎲'])).toBe(3 + 2 + 3 + 4);
    const fields = encodeEvent(valid);
    expect(eventByteSize(fields)).toBe(Buffer.byteLength(fields.join(''), 'utf8'));
  });
});

describe('decodeEntry never throws anything but ValidationError', () => {
  function decodesOrRejects(fields: readonly string[]): boolean {
    try {
      const envelope = decodeEntry(fields);
      // Whatever it accepts must itself be a valid envelope that encodes back to an equivalent entry.
      return envelopeSchema.safeParse(envelope).success && decodeEntry(encodeEvent(envelope)) !== undefined;
    } catch (error) {
      return error instanceof ValidationError;
    }
  }

  const fieldName = fc.oneof(
    fc.constantFrom('id', 'type', 'key', 'occurredAt', 'source', 'v', 'data', 'traceparent', 'targetGroup'),
    fc.string(),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'),
  );

  it('on any array of strings', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fieldName, fc.string({ unit: 'binary' }))), decodesOrRejects), {
      numRuns: 1000,
    });
  });

  it('on mutated valid encodings', () => {
    const jsonText = fc.json();
    const mutation = fc.oneof(
      // replace one value with arbitrary text or arbitrary JSON
      fc.tuple(fc.nat(), fc.oneof(fc.string({ unit: 'binary' }), jsonText)).map(
        ([at, text]) =>
          (fields: string[]) =>
            fields.map((value, i) => (i === (at % (fields.length / 2)) * 2 + 1 ? text : value)),
      ),
      // drop a pair, duplicate a pair, or rename a field
      fc.nat().map((at) => (fields: string[]) => {
        const i = (at % (fields.length / 2)) * 2;
        return [...fields.slice(0, i), ...fields.slice(i + 2)];
      }),
      fc.nat().map((at) => (fields: string[]) => {
        const i = (at % (fields.length / 2)) * 2;
        return [...fields, ...fields.slice(i, i + 2)];
      }),
      fc.tuple(fc.nat(), fieldName).map(([at, name]) => (fields: string[]) => {
        const i = (at % (fields.length / 2)) * 2;
        return fields.map((value, j) => (j === i ? name : value));
      }),
      // truncate anywhere
      fc.nat().map((at) => (fields: string[]) => fields.slice(0, at % (fields.length + 1))),
    );
    const base = fc.record({
      data: fc.jsonValue(),
      traceparent: fc.boolean(),
      targetGroup: fc.boolean(),
    });
    fc.assert(
      fc.property(base, fc.array(mutation, { minLength: 1, maxLength: 4 }), (variant, mutations) => {
        const envelope: EventEnvelope = {
          ...valid,
          data: variant.data,
          ...(variant.traceparent
            ? { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }
            : {}),
          ...(variant.targetGroup ? { targetGroup: 'g1' } : {}),
        };
        const fields = mutations.reduce(
          (current, mutate) => (current.length > 0 ? mutate(current) : current),
          [...encodeEvent(envelope)],
        );
        return decodesOrRejects(fields);
      }),
      { numRuns: 2000 },
    );
  });

  it('on JSON data of any shape, a valid encoding round-trips', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (data) => {
        const fields = encodeEvent({ ...valid, data });
        expect(decodeEntry(fields).data).toEqual(JSON.parse(fields[13] ?? ''));
      }),
      { numRuns: 500 },
    );
  });
});
