// Fixes a domain's partition count in Redis the first time it is used, and refuses a worker configured otherwise.
import { PartitionMismatchError, ScriptError, ValidationError } from '../errors.js';
import { assertKeyName } from '../streams/keys.js';
import type { KeyBuilder } from '../streams/keys.js';
import { runScript } from '../streams/scripts.js';
import type { RedisClient } from '../streams/scripts.js';
import { MAX_PARTITIONS, isPartitionCount } from './partition.js';

/** Records `partitions` for `domain` if none is stored; throws PartitionMismatchError if another count is. */
export async function ensurePartitionCount(
  redis: RedisClient,
  keys: KeyBuilder,
  domain: string,
  partitions: number,
): Promise<void> {
  assertKeyName('domain', domain);
  if (!isPartitionCount(partitions)) {
    throw new ValidationError(
      `partition count of domain "${domain}" must be an integer in 1..${MAX_PARTITIONS}, got ${String(partitions)}`,
      [{ path: 'partitions', message: `expected an integer in 1..${MAX_PARTITIONS}` }],
    );
  }
  const stored = await runScript(redis, 'partitionCount', [keys.partitionCounts], [domain, partitions]);
  if (typeof stored !== 'number') {
    throw new ScriptError(
      'partitionCount',
      0,
      `expected the stored count as an integer, got ${String(stored)}`,
    );
  }
  if (stored !== partitions) throw new PartitionMismatchError(domain, stored, partitions);
}
