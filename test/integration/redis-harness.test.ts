// Tests of the real-Redis test harness itself: private redis-server processes, crash/freeze/restart, missing Redis.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testPrefix } from '../support/prefix.js';
import { dockerEngineAvailable, resolveRedisServerBin, startRedisServer } from '../support/redis-server.js';
import type { RedisServerHandle } from '../support/redis-server.js';

const prefix = testPrefix(import.meta.url);
// With a Docker engine present the harness would (correctly) fall back to a container instead of failing.
const dockerPresent = await dockerEngineAvailable();
const clients: Redis[] = [];

function connect(server: RedisServerHandle, options: RedisOptions = {}): Redis {
  const client = new Redis(server.url, { maxRetriesPerRequest: 1, ...options });
  clients.push(client);
  return client;
}

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

describe('startRedisServer', () => {
  let server: RedisServerHandle;

  beforeAll(async () => {
    server = await startRedisServer({ maxmemoryPolicy: 'allkeys-lru' });
  });
  afterAll(async () => {
    await server.shutdown();
  });

  it('starts a private server on a free port that answers PING', async () => {
    expect(server.port).not.toBe(6379);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.pid).toBeTypeOf('number');
    await expect(connect(server).ping()).resolves.toBe('PONG');
  });

  it('applies maxmemoryPolicy', async () => {
    await expect(connect(server).config('GET', 'maxmemory-policy')).resolves.toEqual([
      'maxmemory-policy',
      'allkeys-lru',
    ]);
  });

  it('stop() freezes the server and cont() lets the pending command through', async () => {
    const client = connect(server);
    const impatient = connect(server, { commandTimeout: 100 });
    await Promise.all([client.ping(), impatient.ping()]);

    await server.stop();
    const pending = client.set(`${prefix}:frozen`, 'v');
    const first = await Promise.race([pending, delay(300, 'stalled')]);
    expect(first).toBe('stalled');
    await expect(impatient.ping()).rejects.toThrow('Command timed out');

    await server.cont();
    await expect(pending).resolves.toBe('OK');
  });
});

describe('crash and restart', () => {
  it('keeps data written with appendfsync always across kill9 + restart', async () => {
    const server = await startRedisServer({ appendonly: true, appendfsync: 'always' });
    try {
      const writer = connect(server);
      await writer.set(`${prefix}:durable`, 'survives');
      writer.disconnect();
      const pidBefore = server.pid;

      await server.kill9();
      expect(() => process.kill(pidBefore ?? -1, 0)).toThrow();
      await server.restart();

      expect(server.pid).not.toBe(pidBefore);
      await expect(connect(server).get(`${prefix}:durable`)).resolves.toBe('survives');
    } finally {
      await server.shutdown();
    }
  });
});

describe('shutdown', () => {
  it('stops the process, removes the data dir and is idempotent', async () => {
    const server = await startRedisServer();
    const { dataDir, pid } = server;
    expect(existsSync(dataDir)).toBe(true);

    await server.shutdown();
    await server.shutdown();

    expect(existsSync(dataDir)).toBe(false);
    expect(() => process.kill(pid ?? -1, 0)).toThrow();
  });
});

describe('when redis-server is missing', () => {
  let emptyDir: string;

  beforeAll(async () => {
    emptyDir = await mkdtemp(join(tmpdir(), 'fuze-no-redis-'));
  });
  afterAll(async () => {
    await rm(emptyDir, { recursive: true, force: true });
  });

  it('resolves the binary from REDIS_SERVER_BIN or PATH only', () => {
    const found = resolveRedisServerBin();
    expect(found).toMatch(/redis-server$/);
    expect(resolveRedisServerBin({ PATH: emptyDir })).toBeUndefined();
    expect(resolveRedisServerBin({ PATH: emptyDir, REDIS_SERVER_BIN: found })).toBe(found);
    expect(() => resolveRedisServerBin({ REDIS_SERVER_BIN: join(emptyDir, 'nope') })).toThrow(
      /REDIS_SERVER_BIN/,
    );
  });

  it.skipIf(dockerPresent)(
    'fails with a message that says what is missing and how to install Redis',
    async () => {
      const harness = new URL('../support/redis-server.ts', import.meta.url).href;
      const script = `import { startRedisServer } from ${JSON.stringify(harness)};
        try { await startRedisServer(); console.log('started'); } catch (error) { console.log(error.message); }`;
      // Node 24 strips TypeScript types natively, so the harness runs in a child with a PATH lacking redis-server.
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        cwd: process.cwd(),
        env: { PATH: emptyDir, HOME: emptyDir, DOCKER_HOST: `unix://${join(emptyDir, 'docker.sock')}` },
        timeout: 15_000,
      });
      expect(stdout).toContain('redis-server was not found on PATH');
      expect(stdout).toContain('no Docker engine answered');
      expect(stdout).toContain('apt-get install redis-server');
      expect(stdout).toContain('brew install redis');
    },
  );
});

describe('testPrefix', () => {
  it('gives a short, unique prefix without hash-tag or separator characters', () => {
    expect(prefix).toMatch(/^t-redis-harness-[0-9a-f]{6}$/);
    expect(testPrefix('/a/b/Weird {name}:x.spec.mts')).toMatch(/^t-weird-name-x-[0-9a-f]{6}$/);
    expect(testPrefix('redis-harness')).not.toBe(testPrefix('redis-harness'));
  });
});
