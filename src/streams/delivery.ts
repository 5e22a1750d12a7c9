// A delivery: one stream entry handed to this consumer, with the counters the outcome contract needs.
import type { PartitionKeys } from './keys.js';

export type DeliverySource = 'new' | 'retry' | 'claimed';

export interface Delivery {
  readonly partition: PartitionKeys;
  readonly entryId: string;
  /** Raw field/value list of the stream entry. */
  readonly fields: readonly string[];
  /** Failed attempts before this one (kept with the retry hint, not Redis' delivery count). */
  readonly failures: number;
  /** Redis' delivery count when known (claims of idle entries); the crash-loop guard. */
  readonly deliveries: number;
  readonly source: DeliverySource;
}

/** Parses an XREADGROUP/XCLAIM entry `[id, [f, v, ...]]`; returns undefined for deleted entries. */
export function entryOf(raw: unknown): { id: string; fields: string[] } | undefined {
  if (!Array.isArray(raw) || typeof raw[0] !== 'string' || !Array.isArray(raw[1])) return undefined;
  return { id: raw[0], fields: raw[1] as string[] };
}
