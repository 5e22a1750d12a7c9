// The credit source without Redis: it never fetches with 0 credits (two sources woken by one release), waits at its
// gate before reserving, and gives back the credits of what its pacing did not emit.
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { creditSource } from '../../src/streams/credit-source.js';
import { Credits } from '../../src/streams/credits.js';
import type { Delivery } from '../../src/streams/delivery.js';
import { createKeyBuilder } from '../../src/streams/keys.js';

const partition = createKeyBuilder({ prefix: 't' }).partition('playhub', 0);

function deliveries(n: number, from = 0): Delivery[] {
  return Array.from({ length: n }, (_, i) => ({
    partition,
    entryId: `${from + i + 1}-0`,
    fields: [],
    failures: 0,
    deliveries: 1,
    source: 'new' as const,
  }));
}

async function turns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

describe('creditSource', () => {
  it('two sources woken by the same release: one fetches with the credit, the other waits (never fetch(0))', async () => {
    const credits = new Credits(1);
    credits.take(1);
    const stop = new AbortController();
    const reserved: number[] = [];
    const errors: unknown[] = [];
    const source = () =>
      creditSource({
        credits,
        signal: stop.signal,
        onError: (error) => errors.push(error),
        fetch: (n) => {
          reserved.push(n);
          // holds its credit until the test ends
          return new Promise((resolve) =>
            stop.signal.addEventListener('abort', () => resolve({ deliveries: [], pauseMs: 0 })),
          );
        },
      });
    const subscriptions = [source().subscribe(), source().subscribe()];
    await turns();
    expect(reserved).toEqual([]);
    credits.release(1);
    await turns();
    expect(reserved).toEqual([1]);
    expect(credits.available).toBe(0);
    stop.abort();
    await turns();
    expect(errors).toEqual([]);
    subscriptions.forEach((s) => s.unsubscribe());
  });

  it('waits at its gate before reserving credits', async () => {
    const credits = new Credits(4);
    const stop = new AbortController();
    let open: (value: boolean) => void = () => undefined;
    const reserved: number[] = [];
    const subscription = creditSource({
      credits,
      signal: stop.signal,
      onError: () => undefined,
      ready: () => new Promise<boolean>((resolve) => (open = resolve)),
      fetch: async (n) => {
        reserved.push(n);
        return { deliveries: [], pauseMs: 0 };
      },
    }).subscribe();
    await turns();
    expect(credits.available).toBe(4);
    expect(reserved).toEqual([]);
    open(true);
    await turns();
    expect(reserved).toEqual([4]);
    open(false);
    stop.abort();
    subscription.unsubscribe();
  });

  it('emits paced parts as they come and gives back the credits of what pacing did not emit', async () => {
    const credits = new Credits(10);
    const stop = new AbortController();
    const emitted: number[] = [];
    let fetches = 0;
    const subscription = creditSource({
      credits,
      signal: stop.signal,
      onError: () => undefined,
      fetch: async () => {
        fetches += 1;
        return fetches === 1
          ? { deliveries: deliveries(6), pauseMs: 0 }
          : { deliveries: [], pauseMs: 60_000 };
      },
      pace: async (got, emit) => {
        emit(got.slice(0, 2));
        emit(got.slice(2, 3));
        throw new Error('the rate limit gave up');
      },
    }).subscribe((batch) => emitted.push(batch.length));
    await turns();
    expect(emitted).toEqual([2, 1]);
    // three entries went downstream and keep their credits; the other three came back
    expect(credits.available).toBe(7);
    stop.abort();
    subscription.unsubscribe();
  });
});
