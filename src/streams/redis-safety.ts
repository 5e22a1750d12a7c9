// The startup guard of DESIGN.md §5 (Guarantee): refuses a Redis that could lose acknowledged work (no AOF,
// an evicting maxmemory-policy) unless the operator explicitly allows it, in which case it warns loudly once.
import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import { UnsafeRedisError } from '../errors.js';

/** The environment variable an operator sets to start on an unsafe Redis anyway. */
export const ALLOW_UNSAFE_REDIS_VARIABLE = 'ALLOW_UNSAFE_REDIS';

export interface RedisSafetyLogger {
  warn(obj: object, msg: string): void;
}

export interface RedisSafetyOptions {
  /** ALLOW_UNSAFE_REDIS=true: warn instead of refusing. */
  allowUnsafe: boolean;
  logger?: RedisSafetyLogger;
}

export interface RedisSafetyReport {
  safe: boolean;
  problems: string[];
}

/**
 * Reads `INFO persistence` and `INFO memory` (INFO works on managed Redis where CONFIG is disabled) of every
 * node that holds data (each master of a cluster) and reports what could lose acknowledged work.
 */
export async function checkRedisSafety(
  redis: Redis | Cluster,
  options: RedisSafetyOptions,
): Promise<RedisSafetyReport> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const problems: string[] = [];
  for (const node of nodes) {
    // A label only for clusters: on one server the node is obvious and the message stays short.
    const where = redis instanceof Cluster ? `${node.options.host ?? '?'}:${node.options.port ?? '?'}: ` : '';
    const [persistence, memory] = await Promise.all([node.info('persistence'), node.info('memory')]);
    for (const problem of nodeProblems(parseInfo(persistence), parseInfo(memory))) {
      problems.push(where + problem);
    }
  }
  const report = { safe: problems.length === 0, problems };
  if (report.safe) return report;
  if (!options.allowUnsafe) {
    throw new UnsafeRedisError(
      `Redis cannot guarantee at-least-once delivery: ${problems.join('; ')}. ` +
        'Expected appendonly yes and maxmemory-policy noeviction; ' +
        `set ${ALLOW_UNSAFE_REDIS_VARIABLE}=true to start anyway and accept the loss.`,
    );
  }
  options.logger?.warn(
    { problems, override: `${ALLOW_UNSAFE_REDIS_VARIABLE}=true` },
    `UNSAFE REDIS: starting anyway because ${ALLOW_UNSAFE_REDIS_VARIABLE}=true; acknowledged work may be lost`,
  );
  return report;
}

function nodeProblems(persistence: Map<string, string>, memory: Map<string, string>): string[] {
  const problems: string[] = [];
  const aof = persistence.get('aof_enabled');
  if (aof === undefined) {
    problems.push('INFO persistence has no aof_enabled field: cannot tell whether appendonly is on');
  } else if (aof !== '1') {
    problems.push('appendonly is no: acknowledged work is lost when Redis restarts');
  }
  const policy = memory.get('maxmemory_policy');
  if (policy === undefined) {
    problems.push('INFO memory has no maxmemory_policy field: cannot tell whether Redis may evict keys');
  } else if (policy !== 'noeviction') {
    problems.push(`maxmemory-policy is ${policy}: Redis may evict stream entries`);
  }
  return problems;
}

/** INFO text -> field map; section headers (`# Memory`) and blank lines are skipped. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}
