// Credit-based flow control: a consumer reads only as many entries as it has free handler slots.
// Credits may go briefly negative when a multi-stream read returns more than asked; reads then wait.

export class Credits {
  private free: number;
  private waiters: (() => void)[] = [];

  constructor(readonly capacity: number) {
    this.free = capacity;
  }

  get available(): number {
    return this.free;
  }

  get inUse(): number {
    return this.capacity - this.free;
  }

  /** Resolves when at least one credit is free (or at once when `signal` aborts). */
  async whenAvailable(signal?: AbortSignal): Promise<void> {
    while (this.free <= 0 && !signal?.aborted) await this.nextRelease(signal);
  }

  take(n: number): void {
    this.free -= n;
  }

  release(n = 1): void {
    this.free += n;
    if (this.free > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves when every credit is back (all work finished) or the signal aborts. */
  async whenIdle(signal?: AbortSignal): Promise<void> {
    while (this.free < this.capacity && !signal?.aborted) await this.nextRelease(signal);
  }

  /** Resolves at the next release that leaves a credit free, or when the signal aborts. */
  private nextRelease(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.waiters.push(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }
}
