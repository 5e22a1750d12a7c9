// Provider health (seed 000 §3.1, §8): every poll of an external provider or feed reports up or down and how long it
// took through the job signals, whatever the poll's outcome.
import type { Clock } from '../clock.js';
import { outcome } from '../streams/outcome.js';
import type { Outcome } from '../streams/outcome.js';
import type { JobSignals } from './pack-context.js';

/**
 * Runs one poll and reports it: up when `poll` resolves, down when it throws (the error is rethrown unchanged).
 * `provider` names the signal's label, e.g. `price.binance` or `watchlist.coindesk`.
 */
export async function pollWithHealth<T>(
  deps: { readonly signals: JobSignals; readonly clock: Clock },
  provider: string,
  poll: () => Promise<T>,
): Promise<T> {
  const started = deps.clock.now();
  const seconds = (): number => Math.max(0, deps.clock.now() - started) / 1000;
  let result: T;
  try {
    result = await poll();
  } catch (error) {
    deps.signals.providerPolled(provider, false, seconds());
    throw error;
  }
  deps.signals.providerPolled(provider, true, seconds());
  return result;
}

/** Attempts of one poll tick. A tick retried longer only refetches what the next tick fetches anyway. */
export const POLL_ATTEMPTS = 3;

/**
 * The outcome of a poll tick that failed: a retry while attempts remain, then an ack (reported through
 * `onGiveUp`: the next tick polls again, so a dead-lettered tick would hold nothing worth requeueing).
 * Permanent failures (4xx, SSRF refusal, a body that is not a feed) stay dead: they need an operator.
 */
export function pollFailure(failed: Outcome, attempt: number, onGiveUp: (reason: string) => void): Outcome {
  if (failed.kind !== 'retry' || attempt < POLL_ATTEMPTS) return failed;
  onGiveUp(failed.reason);
  return outcome.ack();
}
