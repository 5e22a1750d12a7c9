// The periodic retention pass: every interval, trims each partition stream of the worker's domains up to its
// safe id and each DLQ by count and age, with the per-domain policy from config. Errors are reported, not fatal.
import { EventEmitter } from 'node:events';
import { abortableSleep } from './credit-source.js';
import type { Trimmer, TrimResult } from './trimmer.js';

export interface RetentionPolicy {
  readonly minRetentionMs: number;
  readonly hardCap: number;
  /** Domains that drop their oldest unacked entries over the hard cap (explicit policy, counted). */
  readonly dropUnackedDomains: readonly string[];
  readonly dlqMaxLen: number;
  readonly dlqMaxAgeMs: number;
}

export interface RetentionDomain {
  readonly domain: string;
  readonly partitions: number;
  /** Groups this process runs on the domain; groups of other processes are seen on the stream itself. */
  readonly groups: readonly string[];
}

export interface RetentionEvents {
  trimmed: [{ domain: string; partition: number; result: TrimResult; dlqTrimmed: number }];
  error: [{ domain: string; partition: number; error: unknown }];
}

export interface RetentionLoop extends EventEmitter<RetentionEvents> {
  start(): void;
  /** Stops after the pass in progress. */
  stop(): Promise<void>;
  /** One pass over every partition (also what each interval runs). */
  runOnce(): Promise<void>;
}

export function createRetentionLoop(options: {
  readonly trimmer: Trimmer;
  readonly domains: readonly RetentionDomain[];
  readonly policy: RetentionPolicy;
  readonly intervalMs: number;
}): RetentionLoop {
  const { trimmer, domains, policy, intervalMs } = options;
  const stopping = new AbortController();
  let loop: Promise<void> | undefined;

  async function trimOne(target: RetentionDomain, partition: number): Promise<void> {
    try {
      const result = await trimmer.trimPartition({
        domain: target.domain,
        partition,
        groups: target.groups,
        minRetentionMs: policy.minRetentionMs,
        hardCap: policy.hardCap,
        dropUnackedOverCap: policy.dropUnackedDomains.includes(target.domain),
      });
      const dlq = await trimmer.trimDlq({
        domain: target.domain,
        partition,
        maxLen: policy.dlqMaxLen,
        maxAgeMs: policy.dlqMaxAgeMs,
      });
      emitter.emit('trimmed', { domain: target.domain, partition, result, dlqTrimmed: dlq.trimmed });
    } catch (error) {
      emitter.emit('error', { domain: target.domain, partition, error });
    }
  }

  async function runOnce(): Promise<void> {
    for (const target of domains) {
      for (let partition = 0; partition < target.partitions; partition += 1) {
        if (stopping.signal.aborted) return;
        await trimOne(target, partition);
      }
    }
  }

  const emitter = new EventEmitter<RetentionEvents>();
  return Object.assign(emitter, {
    runOnce,
    start() {
      if (loop !== undefined || intervalMs <= 0) return;
      loop = (async () => {
        while (!stopping.signal.aborted) {
          await abortableSleep(intervalMs, stopping.signal);
          await runOnce();
        }
      })();
    },
    async stop() {
      stopping.abort();
      await loop;
    },
  });
}
