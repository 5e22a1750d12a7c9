// Runs a handler with a deadline: on timeout its AbortSignal fires and the attempt ends with `onTimeout`.
// A handler that ignores its signal keeps running in the background; its late result is discarded.

export async function runWithTimeout<T>(
  work: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  onTimeout: () => T,
  parent?: AbortSignal,
): Promise<T> {
  const controller = new AbortController();
  const abortFromParent = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) abortFromParent();
  parent?.addEventListener('abort', abortFromParent, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<T>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`handler timed out after ${timeoutMs} ms`));
      resolve(onTimeout());
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener('abort', abortFromParent);
  }
}
