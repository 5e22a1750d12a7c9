// The shared set-up of the commerce job tests: a private redis-server, the mock Commerce and external services, and a
// `start` that runs a worker with the commerce pack and the file's environment; hooks registered for the calling file.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createCommercePack, type CommercePackDeps } from '../../src/jobs/commerce/pack.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { startPackWorker, type PackWorker } from './job-pack-worker.js';
import {
  commerceEnv,
  startMockCommerce,
  startMockExternal,
  type MockCommerce,
  type MockExternal,
} from './mock-commerce.js';
import { testPrefix } from './prefix.js';
import { useRedisPerFile, type RedisPerFile } from './redis-per-file.js';

export interface CommerceWorkerOptions {
  /** The test file's `import.meta.url`, for its key prefix. */
  readonly url: string;
  /** Variables every `start` of this file sets (the jobs to enable); `start(extra)` adds or overrides. */
  readonly env: Record<string, string>;
  /** Dependencies handed to the pack, read at each `start`. */
  readonly packDeps?: () => CommercePackDeps;
  /** One mock Commerce for the whole file instead of a fresh one per test. */
  readonly commercePerFile?: boolean;
  /** Clear the external mock's scripts and records before each test (default true). */
  readonly resetExternal?: boolean;
}

export interface CommerceWorker {
  readonly db: RedisPerFile;
  readonly commerce: MockCommerce;
  readonly external: MockExternal;
  readonly start: (extra?: Record<string, string>) => Promise<PackWorker>;
}

export function useCommerceWorker(options: CommerceWorkerOptions): CommerceWorker {
  const db = useRedisPerFile({ appendonly: true });
  const prefix = testPrefix(options.url);
  const keys = generateServiceKeyPair();
  const perFile = options.commercePerFile ?? false;
  let commerce: MockCommerce | undefined;
  let external: MockExternal | undefined;
  let running: PackWorker | undefined;
  let run = 0;

  beforeAll(async () => {
    external = await startMockExternal();
    if (perFile) commerce = await startMockCommerce({ publicJwks: [keys.publicJwk] });
  });
  afterAll(async () => {
    await external?.close();
    if (perFile) await commerce?.close();
  });
  beforeEach(async () => {
    if (options.resetExternal ?? true) external?.reset();
    if (!perFile) commerce = await startMockCommerce({ publicJwks: [keys.publicJwk] });
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    if (!perFile) await commerce?.close();
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started (use it inside a test)`);
    return value;
  };

  return {
    db,
    get commerce() {
      return need(commerce, 'mock Commerce');
    },
    get external() {
      return need(external, 'mock external services');
    },
    start: async (extra = {}) => {
      run += 1;
      const env = commerceEnv(
        need(commerce, 'mock Commerce'),
        need(external, 'mock external services'),
        keys.privateJwk,
        {
          ...options.env,
          ...extra,
        },
      );
      running = await startPackWorker({
        redis: db.redis,
        redisUrl: db.server.url,
        prefix: `${prefix}-${run}`,
        pack: createCommercePack(env, options.packDeps?.()),
        env,
      });
      return running;
    },
  };
}
