// Operator job control for one runner (pause, resume, drain): polls the global change counter every controlPollMs,
// re-reads the job's state when the counter moved, applies a new version to the pull gate (paused: nothing pulled;
// draining: no new entries, due retries and abandoned entries still taken) and reports it once applied.
import type { JobControl } from '../ops/control/job-control.js';
import { abortableSleep } from '../streams/credit-source.js';
import type { PullGate } from './pull-gate.js';
import type { ControlEvent } from './runner-events.js';

export interface ControlLoopDeps {
  readonly control: Pick<JobControl, 'get' | 'changeCounter'>;
  readonly job: string;
  readonly pollMs: number;
  readonly gate: PullGate;
  /** Aborted when the runner stops. */
  readonly signal: AbortSignal;
  /** A state was applied: nothing the state closes is in flight or pulled from now on. */
  onApplied(event: ControlEvent): void;
  onError(error: unknown): void;
}

export interface ControlLoop {
  /** Reads and applies the state if the counter moved since the last check (start-up: always). */
  check(): Promise<void>;
  /** Polls until the signal aborts; never rejects. */
  run(): Promise<void>;
}

export function createControlLoop(deps: ControlLoopDeps): ControlLoop {
  const { control, job, gate, signal } = deps;
  let counter: number | undefined;
  // version 0 = never set: running, nothing to report
  let version = 0;

  async function check(): Promise<void> {
    const current = await control.changeCounter();
    if (current === counter) return;
    // the counter is raised after the job's key, so this read is at least as new as `current`
    const state = await control.get(job);
    counter = current;
    if (state.version === version) return;
    version = state.version;
    await gate.setControl(state.state);
    if (!signal.aborted) deps.onApplied({ job, state: state.state, version });
  }

  return {
    check,
    async run() {
      while (!signal.aborted) {
        await abortableSleep(deps.pollMs, signal);
        if (signal.aborted) break;
        try {
          await check();
        } catch (error) {
          if (!signal.aborted) deps.onError(error);
        }
      }
    },
  };
}
