// The Idempotency-Key of a mutation: a pure function of the job and its logic epoch, never of time or randomness.
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';

/** What a logic epoch is made of: ids, versions, due times (a Date counts as its epoch milliseconds). */
export type EpochPart = string | number | bigint | Date;

/** Longest readable key; longer ones are hashed. */
export const IDEMPOTENCY_KEY_MAX_CHARS = 128;
const JOB_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Parts made only of these stay readable; `:` separates them and `~` marks a hashed key, so neither is allowed. */
const READABLE_PART = /^[A-Za-z0-9_.+-]+$/;
const HASH_HEX_CHARS = 32;

function partText(part: EpochPart, index: number): string {
  const path = `parts.${index}`;
  if (typeof part === 'string') {
    if (part === '')
      throw new ValidationError(`idempotency key part ${index} is empty`, [{ path, message: 'is empty' }]);
    return part;
  }
  if (typeof part === 'number') {
    if (!Number.isFinite(part)) {
      throw new ValidationError(`idempotency key part ${index} is ${part}`, [
        { path, message: 'is not finite' },
      ]);
    }
    return String(part === 0 ? 0 : part);
  }
  if (typeof part === 'bigint') return part.toString();
  if (part instanceof Date) {
    if (Number.isNaN(part.getTime())) {
      throw new ValidationError(`idempotency key part ${index} is an invalid Date`, [
        { path, message: 'is an invalid Date' },
      ]);
    }
    return String(part.getTime());
  }
  const got = part === null ? 'null' : typeof part;
  throw new ValidationError(`idempotency key part ${index} is ${got}`, [
    { path, message: `expected a string, finite number, bigint or Date, got ${got}` },
  ]);
}

/**
 * `idempotencyKey('cfb.settle', betId, tEnd)` -> `cfb.settle:<betId>:<tEnd>` while that is short and made of
 * safe characters, otherwise `cfb.settle~<sha256 hex prefix>` of the parts. The same inputs give the same key
 * in every process, so retries, redeliveries and restarts all send the same key.
 */
export function idempotencyKey(job: string, ...epoch: readonly EpochPart[]): string {
  if (typeof job !== 'string' || !JOB_NAME.test(job)) {
    throw new ValidationError('idempotency key needs a job name of 1-64 chars [A-Za-z0-9_.-]', [
      { path: 'job', message: 'is not a job name' },
    ]);
  }
  if (epoch.length === 0) {
    throw new ValidationError(`idempotency key of ${job} needs at least one epoch part`, [
      { path: 'parts', message: 'is empty' },
    ]);
  }
  const parts = epoch.map(partText);
  const readable = `${job}:${parts.join(':')}`;
  if (readable.length <= IDEMPOTENCY_KEY_MAX_CHARS && parts.every((p) => READABLE_PART.test(p)))
    return readable;
  const digest = createHash('sha256')
    .update(JSON.stringify([job, ...parts]))
    .digest('hex');
  return `${job}~${digest.slice(0, HASH_HEX_CHARS)}`;
}
