// Handler deadlines on one timer, on a virtual clock: each attempt ends with its result or, at its own deadline,
// with `onTimeout` (signal aborted, late result dropped); a shutdown aborts the signals of attempts in flight and later.
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createAttemptDeadlines } from '../../src/pipelines/attempt-deadlines.js';

function virtualClock() {
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const advanceTo = (ms: number): void => {
    scheduler.schedule(() => undefined, ms - scheduler.now());
    scheduler.maxFrames = ms;
    scheduler.flush();
  };
  return { scheduler, advanceTo };
}

function pending<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('attempt deadlines', () => {
  it('each attempt ends with its result or at its own deadline, in order, on one timer', async () => {
    const { scheduler, advanceTo } = virtualClock();
    const deadlines = createAttemptDeadlines(100, scheduler);
    const signals: AbortSignal[] = [];
    const never = (signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<string>(() => undefined);
    };
    const a = deadlines.run(never, () => 'a timed out');
    advanceTo(50);
    const work = pending<string>();
    const b = deadlines.run(
      () => work.promise,
      () => 'b timed out',
    );
    const c = deadlines.run(never, () => 'c timed out');
    expect(deadlines.size).toBe(3);
    work.resolve('b done');
    expect(await b).toBe('b done');

    advanceTo(100);
    expect(await a).toBe('a timed out');
    expect(signals[0]?.aborted).toBe(true);
    expect((signals[0]?.reason as Error).message).toBe('handler timed out after 100 ms');
    expect(signals[1]?.aborted).toBe(false);
    expect(deadlines.size).toBe(1);

    advanceTo(150);
    expect(await c).toBe('c timed out');
    expect(deadlines.size).toBe(0);
  });

  it('a result after the deadline is dropped', async () => {
    const { scheduler, advanceTo } = virtualClock();
    const deadlines = createAttemptDeadlines(10, scheduler);
    const late = pending<string>();
    const attempt = deadlines.run(
      () => late.promise,
      () => 'timed out',
    );
    advanceTo(10);
    late.resolve('late');
    expect(await attempt).toBe('timed out');
  });

  it('abortAll aborts the signals of attempts in flight and of later ones; their results still come', async () => {
    const { scheduler } = virtualClock();
    const deadlines = createAttemptDeadlines(1_000, scheduler);
    const reason = new Error('shutdown grace period over');
    const aborted = (signal: AbortSignal) =>
      new Promise<unknown>((resolve) => {
        if (signal.aborted) resolve(signal.reason);
        else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
      });
    const running = deadlines.run(aborted, () => 'timed out');
    deadlines.abortAll(reason);
    const later = deadlines.run(aborted, () => 'timed out');
    expect(await running).toBe(reason);
    expect(await later).toBe(reason);
    expect(deadlines.size).toBe(0);
  });
});
