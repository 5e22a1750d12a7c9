// splitBudget: the shares always sum to the budget, whatever the rotation, and the remainder rotates.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitBudget } from '../../src/streams/budget.js';

describe('splitBudget', () => {
  it('never hands out more or less than the budget, for any rotation', () => {
    fc.assert(
      fc.property(
        fc.nat(10_000),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(1_000_000),
        (budget, partitions, rotation) => {
          const shares = splitBudget(budget, partitions, rotation);
          expect(shares).toHaveLength(partitions);
          expect(shares.reduce((a, b) => a + b, 0)).toBe(budget);
          expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('gives the remainder to partitions in rotation, past the partition count too', () => {
    expect(splitBudget(1, 4, 7)).toEqual([0, 0, 0, 1]);
    expect(splitBudget(6, 4, 7)).toEqual([2, 1, 1, 2]);
    const firstShare = Array.from({ length: 8 }, (_, r) => splitBudget(1, 4, r).indexOf(1));
    expect(firstShare).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
  });
});
