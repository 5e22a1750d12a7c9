// Marble and property tests of the local token bucket: bursts, the sustained rate, order, never a drop.
import fc from 'fast-check';
import { map, merge, timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { createTokenBucket, rateLimit } from '../../../src/pipelines/rate-limit.js';
import { testScheduler } from './support.js';

describe('rateLimit', () => {
  it('lets a burst through at once, then one item per interval, in order', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      // 100/s = one token per 10 ms, bucket of 2
      const limited = cold('abcde|').pipe(rateLimit({ perSecond: 100, burst: 2, scheduler }));
      expectObservable(limited).toBe('ab 8ms c 9ms d 9ms (e|)');
    });
  });

  it('refills while idle: after a quiet spell the full burst passes again', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const limited = cold('(abc) 99ms (def)|').pipe(rateLimit({ perSecond: 100, burst: 3, scheduler }));
      expectObservable(limited).toBe('(abc) 99ms (def)|');
    });
  });

  it('one bucket is shared by every pipeline the operator is applied in', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const limit = rateLimit<string>({ perSecond: 100, burst: 1, scheduler });
      expectObservable(cold('a|').pipe(limit)).toBe('a|');
      expectObservable(cold('b|').pipe(limit)).toBe('10ms (b|)');
      expectObservable(cold('c|').pipe(limit)).toBe('20ms (c|)');
    });
  });

  it('never lets more than burst + rate x t through in any span t, and drops nothing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 5 }),
        (arrivals, perSecond, burst) => {
          const scheduler = testScheduler();
          const passed: { index: number; at: number }[] = [];
          const sorted = [...arrivals].sort((a, b) => a - b);
          scheduler.run(() => {
            merge(...sorted.map((at, index) => timer(at, scheduler).pipe(map(() => index))))
              .pipe(rateLimit({ perSecond, burst, scheduler }))
              .subscribe((index) => passed.push({ index, at: scheduler.now() }));
          });
          expect(passed.map((p) => p.index)).toEqual(sorted.map((_, i) => i));
          passed.forEach((p) => expect(p.at).toBeGreaterThanOrEqual(sorted[p.index] ?? 0));
          for (let i = 0; i < passed.length; i++) {
            for (let j = i; j < passed.length; j++) {
              const span = (passed[j]?.at ?? 0) - (passed[i]?.at ?? 0);
              expect(j - i + 1).toBeLessThanOrEqual(burst + (perSecond * span) / 1000 + 1e-9);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a rate or burst that cannot work', () => {
    expect(() => createTokenBucket({ perSecond: 0, burst: 1 })).toThrow(ValidationError);
    expect(() => createTokenBucket({ perSecond: 10, burst: 0 })).toThrow(ValidationError);
    expect(() => createTokenBucket({ perSecond: 10, burst: 1.5 })).toThrow(/burst/);
  });
});
