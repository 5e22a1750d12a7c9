// Marble tests of keyed concurrency: one item per key at a time in arrival order, keys in parallel.
import { describe, expect, it } from 'vitest';
import { keyedConcurrency } from '../../../src/pipelines/keyed-concurrency.js';
import { testScheduler } from './support.js';

const items = {
  a: { key: 'k1', name: 'a' },
  b: { key: 'k1', name: 'b' },
  c: { key: 'k2', name: 'c' },
  d: { key: 'k1', name: 'd' },
  e: { key: 'k3', name: 'e' },
};
type Item = (typeof items)[keyof typeof items];

describe('keyedConcurrency', () => {
  it('serialises one key in arrival order while other keys run in parallel', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // every projection takes 3 ms; a, b and d share k1
      const project = (item: Item) => cold('---(r|)', { r: item.name });
      const source = cold('abcd|', items);
      expectObservable(source.pipe(keyedConcurrency((i) => i.key, project))).toBe('---a-cb--(d|)');
    });
  });

  it('runs every key in parallel when keys differ, and completes when the last one ends', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const project = (item: Item) => cold('-----(r|)', { r: item.name });
      expectObservable(cold('ac-e|', items).pipe(keyedConcurrency((i) => i.key, project))).toBe(
        '-----ac-(e|)',
      );
    });
  });

  it('starts the next item of a key as soon as the one before completes, even if it emitted nothing', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('--|');
      const second = cold('-(r|)', { r: 'b' });
      const project = (item: Item) => (item.name === 'a' ? first : second);
      expectObservable(cold('ab|', items).pipe(keyedConcurrency((i) => i.key, project))).toBe('---(b|)');
      expectSubscriptions(first.subscriptions).toBe('^-!');
      expectSubscriptions(second.subscriptions).toBe('--^!');
    });
  });

  it('errors when a projection errors or keyOf throws, and unsubscribes what runs', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('-----r|');
      const project = (item: Item) => (item.name === 'c' ? cold('--#', undefined, new Error('boom')) : slow);
      expectObservable(cold('ac|', items).pipe(keyedConcurrency((i) => i.key, project))).toBe(
        '---#',
        undefined,
        new Error('boom'),
      );
      expectSubscriptions(slow.subscriptions).toBe('^--!');
    });
    testScheduler().run(({ cold, expectObservable }) => {
      const keyOf = (item: Item): string => {
        if (item.name === 'b') throw new Error('no key');
        return item.key;
      };
      expectObservable(
        cold('ab|', items).pipe(keyedConcurrency(keyOf, (item) => cold('-----(r|)', { r: item.name }))),
      ).toBe('-#', undefined, new Error('no key'));
    });
  });

  it('accepts promise projections (the runner once used them)', async () => {
    const { from, lastValueFrom, toArray } = await import('rxjs');
    const order: string[] = [];
    const result = await lastValueFrom(
      from([items.a, items.b, items.c]).pipe(
        keyedConcurrency(
          (i) => i.key,
          async (item) => {
            order.push(`start ${item.name}`);
            await new Promise((r) => setTimeout(r, item.name === 'a' ? 20 : 1));
            order.push(`end ${item.name}`);
            return item.name;
          },
        ),
        toArray(),
      ),
    );
    expect(result.sort()).toEqual(['a', 'b', 'c']);
    expect(order.indexOf('start b')).toBeGreaterThan(order.indexOf('end a'));
    expect(order.indexOf('start c')).toBeLessThan(order.indexOf('end a'));
  });
});
