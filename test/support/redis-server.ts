// Test harness: starts private redis-server processes (or a Docker container fallback) that tests can kill, freeze and restart.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants as fsConstants, accessSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface RedisServerOptions {
  appendonly?: boolean;
  appendfsync?: 'always' | 'everysec' | 'no';
  maxmemoryPolicy?: string;
  /** RDB save points; default '' = no RDB snapshots. */
  save?: string;
  /** Appended last, so they override the options above. */
  extraArgs?: string[];
  /** cluster-enabled yes, with the cluster config file inside dataDir. */
  cluster?: boolean;
}

export interface RedisServerHandle {
  readonly host: string;
  readonly port: number;
  /** redis://host:port */
  readonly url: string;
  /** Data directory; on the container fallback this is the path inside the container. */
  readonly dataDir: string;
  /** Current redis-server pid (changes on restart); undefined on the container fallback. */
  readonly pid: number | undefined;
  /** SIGKILL; resolves when the process has exited. */
  kill9(): Promise<void>;
  /** SIGSTOP; resolves once the process is frozen. */
  stop(): Promise<void>;
  /** SIGCONT; resolves once the process runs again. */
  cont(): Promise<void>;
  /** Stops the server if still running, then starts it on the same port and data dir; resolves when ready. */
  restart(): Promise<void>;
  /** Graceful stop, then removes the data dir; idempotent. */
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 20;
const GRACEFUL_STOP_MS = 5_000;
const OUTPUT_LIMIT_CHARS = 8_192;
const PORT_ATTEMPTS = 5;
const DOCKER_PING_TIMEOUT_MS = 3_000;

export const MISSING_REDIS_MESSAGE =
  'Cannot start Redis for the tests: redis-server was not found on PATH (nor via REDIS_SERVER_BIN), ' +
  'and no Docker engine answered for the testcontainers fallback. ' +
  'Install Redis 7+ (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`), ' +
  'set REDIS_SERVER_BIN to a redis-server binary, or start Docker.';

/** Finds redis-server: REDIS_SERVER_BIN if set, else the first executable `redis-server` on PATH. */
export function resolveRedisServerBin(env: Env = process.env): string | undefined {
  const explicit = env['REDIS_SERVER_BIN'];
  if (explicit !== undefined && explicit !== '') {
    // An explicit setting that is wrong should fail loudly rather than silently fall back to PATH.
    if (!isExecutableFile(explicit))
      throw new Error(`REDIS_SERVER_BIN=${explicit} is not an executable file`);
    return explicit;
  }
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** True when testcontainers finds a container runtime that answers a ping within a short timeout. */
export async function dockerEngineAvailable(timeoutMs = DOCKER_PING_TIMEOUT_MS): Promise<boolean> {
  try {
    // Loaded lazily: the common path (local redis-server) never pays for testcontainers.
    const { getContainerRuntimeClient } = await import('testcontainers');
    return await withTimeout(
      getContainerRuntimeClient().then(() => true),
      timeoutMs,
      false,
    );
  } catch {
    return false;
  }
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const bin = resolveRedisServerBin();
  if (bin !== undefined) return startLocalServer(bin, options);
  if (await dockerEngineAvailable()) return startContainerServer(options);
  throw new Error(MISSING_REDIS_MESSAGE);
}

// Anything still running when the test process ends is SIGKILLed and its data dir removed, so a crashed or
// interrupted run leaves no orphan redis-server. vitest stops forks with SIGTERM, which skips 'exit' handlers.
const liveChildren = new Set<ChildProcess>();
const liveDataDirs = new Set<string>();
let cleanupHooksInstalled = false;

function track(child: ChildProcess): void {
  if (!cleanupHooksInstalled) {
    process.on('exit', killAllSync);
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onTerminatingSignal);
    cleanupHooksInstalled = true;
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

function killAllSync(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  for (const dir of liveDataDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: a dying redis may still be writing; the OS tmp cleaner gets the rest.
    }
  }
}

function onTerminatingSignal(signal: NodeJS.Signals): void {
  killAllSync();
  process.off(signal, onTerminatingSignal);
  // Re-raise so the default action (terminate) still happens, unless someone else handles this signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

async function startLocalServer(bin: string, options: RedisServerOptions): Promise<RedisServerHandle> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fuze-redis-'));
  liveDataDirs.add(dataDir);
  const args = redisArgs(HOST, dataDir, options);
  let launched: { port: number; child: ChildProcess };
  try {
    launched = await launchOnFreePort(bin, args);
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    liveDataDirs.delete(dataDir);
    throw error;
  }
  const { port } = launched;
  let child = launched.child;
  let shuttingDown: Promise<void> | undefined;

  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    dataDir,
    get pid() {
      return child.pid;
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      child.kill('SIGSTOP');
      await untilProcessState(child, true);
    },
    cont: async () => {
      child.kill('SIGCONT');
      await untilProcessState(child, false);
    },
    restart: async () => {
      if (shuttingDown !== undefined) throw new Error('restart() after shutdown(): the data dir is gone');
      await stopGracefully(child);
      child = await launch(bin, port, args);
    },
    shutdown: () => {
      shuttingDown ??= (async () => {
        await stopGracefully(child);
        await rm(dataDir, { recursive: true, force: true });
        liveDataDirs.delete(dataDir);
      })();
      return shuttingDown;
    },
  };
}

function redisArgs(bind: string, dataDir: string, options: RedisServerOptions): string[] {
  const args = [
    '--bind',
    bind,
    '--dir',
    dataDir,
    '--save',
    options.save ?? '',
    '--appendonly',
    options.appendonly === true ? 'yes' : 'no',
    '--appendfsync',
    options.appendfsync ?? 'everysec',
    '--daemonize',
    'no',
    '--logfile',
    '',
    '--protected-mode',
    'no',
  ];
  if (options.maxmemoryPolicy !== undefined) args.push('--maxmemory-policy', options.maxmemoryPolicy);
  if (options.cluster === true) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dataDir, 'nodes.conf'));
  }
  return [...args, ...(options.extraArgs ?? [])];
}

async function launchOnFreePort(bin: string, args: string[]): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort();
    try {
      return { port, child: await launch(bin, port, args) };
    } catch (error) {
      // Another process can grab the port between our probe bind and redis' bind; pick a new one.
      const portTaken = error instanceof Error && error.message.includes('Address already in use');
      if (!portTaken || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not read a free TCP port');
  return address.port;
}

/** Spawns redis-server on the port and resolves once it serves commands; kills it and throws with its output otherwise. */
async function launch(bin: string, port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn(bin, ['--port', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  track(child);
  const output = captureOutput(child);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError !== undefined) throw new Error(`could not spawn ${bin}: ${spawnError.message}`);
    if (!isRunning(child)) {
      await exited(child);
      throw new Error(
        `redis-server on port ${port} exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)}) before it was ready.\n${output()}`,
      );
    }
    if (await answersAsReady(port, child.pid)) return child;
    await delay(POLL_INTERVAL_MS);
  }
  child.kill('SIGKILL');
  await exited(child);
  throw new Error(`redis-server on port ${port} was not ready within ${READY_TIMEOUT_MS} ms.\n${output()}`);
}

/** Keeps the last few KB of the child's stdout+stderr for error messages. */
function captureOutput(child: ChildProcess): () => string {
  let text = '';
  const append = (chunk: Buffer): void => {
    text = (text + chunk.toString()).slice(-OUTPUT_LIMIT_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => `--- redis-server output (last ${OUTPUT_LIMIT_CHARS} chars) ---\n${text}`;
}

/** PING answers PONG, AOF/RDB loading is done, and it is our process (not a stranger that took the port). */
async function answersAsReady(port: number, pid: number | undefined): Promise<boolean> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
    commandTimeout: 500,
  });
  // Refused connections are expected while redis boots; the rejected promises below report them.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [pong, info] = await Promise.all([client.ping(), client.info('server', 'persistence')]);
    return (
      pong === 'PONG' && info.includes(`process_id:${String(pid)}\r\n`) && info.includes('loading:0\r\n')
    );
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child) || child.pid === undefined) return;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM lets redis fsync and exit cleanly; SIGCONT first because a frozen process cannot act on it. */
async function stopGracefully(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), GRACEFUL_STOP_MS);
  await exited(child);
  clearTimeout(forced);
}

/** Signals are delivered asynchronously; on Linux wait until /proc shows the wanted state so tests are deterministic. */
async function untilProcessState(child: ChildProcess, stopped: boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (isRunning(child) && Date.now() < deadline) {
    const state = linuxProcessState(child.pid);
    if (state === undefined || (state === 'T') === stopped) return;
    await delay(1);
  }
}

function linuxProcessState(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may contain spaces, so the state is read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function startContainerServer(options: RedisServerOptions): Promise<RedisServerHandle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const dataDir = '/data';
  const container = await new GenericContainer('redis:7')
    .withExposedPorts(6379)
    // Inside the container redis must listen on all interfaces for the port mapping to reach it.
    .withCommand(['redis-server', '--port', '6379', ...redisArgs('0.0.0.0', dataDir, options)])
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(6379);
  const unsupported = (operation: string) => () =>
    Promise.reject(
      new Error(
        `${operation}() is not supported on the container fallback; install redis-server locally to run this test`,
      ),
    );
  let stopping: Promise<void> | undefined;
  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    dataDir,
    pid: undefined,
    kill9: unsupported('kill9'),
    stop: unsupported('stop'),
    cont: unsupported('cont'),
    restart: unsupported('restart'),
    shutdown: () => {
      stopping ??= container.stop().then(() => undefined);
      return stopping;
    },
  };
}
