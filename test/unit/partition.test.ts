// Unit tests of the documented partition function: published FNV-1a vectors and the README's partition table.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { fnv1a32, partitionOf } from '../../src/events/partition.js';

// Computed independently (Python, over key.encode('utf-8')); the README publishes this table for other producers.
const VECTORS: readonly (readonly [key: string, hash: number, n4: number, n16: number, n1024: number])[] = [
  ['a', 0xe40c292c, 0, 12, 300],
  ['foobar', 0xbf9cf968, 0, 8, 360],
  ['0', 0x350ca8af, 3, 15, 175],
  ['bet-42', 0x94406c05, 1, 5, 5],
  ['escrow-7f3a', 0x87ef79f0, 0, 0, 496],
  ['user:1001', 0x4f7c1bf6, 2, 6, 1014],
  ['0190f1c2-7d3e-7a00-8b00-000000000001', 0x9f849b83, 3, 3, 899],
  ['bet-ü-€', 0x0a521b55, 1, 5, 853],
  ['日本語キー', 0x678edbcd, 1, 13, 973],
  ['🎲-1', 0xf692383a, 2, 10, 58],
];

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    expect(fnv1a32('')).toBe(2166136261);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes UTF-8 bytes, not UTF-16 code units', () => {
    // 'ü' is U+00FC: one UTF-16 unit but two UTF-8 bytes (c3 bc).
    expect(fnv1a32('ü')).not.toBe(fnv1a32('\u00fc'.normalize('NFD')));
    expect(fnv1a32('bet-ü-€')).toBe(0x0a521b55);
  });

  it('equals a byte-by-byte reference over Buffer UTF-8 for any string, lone surrogates included', () => {
    const reference = (key: string): number => {
      let hash = 2166136261;
      for (const byte of Buffer.from(key, 'utf8'))
        hash = Number((BigInt((hash ^ byte) >>> 0) * 16777619n) % 2n ** 32n);
      return hash;
    };
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (key) => fnv1a32(key) === reference(key)),
      { numRuns: 300 },
    );
  });

  it('is an unsigned 32-bit integer', () => {
    for (const [key] of VECTORS) {
      const hash = fnv1a32(key);
      expect(Number.isInteger(hash) && hash >= 0 && hash <= 0xffffffff).toBe(true);
    }
  });
});

describe('partitionOf', () => {
  it.each(VECTORS)('%j -> hash %i, partition %i of 4, %i of 16, %i of 1024', (key, hash, n4, n16, n1024) => {
    expect(fnv1a32(key)).toBe(hash);
    expect(partitionOf(key, 4)).toBe(n4);
    expect(partitionOf(key, 16)).toBe(n16);
    expect(partitionOf(key, 1024)).toBe(n1024);
    expect(partitionOf(key, 1)).toBe(0);
  });

  it.each([0, -1, 1.5, 1025, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d partitions', (partitions) => {
    expect(() => partitionOf('bet-42', partitions)).toThrow(ValidationError);
    expect(() => partitionOf('bet-42', partitions)).toThrow(/integer in 1\.\.1024/);
  });
});
