// The Redis cache sink: JSON values with a TTL under `prefix:cache:namespace:id` (tickers, candles for readers).
import { ValidationError } from '../errors.js';
import type { KeyBuilder } from '../streams/keys.js';
import { pipelineResults } from '../streams/scripts.js';
import type { RedisClient } from '../streams/scripts.js';

export interface CacheWriterDeps {
  redis: RedisClient;
  keys: KeyBuilder;
}

/** One value to cache. */
export interface CacheEntry {
  readonly namespace: string;
  readonly id: string;
  /** Any JSON-serialisable value. */
  readonly value: unknown;
  /** Time to live, an integer > 0 ms. */
  readonly ttlMs: number;
}

export interface CacheWriter {
  /** Writes one value and its TTL in one SET ... PX. */
  put(namespace: string, id: string, value: unknown, ttlMs: number): Promise<void>;
  /** Writes many values in one pipeline; every entry is checked before anything is sent. */
  putMany(entries: readonly CacheEntry[]): Promise<void>;
  /** The cached value, or undefined when absent or expired. */
  get<T = unknown>(namespace: string, id: string): Promise<T | undefined>;
}

interface PreparedEntry {
  readonly key: string;
  readonly json: string;
  readonly ttlMs: number;
}

/** JSON.stringify with its real return type: undefined for undefined, functions and symbols. */
function stringify(value: unknown): string | undefined {
  return JSON.stringify(value);
}

export function createCacheWriter(deps: CacheWriterDeps): CacheWriter {
  const { redis, keys } = deps;

  function prepare(entry: CacheEntry): PreparedEntry {
    const key = keys.cache(entry.namespace, entry.id);
    if (!Number.isSafeInteger(entry.ttlMs) || entry.ttlMs <= 0) {
      throw new ValidationError(`cache ${key}: ttlMs must be an integer > 0, got ${entry.ttlMs}`, [
        { path: 'ttlMs', message: 'must be an integer > 0' },
      ]);
    }
    let json: string | undefined;
    try {
      json = stringify(entry.value);
    } catch (error) {
      throw new ValidationError(`cache ${key}: value is not JSON-serialisable`, [], { cause: error });
    }
    if (json === undefined) {
      throw new ValidationError(`cache ${key}: value is not JSON-serialisable (undefined or a function)`);
    }
    return { key, json, ttlMs: entry.ttlMs };
  }

  return {
    async put(namespace, id, value, ttlMs) {
      const entry = prepare({ namespace, id, value, ttlMs });
      await redis.set(entry.key, entry.json, 'PX', entry.ttlMs);
    },
    async putMany(entries) {
      const prepared = entries.map(prepare);
      if (prepared.length === 0) return;
      const pipeline = redis.pipeline();
      for (const entry of prepared) pipeline.set(entry.key, entry.json, 'PX', entry.ttlMs);
      pipelineResults(await pipeline.exec());
    },
    async get<T = unknown>(namespace: string, id: string): Promise<T | undefined> {
      const text = await redis.get(keys.cache(namespace, id));
      return text === null ? undefined : (JSON.parse(text) as T);
    },
  };
}
