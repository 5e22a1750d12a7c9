// Deletes a job's consumer group from its domain's partition streams (DESIGN.md §4: a group of a disabled job pins
// retention until an operator deletes it), refused while the group has pending entries unless forced.
import { ScriptError } from '../../errors.js';
import { assertKeyName } from '../../streams/keys.js';
import type { KeyBuilder } from '../../streams/keys.js';
import { runScript } from '../../streams/scripts.js';
import type { RedisClient } from '../../streams/scripts.js';
import { discoverStreams } from './stream-discovery.js';

export interface GroupDeleteOptions {
  readonly group: string;
  /** Only this domain; default every domain where the group exists. */
  readonly domain?: string;
  /** Delete even with pending entries (they are then never handled by this group). */
  readonly force?: boolean;
}

export interface GroupDeleteResult {
  readonly group: string;
  /**
   * `deleted`: gone from every partition stream; `refused`: it has pending entries and force was not given
   * (nothing was deleted unless another consumer made entries pending between the check and the delete, see
   * `deletedPartitions`); `absent`: no such group.
   */
  readonly status: 'deleted' | 'refused' | 'absent';
  /** Pending entries found (refused), or dropped (forced). */
  readonly pending: number;
  /** `domain:partition` of every partition stream the group was deleted from. */
  readonly deletedPartitions: readonly string[];
}

/** Checks every partition first, so a refusal normally deletes nothing; each partition's delete is atomic. */
export async function deleteGroup(
  redis: RedisClient,
  keys: KeyBuilder,
  options: GroupDeleteOptions,
): Promise<GroupDeleteResult> {
  const { group } = options;
  assertKeyName('group', group);
  const force = options.force ?? false;
  const domains = await discoverStreams(redis, keys, {
    group,
    ...(options.domain === undefined ? {} : { domain: options.domain }),
  });
  const partitions = domains.flatMap(({ domain, partitions: count }) =>
    Array.from({ length: count }, (_, index) => keys.partition(domain, index)),
  );
  if (partitions.length === 0) return { group, status: 'absent', pending: 0, deletedPartitions: [] };
  if (!force) {
    const pending = await Promise.all(partitions.map((p) => pendingCount(redis, p.stream, group)));
    const total = pending.reduce((a, b) => a + b, 0);
    if (total > 0) return { group, status: 'refused', pending: total, deletedPartitions: [] };
  }
  let pending = 0;
  let refused = 0;
  const deletedPartitions: string[] = [];
  for (const p of partitions) {
    const reply = await runScript(
      redis,
      'groupDelete',
      [p.stream, p.retry(group), p.failures(group)],
      [group, force ? '1' : '0'],
    );
    const [code, count] = codeOf(reply);
    if (code === 1) {
      deletedPartitions.push(`${p.domain}:${p.index}`);
      pending += count;
    } else if (code === 2) refused += count;
  }
  if (refused > 0) return { group, status: 'refused', pending: refused, deletedPartitions };
  return { group, status: deletedPartitions.length > 0 ? 'deleted' : 'absent', pending, deletedPartitions };
}

async function pendingCount(redis: RedisClient, stream: string, group: string): Promise<number> {
  try {
    const summary = await redis.xpending(stream, group);
    return Number(summary[0] ?? 0);
  } catch (error) {
    if (error instanceof Error && /NOGROUP|no such key/i.test(error.message)) return 0;
    throw error;
  }
}

function codeOf(reply: unknown): [number, number] {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw new ScriptError('groupDelete', 0, `unexpected reply ${JSON.stringify(reply)}`);
  }
  return [reply[0], reply[1]];
}
