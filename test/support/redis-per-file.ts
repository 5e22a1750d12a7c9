// One private redis-server and one client for a whole test file: started in beforeAll, closed in afterAll.
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startRedisServer, type RedisServerHandle, type RedisServerOptions } from './redis-server.js';

export interface RedisPerFile {
  /** Available from beforeAll on. */
  readonly redis: Redis;
  readonly server: RedisServerHandle;
}

export function useRedisPerFile(options?: RedisServerOptions): RedisPerFile {
  let server: RedisServerHandle | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    server = await startRedisServer(options);
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.shutdown();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useRedisPerFile: used before beforeAll ran');
    return value;
  };
  return {
    get redis() {
      return started(redis);
    },
    get server() {
      return started(server);
    },
  };
}
