// The acker: writes outcomes (ack + dedupe mark, retry hint, DLQ) in batches: one pipeline per flush, one
// script call per partition and kind. At most one flush is in flight; outcomes arriving meanwhile form the
// next batch, so batches grow with load and an idle consumer waits no extra time.
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { DedupeWindow } from './dedupe-window.js';
import type { Delivery } from './delivery.js';
import type { PartitionKeys } from './keys.js';
import { checkScriptResult, pipelineResults, queueScript, type ScriptName } from './scripts.js';

export interface OutcomeWriter {
  /** XACK; `markEventId` also marks the event as done for the group's dedupe window. */
  ack(delivery: Delivery, markEventId?: string): Promise<void>;
  /** Leave pending with a retry hint due in `delayMs`, recording the failure count. */
  retry(delivery: Delivery, delayMs: number, failures: number): Promise<void>;
  /** XADD the DLQ entry (field/value list) then XACK. */
  dead(delivery: Delivery, dlqFields: readonly string[]): Promise<void>;
}

export interface OutcomeWriterOptions {
  readonly redis: Redis;
  readonly group: string;
  readonly consumer: string;
  readonly dedupe: DedupeWindow;
  readonly clock?: Clock;
  /** Approximate MAXLEN of DLQ streams (0 = none; the trimmer owns age retention). */
  readonly dlqMaxLen?: number;
}

/** Longest a retry hint may wait (30 days): anything longer belongs in the scheduler's timers. */
export const MAX_HINT_DELAY_MS = 30 * 24 * 3_600_000;

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

interface PartitionBatch {
  readonly partition: PartitionKeys;
  readonly marks: string[];
  readonly acks: string[];
  readonly retries: (string | number)[];
  readonly dead: (string | number)[];
  deadCount: number;
}

export function createOutcomeWriter(options: OutcomeWriterOptions): OutcomeWriter {
  const { redis, group, consumer, dedupe } = options;
  const clock = options.clock ?? systemClock;
  const dlqMaxLen = options.dlqMaxLen ?? 0;
  let batches = new Map<string, PartitionBatch>();
  let waiters: Waiter[] = [];
  let flushing = false;

  function batchFor(partition: PartitionKeys): PartitionBatch {
    let batch = batches.get(partition.stream);
    if (!batch) {
      batch = { partition, marks: [], acks: [], retries: [], dead: [], deadCount: 0 };
      batches.set(partition.stream, batch);
    }
    return batch;
  }

  function enqueue(fill: (batch: PartitionBatch) => void, partition: PartitionKeys): Promise<void> {
    fill(batchFor(partition));
    const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    if (!flushing) {
      flushing = true;
      setImmediate(() => void flushLoop());
    }
    return done;
  }

  async function flushLoop(): Promise<void> {
    while (waiters.length > 0) {
      const current = batches;
      const currentWaiters = waiters;
      batches = new Map();
      waiters = [];
      try {
        await write([...current.values()]);
        for (const w of currentWaiters) w.resolve();
      } catch (error) {
        for (const w of currentWaiters) w.reject(error);
      }
    }
    flushing = false;
  }

  async function write(list: PartitionBatch[]): Promise<void> {
    const pipeline = redis.pipeline();
    const names: ScriptName[] = [];
    const bucket = dedupe.bucketsAt(clock.now())[0] ?? 0;
    for (const b of list) {
      const p = b.partition;
      if (b.acks.length > 0) {
        queueScript(
          pipeline,
          'ackAndMark',
          [p.stream, p.retry(group), p.failures(group), p.seen(group, bucket)],
          [group, dedupe.bucketTtlMs, b.marks.length, ...b.marks, ...b.acks],
        );
        names.push('ackAndMark');
      }
      if (b.retries.length > 0) {
        queueScript(
          pipeline,
          'retryLater',
          [p.stream, p.retry(group), p.failures(group)],
          [group, consumer, ...b.retries],
        );
        names.push('retryLater');
      }
      if (b.deadCount > 0) {
        queueScript(
          pipeline,
          'deadLetter',
          [p.stream, p.dlq, p.retry(group), p.failures(group)],
          [group, consumer, dlqMaxLen, b.deadCount, ...b.dead],
        );
        names.push('deadLetter');
      }
    }
    const replies = pipelineResults(await pipeline.exec());
    replies.forEach((reply, i) => checkScriptResult(names[i] ?? 'ackAndMark', reply));
  }

  return {
    ack(delivery, markEventId) {
      return enqueue((b) => {
        if (markEventId !== undefined) b.marks.push(markEventId);
        b.acks.push(delivery.entryId);
      }, delivery.partition);
    },
    retry(delivery, delayMs, failures) {
      const delay = Number.isFinite(delayMs)
        ? Math.min(MAX_HINT_DELAY_MS, Math.max(0, Math.round(delayMs)))
        : 0;
      return enqueue((b) => b.retries.push(delivery.entryId, delay, failures), delivery.partition);
    },
    dead(delivery, dlqFields) {
      return enqueue((b) => {
        b.dead.push(delivery.entryId, dlqFields.length, ...dlqFields);
        b.deadCount += 1;
      }, delivery.partition);
    },
  };
}
