// Helpers shared by the systems and workloads: batched sends with bounded parallelism, completion waits.
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** Sends `total` items as batches of `batchSize`, at most `parallel` batches in flight. */
export async function inBatches(
  total: number,
  batchSize: number,
  parallel: number,
  send: (start: number, count: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const start = next;
      const count = Math.min(batchSize, total - start);
      next += count;
      await send(start, count);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

/** Counts completions and resolves once `expected` are in; `wait` rejects after the deadline. */
export class Completion {
  count = 0;
  /** performance.now() of the last completion. */
  lastAt = 0;
  /** Longest pause between two completions (a stalled read or flush shows up here). */
  longestPauseMs = 0;
  private resolve: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(readonly expected: number) {
    this.done = new Promise<void>((resolve) => (this.resolve = resolve));
    if (expected <= 0) this.resolve?.();
  }

  add(n = 1): void {
    const now = performance.now();
    if (this.count > 0) this.longestPauseMs = Math.max(this.longestPauseMs, now - this.lastAt);
    this.count += n;
    this.lastAt = now;
    if (this.count >= this.expected) this.resolve?.();
  }

  async wait(deadlineMs: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: ${this.count}/${this.expected} done after ${deadlineMs} ms`)),
        deadlineMs,
      );
    });
    try {
      await Promise.race([this.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Resolves `until` ms after `from` (performance.now() time), sleeping in short steps. */
export async function sleepUntil(at: number): Promise<void> {
  const ms = at - performance.now();
  if (ms > 0) await sleep(ms);
}
