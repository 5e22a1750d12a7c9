// Writes the `defer` outcome (DESIGN.md §5): one script schedules the timer that re-emits the event and acks the
// current delivery, so a deferred entry is never both acked and without its timer. Time and jitter are the
// caller's (see pipelines/deferral.ts); this only checks, encodes and writes. A deferral chain (the group's
// re-emissions of one event) is not dropped by the tombstone of an earlier, finished chain; a runAt schedule is.
import type { Redis } from 'ioredis';
import { ScriptError, ValidationError } from '../errors.js';
import type { KeyBuilder, PartitionKeys } from '../streams/keys.js';
import { defineScripts, runScript } from '../streams/scripts.js';
import { DEFAULT_MAX_TIMER_EVENT_BYTES, encodeTimer, scheduleResultOf } from './timer-request.js';
import type { EncodedTimer, ScheduleResult, TimerRequest } from './timer-request.js';

export interface DeferEntryRequest {
  readonly partition: PartitionKeys;
  readonly group: string;
  /** Only an entry this consumer still owns is deferred; another owner's entry is left to it. */
  readonly consumer: string;
  /** The delivery acked once the timer is written. */
  readonly entryId: string;
  /**
   * The re-emission: deterministic id, due time (jitter included), version and the event (with targetGroup); or
   * that request already checked and encoded by `prepareDeferTimer` (so a caller can refuse it before acting).
   */
  readonly timer: TimerRequest | EncodedTimer;
  /**
   * A deferral chain (version = run number of the group's re-emissions of one event): a tombstone left by an earlier,
   * finished chain does not drop it, the timer takes the version after the tombstone. Off (default) for a runAt
   * schedule, whose tombstone (fired or cancelled) wins.
   */
  readonly chain?: boolean;
}

export type DeferResult =
  | { readonly acked: true; readonly timer: ScheduleResult; readonly woke: boolean }
  | { readonly acked: false; readonly timer: 'not-owned'; readonly woke: false };

export interface DeferWriter {
  defer(request: DeferEntryRequest): Promise<DeferResult>;
  /** Checks and encodes a re-emission for `group` without writing; throws ValidationError. */
  prepare(group: string, timer: TimerRequest): EncodedTimer;
}

export interface DeferWriterDeps {
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  /** Cap on the re-emitted event's encoded size; default 64 KiB. */
  readonly maxEventBytes?: number;
}

export function createDeferWriter(deps: DeferWriterDeps): DeferWriter {
  const maxEventBytes = deps.maxEventBytes ?? DEFAULT_MAX_TIMER_EVENT_BYTES;
  defineScripts(deps.redis);
  return {
    defer: (request) => deferEntry(deps.redis, deps.keys, request, maxEventBytes),
    prepare: (group, timer) => prepareDeferTimer(group, timer, maxEventBytes),
  };
}

/** The checks of a re-emission (targetGroup = the group, then encodeTimer's); throws ValidationError, writes nothing. */
export function prepareDeferTimer(
  group: string,
  timer: TimerRequest,
  maxEventBytes = DEFAULT_MAX_TIMER_EVENT_BYTES,
): EncodedTimer {
  // a re-emission without its targetGroup would run again in every group subscribed to the type
  if (timer.event.targetGroup !== group) {
    throw new ValidationError(
      `defer of timer ${timer.id}: the re-emitted event must carry targetGroup "${group}", got ${String(timer.event.targetGroup)}`,
      [{ path: 'timer.event.targetGroup', message: `expected "${group}"` }],
    );
  }
  return encodeTimer(timer, maxEventBytes);
}

/** Schedules the re-emission and XACKs the entry in one script; validation first, timer write before XACK. */
export async function deferEntry(
  redis: Redis,
  keys: KeyBuilder,
  request: DeferEntryRequest,
  maxEventBytes = DEFAULT_MAX_TIMER_EVENT_BYTES,
): Promise<DeferResult> {
  const { partition, group, consumer, entryId } = request;
  const timer =
    'fieldsJson' in request.timer ? request.timer : prepareDeferTimer(group, request.timer, maxEventBytes);
  const reply = await runScript(
    redis,
    'defer',
    [
      partition.stream,
      partition.retry(group),
      partition.failures(group),
      partition.timers,
      partition.timerPayloads,
      partition.timerTombstones,
    ],
    [
      group,
      consumer,
      entryId,
      timer.id,
      String(timer.dueMs),
      String(timer.version),
      timer.fieldsJson,
      keys.timerWakeChannel,
      partition.tag,
      request.chain === true ? '1' : '0',
    ],
  );
  if (!Array.isArray(reply) || reply.length !== 3) {
    throw new ScriptError('defer', 0, `unexpected reply ${JSON.stringify(reply)}`);
  }
  const [acked, code, woke] = reply as unknown[];
  if (acked === 0) return { acked: false, timer: 'not-owned', woke: false };
  const result = scheduleResultOf(code);
  if (acked !== 1 || !result) throw new ScriptError('defer', 0, `unexpected reply ${JSON.stringify(reply)}`);
  return { acked: true, timer: result, woke: woke === 1 };
}
