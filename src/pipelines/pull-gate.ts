// Whether a runner's sources may pull: an open circuit stops every source; the operator's job control stops new
// reads (draining) or everything (paused). Pulls run under the gate; a change that closes a kind of pull waits for
// the pulls of that kind in flight (ending a blocking read), so once it is applied nothing of that kind is pulled.
import type { JobState } from '../ops/control/job-control.js';
import { abortableSleep } from '../streams/credit-source.js';
import type { CircuitBreaker } from './circuit-breaker.js';

/** `new`: reading new entries (`>`); `reclaim`: due retries and abandoned entries. */
export type PullKind = 'new' | 'reclaim';

export interface PullGate {
  isOpen(kind: PullKind): boolean;
  /** Resolves true once `kind` may pull (at once if it may), false when the runner stops. */
  whenOpen(kind: PullKind): Promise<boolean>;
  /** Registers a pull started while its kind was open (call synchronously after `isOpen`). */
  track<T>(kind: PullKind, pull: Promise<T>): Promise<T>;
  /** Applies a job control state; resolves once no pull of a kind it closes is in flight. */
  setControl(state: JobState): Promise<void>;
  /** Resolves once no pull of a closed kind is in flight, unblocking a blocking read on the way. */
  quiesce(): Promise<void>;
  /** Ends a blocking read in flight, if any, so the credits it holds come back (another source needs them). */
  interruptRead(): void;
}

export interface PullGateDeps {
  readonly breaker?: CircuitBreaker | undefined;
  /** Aborted when the runner stops: waits end. */
  readonly signal: AbortSignal;
  /** Ends a blocking read in flight (CLIENT UNBLOCK). */
  unblockRead(): Promise<void>;
  readonly onError: (error: unknown) => void;
}

/** How often a blocking read that started just before a change is unblocked again until it returns. */
const UNBLOCK_RETRY_MS = 2;

export function createPullGate(deps: PullGateDeps): PullGate {
  const { breaker, signal } = deps;
  let control: JobState = 'running';
  // resolved (and replaced) on every change of the circuit or the control state, and on stop
  let changed = signalled();
  const inFlight: Record<PullKind, Set<Promise<unknown>>> = { new: new Set(), reclaim: new Set() };
  signal.addEventListener('abort', () => wake(), { once: true });
  // completes when the breaker is disposed
  breaker?.changes.subscribe(() => wake());

  function wake(): void {
    const previous = changed;
    changed = signalled();
    previous.resolve();
  }

  function isOpen(kind: PullKind): boolean {
    if (breaker?.state === 'open' || control === 'paused') return false;
    return kind === 'reclaim' || control === 'running';
  }

  async function quiesce(): Promise<void> {
    for (const kind of ['new', 'reclaim'] as const) {
      const pulls = inFlight[kind];
      while (pulls.size > 0 && !isOpen(kind) && !signal.aborted) {
        if (kind === 'new') await deps.unblockRead();
        await Promise.race([Promise.allSettled([...pulls]), abortableSleep(UNBLOCK_RETRY_MS, signal)]);
      }
    }
  }

  return {
    isOpen,
    async whenOpen(kind) {
      while (!signal.aborted) {
        if (isOpen(kind)) return true;
        await changed.promise;
      }
      return false;
    },
    track(kind, pull) {
      const pulls = inFlight[kind];
      pulls.add(pull);
      const done = (): void => void pulls.delete(pull);
      pull.then(done, done);
      return pull;
    },
    async setControl(state) {
      control = state;
      wake();
      await quiesce();
    },
    quiesce,
    interruptRead() {
      if (inFlight.new.size > 0) deps.unblockRead().catch(deps.onError);
    },
  };
}

function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
