// What every system's consumer looks like to a workload: start, a completion count, stop, errors seen.
import type { Completion } from '../util.js';
import type { RunContext, RunResult } from '../workload.js';

export interface BenchConsumer {
  readonly completion: Completion;
  /** Connects and sets up whatever is not part of consuming (outside the measured window). */
  ready(): Promise<void>;
  /** Starts consuming (the first read may already be in flight when it resolves). */
  start(): Promise<void>;
  /** Stops and closes its connections; safe to call twice. */
  stop(): Promise<void>;
  /** Unexpected outcomes or loop errors; a clean run has none. */
  readonly errors: unknown[];
}

/** The consume measurement: window from start() to the last completion; the consumer is stopped either way. */
export async function measureConsumption(
  ctx: RunContext,
  consumer: BenchConsumer,
  what: string,
): Promise<RunResult> {
  try {
    await consumer.ready();
    await ctx.meter.begin();
    await consumer.start();
    await consumer.completion.wait(ctx.deadlineMs, what);
    const seconds = await ctx.meter.end();
    if (consumer.errors.length > 0) throw firstError(what, consumer.errors);
    return { events: consumer.completion.count, seconds, longestPauseMs: consumer.completion.longestPauseMs };
  } catch (error) {
    throw consumer.errors.length > 0 && !(error instanceof ConsumerErrors)
      ? firstError(what, consumer.errors, error)
      : error;
  } finally {
    await consumer.stop();
  }
}

class ConsumerErrors extends Error {}

function firstError(what: string, errors: unknown[], cause?: unknown): ConsumerErrors {
  const first = errorText(errors[0]);
  const prefix = cause === undefined ? '' : `${errorText(cause)}; `;
  return new ConsumerErrors(`${what}: ${prefix}${errors.length} errors, first: ${first}`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : JSON.stringify(error);
}
