// Start-up and shutdown of the worker: main.ts as a child process against real redis-servers set up unsafely
// and safely (exit codes, stderr, logs, SIGTERM), and startWorker in-process with a small job pack.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { WorkerConfig } from '../../src/config/index.js';
import { PartitionMismatchError } from '../../src/errors.js';
import { ensurePartitionCount } from '../../src/events/partition-store.js';
import { createPublisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { createLogger } from '../../src/ops/logger.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { startWorker } from '../../src/worker.js';
import { testPrefix } from '../support/prefix.js';
import { startRedisServer } from '../support/redis-server.js';
import type { RedisServerHandle } from '../support/redis-server.js';
import { waitFor } from '../support/streams-fixture.js';
import {
  FIXTURE_DOMAIN,
  FIXTURE_JOB,
  createFixturePack,
  fixtureEvent,
} from '../support/worker-fixture-jobs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/main.ts');
// Resolved here because the child runs in an empty directory where `--import tsx` would not resolve.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const GRACE_MS = 2_000;
const EXIT_TIMEOUT_MS = 15_000;

// Three servers on purpose: the configuration each was started with is what the start-up guard checks.
let noAof: RedisServerHandle;
let evicting: RedisServerHandle;
let safe: RedisServerHandle;
let redis: Redis;
let emptyDir: string;
const prefix = testPrefix(import.meta.url);

beforeAll(async () => {
  [noAof, evicting, safe] = await Promise.all([
    startRedisServer({ appendonly: false, maxmemoryPolicy: 'noeviction' }),
    startRedisServer({ appendonly: true, maxmemoryPolicy: 'allkeys-lru' }),
    startRedisServer({ appendonly: true, maxmemoryPolicy: 'noeviction' }),
  ]);
  redis = new Redis(safe.url, { maxRetriesPerRequest: 1 });
  // The child's working directory: no .env there, so nothing but the env we pass reaches loadConfig.
  emptyDir = await mkdtemp(join(tmpdir(), 'fuze-worker-startup-'));
});

afterAll(async () => {
  redis.disconnect();
  await Promise.all([noAof.shutdown(), evicting.shutdown(), safe.shutdown()]);
  await rm(emptyDir, { recursive: true, force: true });
});

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

interface MainProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  stderr(): string;
  /** Resolves with the first log line matching, rejects if the process exits first or after a deadline. */
  waitForLog(predicate: (line: LogLine) => boolean, what: string): Promise<LogLine>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

/** Runs main.ts with exactly `env` (plus PATH) in an empty directory; stdout is parsed as pino JSON lines. */
function runMain(env: Record<string, string>): MainProcess {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], {
    cwd: emptyDir,
    // PORT 0: every child's admin server on a free port, never the shared 8099
    env: {
      PATH: process.env['PATH'] ?? '',
      TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const logs: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line !== '') logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    async waitForLog(predicate, what) {
      await waitFor(() => hasExited || logs.some(predicate), what, EXIT_TIMEOUT_MS);
      const line = logs.find(predicate);
      if (line === undefined) throw new Error(`main exited before logging ${what}; stderr: ${stderr}`);
      return line;
    },
  };
}

function baseEnv(server: RedisServerHandle): Record<string, string> {
  return {
    REDIS_URL: server.url,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
  };
}

async function exitOf(main: MainProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`main did not exit; stderr: ${main.stderr()}`)),
      EXIT_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([main.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const WARN = 40;
const ERROR = 50;
const isStarted = (line: LogLine): boolean => line.msg === 'worker started';

describe('main: start-up guard', () => {
  it('refuses a Redis without AOF with exit 2 and one stderr line naming appendonly and the override', async () => {
    const main = runMain(baseEnv(noAof));

    expect(await exitOf(main)).toEqual({ code: 2, signal: null });
    const lines = main.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fuze-workers: refusing to start: /);
    expect(lines[0]).toContain('appendonly is no');
    expect(lines[0]).toContain('ALLOW_UNSAFE_REDIS');
    expect(main.logs.some(isStarted)).toBe(false);
  });

  it('refuses an evicting maxmemory-policy even with AOF on', async () => {
    const main = runMain(baseEnv(evicting));

    expect(await exitOf(main)).toEqual({ code: 2, signal: null });
    expect(main.stderr()).toContain('maxmemory-policy is allkeys-lru');
    expect(main.stderr()).not.toContain('appendonly is no');
  });

  it('starts on an unsafe Redis with ALLOW_UNSAFE_REDIS=true and warns loudly once', async () => {
    const main = runMain({ ...baseEnv(noAof), ALLOW_UNSAFE_REDIS: 'true' });

    await main.waitForLog(isStarted, 'worker started');
    const unsafeWarnings = main.logs.filter((line) => line.msg.includes('UNSAFE REDIS'));
    expect(unsafeWarnings).toHaveLength(1);
    expect(unsafeWarnings[0]).toMatchObject({
      level: WARN,
      problems: [expect.stringContaining('appendonly')],
    });
    main.child.kill('SIGTERM');
    expect(await exitOf(main)).toEqual({ code: 0, signal: null });
  });

  it('starts cleanly on AOF + noeviction: no unsafe warning, no error, tagged with the service', async () => {
    const main = runMain({ ...baseEnv(safe), SERVICE_ID: 'workers-test' });

    const started = await main.waitForLog(isStarted, 'worker started');
    expect(started).toMatchObject({ serviceId: 'workers-test', jobs: [] });
    expect(main.logs.filter((line) => line.msg.includes('UNSAFE'))).toEqual([]);
    expect(main.logs.filter((line) => line.level >= ERROR)).toEqual([]);
    expect(main.stderr()).toBe('');
  });

  it('exits 2 on a configuration error, naming the variable', async () => {
    const main = runMain({ ...baseEnv(safe), PARTITIONS_DEFAULT: 'four' });

    expect(await exitOf(main)).toEqual({ code: 2, signal: null });
    expect(main.stderr()).toMatch(
      /^fuze-workers: refusing to start: invalid configuration .*PARTITIONS_DEFAULT/,
    );
    expect(main.stderr().trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 1 when Redis is unreachable', async () => {
    const port = await closedPort();
    const main = runMain({ ...baseEnv(safe), REDIS_URL: `redis://user:hunter2@127.0.0.1:${port}` });

    expect(await exitOf(main)).toEqual({ code: 1, signal: null });
    expect(main.stderr()).toContain(
      `refusing to start: cannot connect to Redis at redis://127.0.0.1:${port}`,
    );
    expect(main.stderr()).not.toContain('hunter2');
  });
});

describe('main: shutdown', () => {
  it('exits 0 on SIGTERM within the grace period', async () => {
    const main = runMain(baseEnv(safe));
    await main.waitForLog(isStarted, 'worker started');

    const signalledAt = Date.now();
    main.child.kill('SIGTERM');

    expect(await exitOf(main)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS);
    expect(main.logs.some((line) => line.msg === 'worker stopped')).toBe(true);
  });
});

describe('startWorker in-process', () => {
  function configFor(
    server: RedisServerHandle,
    keyPrefix: string,
    extra: Record<string, string> = {},
  ): WorkerConfig {
    return loadConfig(
      {
        REDIS_URL: server.url,
        QUEUE_PREFIX: keyPrefix,
        LOG_LEVEL: 'silent',
        PARTITIONS_DEFAULT: '4',
        ...extra,
      },
      { envFile: false },
    );
  }

  it('runs an enabled job of a pack: a published event is handled and acked, and stop() resolves', async () => {
    const keyPrefix = `${prefix}-run`;
    const config = configFor(safe, keyPrefix, { SERVICE_ID: 'run-test' });
    const fixture = createFixturePack();
    const worker = await startWorker({ config, packs: [fixture.pack], logger: createLogger(config) });
    expect(worker.jobs).toEqual([FIXTURE_JOB]);
    const [runner] = worker.runners;
    const acked = new Promise<OutcomeEvent>((resolve) => runner?.on('outcome', resolve));

    const registry = createEventRegistry();
    fixture.pack.register(registry);
    const keys = createKeyBuilder({ prefix: keyPrefix });
    const publisher = createPublisher({ redis, keys, registry, partitions: () => 4 });
    const event = fixtureEvent(7);
    const published = await publisher.publish(event);

    expect(await acked).toMatchObject({ job: FIXTURE_JOB, eventId: event.id, kind: 'ack' });
    expect(fixture.handled.map((h) => [h.event.id, h.event.data, h.serviceId])).toEqual([
      [event.id, { n: 7 }, 'run-test'],
    ]);
    await worker.stop();
    const [pending] = (await redis.xpending(published.stream, FIXTURE_JOB)) as [number];
    expect(pending).toBe(0);
  });

  it('does not run a job switched off by its ENABLE_* flag', async () => {
    const config = configFor(safe, `${prefix}-off`, { ENABLE_FIXTURE_RECORD: 'false' });
    const worker = await startWorker({ config, packs: [createFixturePack().pack] });

    expect(worker.jobs).toEqual([]);
    expect(worker.runners).toEqual([]);
    await worker.stop();
  });

  it('refuses to start when the stored partition count differs, and closes its connection', async () => {
    const keyPrefix = `${prefix}-mismatch`;
    await ensurePartitionCount(redis, createKeyBuilder({ prefix: keyPrefix }), FIXTURE_DOMAIN, 3);
    const clientsBefore = await clientCount();
    const config = configFor(safe, keyPrefix);

    const start = startWorker({ config, packs: [createFixturePack().pack], logger: createLogger(config) });

    await expect(start).rejects.toBeInstanceOf(PartitionMismatchError);
    await expect(start).rejects.toThrow(`domain "${FIXTURE_DOMAIN}" has 3 partitions in Redis`);
    await waitFor(async () => (await clientCount()) === clientsBefore, 'the worker connection closed', 5_000);
  });
});

describe('createLogger', () => {
  it('redacts secrets and tags lines with the service', () => {
    const config = loadConfig({ LOG_LEVEL: 'info', SERVICE_ID: 'svc-a' }, { envFile: false });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger(config, sink);

    logger.info(
      {
        serviceJwt: { privateJwk: 'jwk-secret' },
        headers: { authorization: 'Bearer tok-secret' },
        db: { password: 'pw-secret' },
        env: { SERVICE_JWT_PRIVATE_JWK: 'env-secret' },
        token: 'top-secret',
      },
      'configured',
    );
    logger.debug('not at info level');

    expect(lines).toHaveLength(1);
    const text = lines.join('');
    for (const secret of ['jwk-secret', 'tok-secret', 'pw-secret', 'env-secret', 'top-secret']) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.parse(text)).toMatchObject({
      serviceId: 'svc-a',
      service: config.service.name,
      serviceJwt: { privateJwk: '[redacted]' },
      headers: { authorization: '[redacted]' },
    });
  });
});

async function clientCount(): Promise<number> {
  const list = await redis.client('LIST');
  return String(list).trim().split('\n').length;
}

/** A port nothing listens on: bound once to learn a free number, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not read a free port');
  return address.port;
}
