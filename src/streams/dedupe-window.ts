// Time-bucketed dedupe sets: a window is covered by DEDUPE_BUCKETS fixed buckets, so every dedupe script
// has a fixed number of KEYS and memory stays rate x window x bytes instead of one key per event.
import { ValidationError } from '../errors.js';

/** Buckets checked per lookup: the current one plus enough older ones to cover the window. */
export const DEDUPE_BUCKETS = 4;

export interface DedupeWindow {
  readonly windowMs: number;
  readonly bucketMs: number;
  /** Bucket numbers to check at `nowMs`, newest first; the first one is where new marks go. */
  bucketsAt(nowMs: number): number[];
  /** How long a bucket must live after its last write: its own span plus the window. */
  readonly bucketTtlMs: number;
}

export function createDedupeWindow(windowMs: number): DedupeWindow {
  if (!Number.isInteger(windowMs) || windowMs < 1000) {
    throw new ValidationError(`dedupe window must be an integer of at least 1000 ms, got ${windowMs}`);
  }
  const bucketMs = Math.ceil(windowMs / (DEDUPE_BUCKETS - 1));
  return {
    windowMs,
    bucketMs,
    bucketTtlMs: windowMs + bucketMs,
    bucketsAt(nowMs) {
      const current = Math.floor(nowMs / bucketMs);
      return Array.from({ length: DEDUPE_BUCKETS }, (_, i) => current - i);
    },
  };
}
