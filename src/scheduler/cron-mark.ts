// The per-schedule high-water mark in Redis: up to which instant every tick is on the timer wheel (or was
// deliberately skipped). It only moves forward, so replicas, restarts and skewed clocks never re-decide a tick.
import type { Redis } from 'ioredis';
import { ScriptError } from '../errors.js';
import type { KeyBuilder } from '../streams/keys.js';
import { runScript } from '../streams/scripts.js';

export interface CronMarkState {
  /** ms up to which every tick is handled; undefined before the schedule's first pass. */
  readonly mark: number | undefined;
  /** Catch-up ticks chosen after a downtime and not yet confirmed on the wheel (comma-separated ms). */
  readonly pending: string | undefined;
}

export interface CronAdvanceResult {
  readonly moved: boolean;
  readonly previous: number | undefined;
  /** The mark after the call: the new one, or the one that stopped it. */
  readonly current: number | undefined;
}

export interface CronAdvanceOptions {
  /** Move only from this mark (`'none'`: only when there is none yet); default: from any lower mark. */
  readonly expected?: number | 'none';
  /** Catch-up ticks to record as pending together with the move. */
  readonly pending?: readonly number[];
}

export interface CronMarks {
  read(schedule: string): Promise<CronMarkState>;
  /** Moves the mark to `toMs` when that is forward (and the expectation holds); one script. */
  advance(schedule: string, toMs: number, options?: CronAdvanceOptions): Promise<CronAdvanceResult>;
  /** Clears `pending` if it still equals the value that was scheduled; false when it changed meanwhile. */
  settle(schedule: string, pending: string): Promise<boolean>;
}

function msOrUndefined(text: unknown): number | undefined {
  return typeof text === 'string' && text !== '' ? Number(text) : undefined;
}

export function createCronMarks(redis: Redis, keys: KeyBuilder): CronMarks {
  return {
    async read(schedule) {
      const [mark, pending] = await redis.hmget(keys.cronMark(schedule), 'mark', 'pending');
      return { mark: msOrUndefined(mark), pending: pending ?? undefined };
    },

    async advance(schedule, toMs, options = {}) {
      const expected =
        options.expected === undefined ? '' : options.expected === 'none' ? '-' : String(options.expected);
      const reply = await runScript(
        redis,
        'cronAdvance',
        [keys.cronMark(schedule)],
        [String(toMs), expected, (options.pending ?? []).join(',')],
      );
      if (!Array.isArray(reply) || reply.length !== 3) {
        throw new ScriptError('cronAdvance', 0, `unexpected reply ${JSON.stringify(reply)}`);
      }
      return { moved: reply[0] === 1, previous: msOrUndefined(reply[1]), current: msOrUndefined(reply[2]) };
    },

    async settle(schedule, pending) {
      return (await runScript(redis, 'cronSettle', [keys.cronMark(schedule)], [pending])) === 1;
    },
  };
}
