// Handler deadlines of one runner on a single timer: attempts start in order and share one timeout, so their
// deadlines are in order too and one timer armed for the earliest live deadline serves them all (no timer per
// attempt). An attempt past its deadline has its signal aborted and ends with `onTimeout`; its late result is dropped.
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';

export interface AttemptDeadlines {
  /** Runs `work` with its own signal; resolves with its result, or with `onTimeout()` once the deadline passes. */
  run<R>(work: (signal: AbortSignal) => Promise<R>, onTimeout: () => R): Promise<R>;
  /** Aborts the signal of every attempt in flight and of every later one (shutdown); their results still come. */
  abortAll(reason: unknown): void;
  /** Attempts in flight. */
  readonly size: number;
}

interface Attempt {
  readonly deadline: number;
  readonly controller: AbortController;
  expire(): void;
  done: boolean;
}

/** Finished attempts kept in the queue behind a slow one before it is compacted. */
const COMPACT_AFTER = 1024;

export function createAttemptDeadlines(
  timeoutMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): AttemptDeadlines {
  let queue: Attempt[] = [];
  let head = 0;
  // finished attempts still in the queue after `head`
  let finished = 0;
  let live = 0;
  let timer: Subscription | undefined;
  let abortedBy: { reason: unknown } | undefined;

  function dropFinishedHead(): void {
    while (head < queue.length && (queue[head] as Attempt).done) {
      head += 1;
      finished -= 1;
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head > COMPACT_AFTER && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    } else if (finished > COMPACT_AFTER && finished * 2 > queue.length - head) {
      // a slow attempt at the head keeps the ones behind it: keep only the live ones
      queue = queue.slice(head).filter((a) => !a.done);
      head = 0;
      finished = 0;
    }
  }

  function arm(delayMs: number): void {
    timer = scheduler.schedule(sweep, Math.max(0, delayMs));
  }

  function sweep(): void {
    timer = undefined;
    const now = scheduler.now();
    while (head < queue.length) {
      const first = queue[head] as Attempt;
      if (!first.done && first.deadline > now) break;
      head += 1;
      if (first.done) finished -= 1;
      else first.expire();
    }
    dropFinishedHead();
    const next = queue[head];
    if (next) arm(next.deadline - now);
  }

  return {
    run(work, onTimeout) {
      return new Promise((resolve, reject) => {
        const controller = new AbortController();
        const attempt: Attempt = {
          deadline: scheduler.now() + timeoutMs,
          controller,
          done: false,
          expire() {
            attempt.done = true;
            live -= 1;
            controller.abort(new Error(`handler timed out after ${timeoutMs} ms`));
            resolve(onTimeout());
          },
        };
        if (abortedBy) controller.abort(abortedBy.reason);
        queue.push(attempt);
        live += 1;
        if (timer === undefined) arm(timeoutMs);
        const settle = (): boolean => {
          if (attempt.done) return false;
          attempt.done = true;
          live -= 1;
          finished += 1;
          dropFinishedHead();
          return true;
        };
        work(controller.signal).then(
          (result) => {
            if (settle()) resolve(result);
          },
          (error: unknown) => {
            if (settle()) reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
    abortAll(reason) {
      abortedBy = { reason };
      for (let i = head; i < queue.length; i++) {
        const attempt = queue[i] as Attempt;
        if (!attempt.done) attempt.controller.abort(reason);
      }
    },
    get size() {
      return live;
    },
  };
}
