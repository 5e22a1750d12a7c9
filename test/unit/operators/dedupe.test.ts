// Marble tests of the dedupe operator: repeats become acked duplicates, one check per batch, order kept.
import { describe, expect, it } from 'vitest';
import { dedupe } from '../../../src/pipelines/dedupe.js';
import type { Prepared, ToHandle } from '../../../src/pipelines/prepared.js';
import { outcome } from '../../../src/streams/outcome.js';
import { deliveryOf, event, testScheduler } from './support.js';

function toHandle(key: string): ToHandle {
  const e = event(key);
  return { delivery: deliveryOf(e), event: e };
}

describe('dedupe', () => {
  it('marks seen events as duplicates, keeps the rest and decided items in place', () => {
    const a = toHandle('a');
    const b = toHandle('b');
    const c = toHandle('c');
    const skipped: Prepared = { delivery: deliveryOf(event('s')), verdict: outcome.ack(), settledAs: 'skip' };
    const seenIds = new Set([b.event.id]);
    const checked: string[][] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      // the check answers after 3 ms, like a Redis round trip
      const checkSeen = (items: readonly ToHandle[]) => {
        checked.push(items.map((i) => i.event.key));
        return cold('---(r|)', { r: items.map((i) => seenIds.has(i.event.id)) });
      };
      const batches = cold('x|', { x: [a, skipped, b, c] });
      expectObservable(batches.pipe(dedupe(checkSeen))).toBe('---(y|)', {
        y: [a, skipped, { delivery: b.delivery, verdict: outcome.ack(), settledAs: 'duplicate' }, c],
      });
    });
    expect(checked).toEqual([['a', 'b', 'c']]);
  });

  it('checks batches one at a time, in order, and skips the check when nothing needs a handler', () => {
    const first = toHandle('1');
    const second = toHandle('2');
    const decided: Prepared = { delivery: deliveryOf(event('d')), verdict: outcome.dead('invalid') };
    let checks = 0;
    testScheduler().run(({ cold, expectObservable }) => {
      const checkSeen = (items: readonly ToHandle[]) => {
        checks += 1;
        return cold('-----(r|)', { r: items.map(() => false) });
      };
      // the second batch arrives while the first is being checked: it waits, so order is kept
      const batches = cold('ab-c|', { a: [first], b: [second], c: [decided] });
      expectObservable(batches.pipe(dedupe(checkSeen))).toBe('-----x----(yz|)', {
        x: [first],
        y: [second],
        z: [decided],
      });
    });
    expect(checks).toBe(2);
  });

  it('errors when the check fails, so the caller can leave the batch pending', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const failing = () => cold<boolean[]>('--#', undefined, new Error('redis down'));
      expectObservable(cold('a|', { a: [toHandle('x')] }).pipe(dedupe(failing))).toBe(
        '--#',
        undefined,
        new Error('redis down'),
      );
    });
  });
});
