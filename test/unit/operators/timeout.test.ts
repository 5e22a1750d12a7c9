// Marble tests of the per-attempt timeout: the deadline aborts the attempt's signal and ends it with
// `onTimeout`; a parent abort reaches the signal; cancelling the attempt aborts it too.
import { describe, expect, it } from 'vitest';
import { attemptWithTimeout, withTimeout } from '../../../src/pipelines/timeout.js';
import { testScheduler } from './support.js';

describe('attemptWithTimeout', () => {
  it('passes a result that comes before the deadline; the signal stays un-aborted', () => {
    const scheduler = testScheduler();
    let signal: AbortSignal | undefined;
    scheduler.run(({ cold, expectObservable }) => {
      const attempt = attemptWithTimeout(
        (s) => {
          signal = s;
          return cold('---(r|)', { r: 'done' });
        },
        { timeoutMs: 5, onTimeout: () => 'timed out', scheduler },
      );
      expectObservable(attempt).toBe('---(r|)', { r: 'done' });
    });
    expect(signal?.aborted).toBe(false);
  });

  it('ends with onTimeout at the deadline, aborts the signal and drops the late result', () => {
    const scheduler = testScheduler();
    let signal: AbortSignal | undefined;
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = cold('--------(r|)', { r: 'late' });
      const attempt = attemptWithTimeout(
        (s) => {
          signal = s;
          return work;
        },
        { timeoutMs: 5, onTimeout: () => 'timed out', scheduler },
      );
      expectObservable(attempt).toBe('-----(t|)', { t: 'timed out' });
      expectSubscriptions(work.subscriptions).toBe('^----!');
    });
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error).message).toBe('handler timed out after 5 ms');
  });

  it('aborts the signal when the parent aborts, and when unsubscribed before a result', () => {
    const scheduler = testScheduler();
    const parent = new AbortController();
    const signals: AbortSignal[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const work = (s: AbortSignal) => {
        signals.push(s);
        return cold('----------(r|)', { r: 'ok' });
      };
      const first = attemptWithTimeout(work, {
        timeoutMs: 50,
        onTimeout: () => 'x',
        signal: parent.signal,
        scheduler,
      });
      expectObservable(first).toBe('----------(r|)', { r: 'ok' });
      scheduler.schedule(() => parent.abort(new Error('shutdown')), 2);
      const second = attemptWithTimeout(work, { timeoutMs: 50, onTimeout: () => 'x', scheduler });
      expectObservable(second, '^--!').toBe('---');
    });
    expect((signals[0]?.reason as Error).message).toBe('shutdown');
    expect((signals[1]?.reason as Error).message).toBe('attempt cancelled');
  });

  it('passes errors of the work through', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const attempt = attemptWithTimeout(() => cold('--#', undefined, new Error('reset')), {
        timeoutMs: 5,
        onTimeout: () => 'x',
        scheduler,
      });
      expectObservable(attempt).toBe('--#', undefined, new Error('reset'));
    });
  });
});

describe('withTimeout', () => {
  it('gives each item its own attempt and deadline, concurrently', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const durations: Record<string, string> = { a: '--(r|)', b: '-------(r|)', c: '-(r|)' };
      const run = (item: string) => cold(durations[item] ?? '|', { r: item.toUpperCase() });
      const timed = cold('abc|').pipe(
        withTimeout(run, { timeoutMs: 4, onTimeout: (item) => `${item} timed out`, scheduler }),
      );
      expectObservable(timed).toBe('--AC-(b|)', { A: 'A', C: 'C', b: 'b timed out' });
    });
  });
});
