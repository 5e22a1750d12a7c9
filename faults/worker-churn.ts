// Worker churn for the fault suite: hits one running worker at a time (SIGKILL, SIGTERM) and starts a replacement,
// the way an orchestrator replaces pods.
import type { WorkerChild, WorkerSettings } from '../test/support/worker-children.js';
import type { Rig } from './harness.js';

export interface Churn {
  /** Stops the loop and waits for the replacements being started. */
  stop(): Promise<void>;
  readonly count: number;
  readonly errors: unknown[];
}

/**
 * Every `everyMs`, hits one running worker (picked at random) with `hit` and starts a replacement with the same
 * settings, like an orchestrator would; stops after `max` hits.
 */
export function churnWorkers(
  rig: Rig,
  settings: Partial<WorkerSettings>,
  options: { everyMs: number; max: number; hit: (worker: WorkerChild) => Promise<unknown> },
): Churn {
  let count = 0;
  let stopped = false;
  const errors: unknown[] = [];
  const starting = new Set<Promise<unknown>>();
  const hits = new Set<Promise<unknown>>();
  const timer = setInterval(() => {
    const alive = rig.alive();
    if (stopped || count >= options.max || alive.length === 0) return;
    const victim = alive[Math.floor(Math.random() * alive.length)];
    if (victim === undefined) return;
    count += 1;
    const hit = options.hit(victim).catch((error: unknown) => errors.push(error));
    hits.add(hit);
    void hit.finally(() => hits.delete(hit));
    // a start can time out on a loaded machine: try again, so the pool does not shrink
    const replacement = (async () => {
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          return await rig.startWorker(settings);
        } catch (error) {
          errors.push(error);
        }
      }
      return undefined;
    })();
    starting.add(replacement);
    void replacement.finally(() => starting.delete(replacement));
  }, options.everyMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...hits, ...starting]);
    },
    get count() {
      return count;
    },
    errors,
  };
}
