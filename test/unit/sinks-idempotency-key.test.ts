// Idempotency-Key derivation: readable or hashed, fixed vectors (no time, no randomness), no ambiguity, bad parts refused.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  IDEMPOTENCY_KEY_MAX_CHARS,
  idempotencyKey,
  type EpochPart,
} from '../../src/sinks/idempotency-key.js';

describe('idempotencyKey', () => {
  it('is readable for short safe parts: job:part:part', () => {
    expect(idempotencyKey('cfb.settle', 'bet-1', 1_700_000_000_000)).toBe('cfb.settle:bet-1:1700000000000');
    expect(idempotencyKey('vesting.release', 'vest_9', 3n)).toBe('vesting.release:vest_9:3');
    // a Date counts as its epoch ms, so a Date and its number give the same key
    expect(idempotencyKey('cfb.settle', 'bet-1', new Date(1_700_000_000_000))).toBe(
      'cfb.settle:bet-1:1700000000000',
    );
  });

  it('hashes parts with other characters: fixed vectors that any process, now or after a restart, reproduces', () => {
    expect(idempotencyKey('vesting.release', 'vest/1', 3)).toBe(
      'vesting.release~ad0c1bc2334a16976615be65b6d7aacf',
    );
    expect(idempotencyKey('cfb.settle', 'bet-1', '2026-11-23T15:00:00.000Z')).toBe(
      'cfb.settle~d8d6e2ab9df7100cee0015b5dbd86e25',
    );
    const expected = createHash('sha256')
      .update(JSON.stringify(['cfb.settle', 'bet-1', '2026-11-23T15:00:00.000Z']))
      .digest('hex')
      .slice(0, 32);
    expect(idempotencyKey('cfb.settle', 'bet-1', '2026-11-23T15:00:00.000Z')).toBe(`cfb.settle~${expected}`);
  });

  it('never confuses parts that contain the separator with more parts', () => {
    expect(idempotencyKey('j', 'a:b')).not.toBe(idempotencyKey('j', 'a', 'b'));
    expect(idempotencyKey('j', 'a~b')).not.toBe(idempotencyKey('j', 'a', 'b'));
    expect(idempotencyKey('j', 'a', 'b')).toBe('j:a:b');
  });

  it('caps the length by hashing long epochs', () => {
    const key = idempotencyKey('cfb.settle', 'x'.repeat(200));
    expect(key).toMatch(/^cfb\.settle~[0-9a-f]{32}$/);
    const edge = 'y'.repeat(IDEMPOTENCY_KEY_MAX_CHARS - 'j:'.length);
    expect(idempotencyKey('j', edge)).toBe(`j:${edge}`);
    expect(idempotencyKey('j', `${edge}y`)).toMatch(/^j~/);
  });

  it('is deterministic, bounded and distinct for distinct epochs (property)', () => {
    const part = fc.oneof(
      fc.string({ minLength: 1, maxLength: 80 }),
      fc.integer(),
      fc.stringMatching(/^[a-z0-9-]{1,20}$/),
    );
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 4 }),
        fc.array(part, { minLength: 1, maxLength: 4 }),
        (a, b) => {
          const keyA = idempotencyKey('job.x', ...a);
          expect(idempotencyKey('job.x', ...a)).toBe(keyA);
          expect(keyA.length).toBeLessThanOrEqual(IDEMPOTENCY_KEY_MAX_CHARS);
          const same = JSON.stringify(a.map(String)) === JSON.stringify(b.map(String));
          expect(idempotencyKey('job.x', ...b) === keyA).toBe(same);
        },
      ),
    );
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty string', ''],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an invalid Date', new Date('nope')],
    ['an object', { betId: 'b' }],
  ])('refuses %s as a part with a ValidationError', (_name, part) => {
    expect(() => idempotencyKey('cfb.settle', 'bet-1', part as EpochPart)).toThrow(ValidationError);
  });

  it('refuses a bad job name or no epoch at all', () => {
    expect(() => idempotencyKey('', 'x')).toThrow(ValidationError);
    expect(() => idempotencyKey('cfb settle', 'x')).toThrow(ValidationError);
    expect(() => idempotencyKey('cfb.settle')).toThrow(ValidationError);
  });
});
