// Finds what Redis holds, independent of the job catalog: the domains with a stored partition count and the
// consumer groups on their partition streams. Operator commands work from this, so they see disabled jobs too.
import { ScriptError, ValidationError } from '../../errors.js';
import { assertKeyName } from '../../streams/keys.js';
import type { KeyBuilder } from '../../streams/keys.js';
import type { RedisClient } from '../../streams/scripts.js';

export interface DiscoveredDomain {
  readonly domain: string;
  /** The partition count stored for the domain. */
  readonly partitions: number;
  /** Every group present on at least one of its partition streams, sorted. */
  readonly groups: readonly string[];
}

export interface DiscoverOptions {
  /** Only this domain (a ValidationError when Redis has no partition count for it). */
  readonly domain?: string;
  /** Only domains where this group exists. */
  readonly group?: string;
}

/** Domains (from the partition-count hash) with their groups (XINFO GROUPS of each partition stream), sorted. */
export async function discoverStreams(
  redis: RedisClient,
  keys: KeyBuilder,
  options: DiscoverOptions = {},
): Promise<DiscoveredDomain[]> {
  if (options.domain !== undefined) assertKeyName('domain', options.domain);
  if (options.group !== undefined) assertKeyName('group', options.group);
  const counts = await redis.hgetall(keys.partitionCounts);
  if (options.domain !== undefined && counts[options.domain] === undefined) {
    const known = Object.keys(counts).sort();
    throw new ValidationError(
      `domain "${options.domain}" has no streams in Redis (known domains: ${known.join(', ') || 'none'})`,
      [{ path: 'domain', message: 'unknown domain' }],
    );
  }
  const domains = Object.entries(counts)
    .filter(([domain]) => options.domain === undefined || domain === options.domain)
    .map(([domain, raw]) => ({ domain, partitions: partitionCount(domain, raw) }))
    .sort((a, b) => a.domain.localeCompare(b.domain));
  const found = await Promise.all(
    domains.map(async ({ domain, partitions }) => ({
      domain,
      partitions,
      groups: await groupsOf(redis, keys, domain, partitions),
    })),
  );
  return found.filter(({ groups }) => options.group === undefined || groups.includes(options.group));
}

/** Group names on the domain's partition streams (a missing stream has none). */
export async function groupsOf(
  redis: RedisClient,
  keys: KeyBuilder,
  domain: string,
  partitions: number,
): Promise<string[]> {
  const perPartition = await Promise.all(
    Array.from({ length: partitions }, async (_, index) => {
      const stream = keys.partition(domain, index).stream;
      try {
        return groupNames(await redis.xinfo('GROUPS', stream));
      } catch (error) {
        if (error instanceof Error && /no such key/i.test(error.message)) return [];
        throw error;
      }
    }),
  );
  return [...new Set(perPartition.flat())].sort();
}

/** The partition count Redis stores for a domain, or `fallback` when none is stored yet. */
export async function storedPartitionCount(
  redis: RedisClient,
  keys: KeyBuilder,
  domain: string,
  fallback: number,
): Promise<number> {
  assertKeyName('domain', domain);
  const raw = await redis.hget(keys.partitionCounts, domain);
  return raw === null ? fallback : partitionCount(domain, raw);
}

function partitionCount(domain: string, raw: string): number {
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) {
    throw new ScriptError('discover', 0, `partition count of domain ${domain} is "${raw}" in Redis`);
  }
  return count;
}

function groupNames(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  const names: string[] = [];
  for (const flat of reply as unknown[]) {
    if (!Array.isArray(flat)) continue;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (flat[i] === 'name' && typeof flat[i + 1] === 'string') names.push(flat[i + 1] as string);
    }
  }
  return names;
}
