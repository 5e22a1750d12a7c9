// Runs a task per item with at most `limit` in flight and settles every one (seed 002: "in parallel", "continues on
// individual failures"); once `signal` aborts, items not yet started are rejected with its reason instead.
export async function settleBounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
  signal?: AbortSignal,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length) {
      const index = next;
      next += 1;
      const item = items[index] as T;
      if (signal?.aborted) {
        results[index] = { status: 'rejected', reason: signal.reason as unknown };
        continue;
      }
      try {
        results[index] = { status: 'fulfilled', value: await task(item) };
      } catch (error) {
        results[index] = { status: 'rejected', reason: error };
      }
    }
  }
  const lanes = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: lanes }, () => lane()));
  return results;
}

/** How many tasks failed, and the first few reasons (for one log line per run). */
export function failuresOf<R>(
  results: readonly PromiseSettledResult<R>[],
  describe: (index: number, reason: unknown) => string,
  sample = 5,
): { readonly failed: number; readonly sample: string[] } {
  const failed: string[] = [];
  let count = 0;
  results.forEach((result, index) => {
    if (result.status !== 'rejected') return;
    count += 1;
    if (failed.length < sample) failed.push(describe(index, result.reason));
  });
  return { failed: count, sample: failed };
}
