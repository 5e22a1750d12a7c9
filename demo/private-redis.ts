// The demo's private Redis: a redis-server from PATH (or REDIS_SERVER_BIN) with AOF on a free loopback port, in its
// own process group so a Ctrl-C in the terminal reaches only the demo, which stops it after the worker; else the
// testcontainers fallback; else a message saying what to install.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  dockerEngineAvailable,
  resolveRedisServerBin,
  startRedisServer,
} from '../test/support/redis-server.js';

export interface PrivateRedis {
  readonly url: string;
  /** `redis-server 7.0.15 (pid 123)` or `redis:7 container (testcontainers)`. */
  readonly description: string;
  /** Stops the server and removes its data. */
  shutdown(): Promise<void>;
}

export const NO_REDIS_MESSAGE =
  'npm run demo needs Redis 7+: redis-server was not found on PATH (nor via REDIS_SERVER_BIN) and no Docker ' +
  'engine answered for the testcontainers fallback. Install Redis (Debian/Ubuntu: `sudo apt-get install ' +
  'redis-server`, macOS: `brew install redis`), set REDIS_SERVER_BIN, or start Docker; then run it again.';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;

/** Thrown when neither redis-server nor Docker is there; its message says what to install. */
export class NoRedisError extends Error {
  constructor() {
    super(NO_REDIS_MESSAGE);
    this.name = 'NoRedisError';
  }
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const bin = resolveRedisServerBin();
  if (bin !== undefined) return startLocal(bin);
  if (!(await dockerEngineAvailable())) throw new NoRedisError();
  const server = await startRedisServer({ appendonly: true, appendfsync: 'everysec' });
  return {
    url: server.url,
    description: 'redis:7 container (testcontainers)',
    shutdown: () => server.shutdown(),
  };
}

async function startLocal(bin: string): Promise<PrivateRedis> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fuze-demo-redis-'));
  const port = await freePort();
  // AOF on and noeviction (the default): the worker's start-up safety check passes without ALLOW_UNSAFE_REDIS
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--dir',
    dataDir,
    '--save',
    '',
    '--appendonly',
    'yes',
  ];
  const child = spawn(
    bin,
    [...args, '--appendfsync', 'everysec', '--protected-mode', 'no', '--logfile', ''],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // an abrupt exit of the demo (an uncaught error) must not leave the server running
  const killOnExit = (): void => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('exit', killOnExit);
  try {
    await untilReady(child, port, () => output);
  } catch (error) {
    killOnExit();
    process.off('exit', killOnExit);
    throw error;
  }
  const version = /version=([\d.]+)/.exec(output)?.[1];
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://${HOST}:${port}`,
    description: `redis-server${version === undefined ? '' : ` ${version}`} (pid ${child.pid ?? '?'}, AOF on)`,
    shutdown: () =>
      (stopping ??= (async () => {
        if (isRunning(child)) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(forced);
        }
        process.off('exit', killOnExit);
        await rm(dataDir, { recursive: true, force: true });
      })()),
  };
}

async function untilReady(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isRunning(child))
      throw new Error(`redis-server exited before it was ready (code ${child.exitCode}):\n${output()}`);
    const probe = new Redis({
      host: HOST,
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 500,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      const info = await probe.info('persistence');
      if (info.includes('loading:0')) return;
    } catch {
      // still starting
    } finally {
      probe.disconnect();
    }
    await delay(25);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} was not ready within ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free TCP port');
  return address.port;
}
