// Loads the Lua scripts in ./lua (named `name-<numKeys>.lua`) with ioredis defineCommand and calls them with
// the key count checked; the one place that maps script return codes to typed errors.
import { readFileSync } from 'node:fs';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { ScriptError } from '../errors.js';

export const SCRIPT_FILES = {
  publishEvent: 'publish-5.lua',
  seenCheck: 'seen-check-4.lua',
  ackAndMark: 'ack-and-mark-4.lua',
  retryLater: 'retry-later-3.lua',
  deadLetter: 'dead-letter-4.lua',
  claimDue: 'claim-due-3.lua',
  claimIdle: 'claim-idle-3.lua',
  heartbeat: 'heartbeat-1.lua',
  release: 'release-2.lua',
  partitionCount: 'partition-count-1.lua',
  trim: 'trim-1.lua',
  timerSchedule: 'timer-schedule-3.lua',
  timerCancel: 'timer-cancel-4.lua',
  timerMove: 'timer-move-6.lua',
  defer: 'defer-6.lua',
  rateLimit: 'rate-limit-1.lua',
  barUpdate: 'bar-update-2.lua',
  cronAdvance: 'cron-advance-1.lua',
  cronSettle: 'cron-settle-1.lua',
  cronLockRefresh: 'cron-lock-refresh-1.lua',
  cronLockRelease: 'cron-lock-release-1.lua',
  groupDelete: 'group-delete-3.lua',
  dlqRequeue: 'dlq-requeue-2.lua',
  replayEmit: 'replay-emit-1.lua',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;
export type RedisClient = Redis | Cluster;
export type ScriptArg = string | number;

interface LoadedScript {
  readonly lua: string;
  readonly numberOfKeys: number;
}

const sources = new Map<ScriptName, LoadedScript>();
const defined = new WeakSet<object>();

/** Script return codes; anything negative is a refusal from the script's own argument checks. */
const CODE_MESSAGES: Record<number, string> = {
  [-1]: 'malformed arguments (refused before any write)',
};

function source(name: ScriptName): LoadedScript {
  let loaded = sources.get(name);
  if (!loaded) {
    const file = SCRIPT_FILES[name];
    const match = /-(\d+)\.lua$/.exec(file);
    if (!match?.[1]) throw new ScriptError(name, 0, `script file ${file} does not end in -<numKeys>.lua`);
    loaded = {
      lua: readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8'),
      numberOfKeys: Number(match[1]),
    };
    sources.set(name, loaded);
  }
  return loaded;
}

/** Defines every script on a client once (EVALSHA with automatic fallback to EVAL, pipelines included). */
export function defineScripts(client: RedisClient): void {
  if (defined.has(client)) return;
  for (const name of Object.keys(SCRIPT_FILES) as ScriptName[]) {
    const { lua, numberOfKeys } = source(name);
    client.defineCommand(name, { lua, numberOfKeys });
  }
  defined.add(client);
}

type ScriptMethod = (...args: ScriptArg[]) => unknown;

function method(target: object, name: ScriptName): ScriptMethod {
  const fn = (target as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new ScriptError(name, 0, 'script not defined on this client');
  return fn as ScriptMethod;
}

function checkKeys(name: ScriptName, keys: readonly string[]): void {
  const expected = source(name).numberOfKeys;
  if (keys.length !== expected) {
    throw new ScriptError(name, 0, `expects ${expected} keys, got ${keys.length}`);
  }
}

/** Runs a script and maps a negative return code to a ScriptError. */
export async function runScript(
  client: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  defineScripts(client);
  checkKeys(name, keys);
  const result: unknown = await method(client, name).call(client, ...keys, ...args);
  return checkScriptResult(name, result);
}

/** Queues a script on a pipeline; check each reply with checkScriptResult after exec. */
export function queueScript(
  pipeline: ChainableCommander,
  name: ScriptName,
  keys: readonly string[],
  args: readonly ScriptArg[],
): void {
  checkKeys(name, keys);
  method(pipeline, name).call(pipeline, ...keys, ...args);
}

export function checkScriptResult(name: ScriptName, result: unknown): unknown {
  if (typeof result === 'number' && result < 0) {
    throw new ScriptError(name, result, CODE_MESSAGES[result] ?? `unexpected code ${result}`);
  }
  return result;
}

/** One pipeline reply: its value, or its error (script refusals included). */
export type SettledReply = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Pipeline replies one by one: a script that already wrote (XCLAIM, ZREM) must have its reply used even
 * when another partition's call in the same pipeline failed.
 */
export function settledReplies(
  names: readonly ScriptName[] | ScriptName,
  results: [Error | null, unknown][] | null,
): SettledReply[] {
  if (!results) throw new ScriptError('pipeline', 0, 'pipeline was discarded');
  return results.map(([error, value], i) => {
    if (error) return { ok: false, error };
    const name = typeof names === 'string' ? names : (names[i] ?? 'pipeline');
    try {
      return { ok: true, value: checkScriptResult(name as ScriptName, value) };
    } catch (refusal) {
      return { ok: false, error: refusal };
    }
  });
}

/** Unwraps pipeline.exec() results, throwing the first error. */
export function pipelineResults(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new ScriptError('pipeline', 0, 'pipeline was discarded');
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
