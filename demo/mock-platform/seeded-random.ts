// Deterministic randomness for the mock platform: a seeded PRNG per service and stable shares per entity.
import { createHash } from 'node:crypto';

/** A PRNG returning floats in [0, 1). */
export type Random = () => number;

/** A stable 32-bit integer for (seed, ...parts). */
export function hash32(seed: string | number, ...parts: readonly string[]): number {
  return createHash('sha256')
    .update(JSON.stringify([String(seed), ...parts]))
    .digest()
    .readUInt32BE(0);
}

/** A stable number in [0, 1) for (seed, ...parts): whether an entity falls in a share does not depend on call order. */
export function shareOf(seed: string | number, ...parts: readonly string[]): number {
  return hash32(seed, ...parts) / 2 ** 32;
}

/** mulberry32 seeded from (seed, stream): the same seed and the same calls give the same numbers. */
export function seededRandom(seed: string | number, stream: string): Random {
  let state = hash32(seed, stream);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
