// The documented partition function: FNV-1a 32-bit over the UTF-8 bytes of the partition key, modulo N.
// Producers in other languages must compute exactly this, so it never changes without a migration.
import { ValidationError } from '../errors.js';

export const MAX_PARTITIONS = 1024;
const FNV_OFFSET_BASIS = 2166136261;
const FNV_PRIME = 16777619;
const utf8 = new TextEncoder();

/** FNV-1a 32-bit hash of the UTF-8 bytes of `key`, as an unsigned integer (lone surrogates encode as U+FFFD). */
export function fnv1a32(key: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    // ASCII is its own UTF-8 encoding; anything else is hashed from the encoder's bytes.
    if (unit >= 0x80) return hashBytes(hash, utf8.encode(key.slice(i)));
    hash = Math.imul(hash ^ unit, FNV_PRIME) >>> 0;
  }
  return hash;
}

/** True for a partition count this project supports: an integer in 1..MAX_PARTITIONS. */
export function isPartitionCount(partitions: number): boolean {
  return Number.isInteger(partitions) && partitions >= 1 && partitions <= MAX_PARTITIONS;
}

/** The partition (0..partitions-1) an event with this key lands in. */
export function partitionOf(key: string, partitions: number): number {
  if (!isPartitionCount(partitions)) {
    throw new ValidationError(
      `partition count must be an integer in 1..${MAX_PARTITIONS}, got ${String(partitions)}`,
      [{ path: 'partitions', message: `expected an integer in 1..${MAX_PARTITIONS}` }],
    );
  }
  return fnv1a32(key) % partitions;
}

function hashBytes(start: number, bytes: Uint8Array): number {
  let hash = start;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, FNV_PRIME) >>> 0;
  return hash;
}
