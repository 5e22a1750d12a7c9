// Scenario 7: the worker process (src/main.ts) refuses to start on a Redis that could lose acknowledged work:
// RDB snapshots only (no AOF), or AOF with an evicting maxmemory-policy (allkeys-lru). It starts on AOF +
// noeviction. Each Redis is a private redis-server started with that configuration.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startRedisServer, type RedisServerOptions } from '../../test/support/redis-server.js';
import type { ScenarioResult } from '../report.js';
import type { Scenario } from '../harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/main.ts');
// the child runs in an empty directory (no .env), where `--import tsx` would not resolve
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const EXIT_TIMEOUT_MS = 30_000;

interface Case {
  readonly name: string;
  readonly redis: RedisServerOptions;
  /** undefined: must start; otherwise the text the refusal must contain. */
  readonly refusal: string | undefined;
}

const CASES: readonly Case[] = [
  { name: 'rdb-only', redis: { appendonly: false, save: '900 1' }, refusal: 'appendonly is no' },
  {
    name: 'allkeys-lru',
    redis: { appendonly: true, maxmemoryPolicy: 'allkeys-lru' },
    refusal: 'maxmemory-policy is allkeys-lru',
  },
  { name: 'aof-noeviction', redis: { appendonly: true, maxmemoryPolicy: 'noeviction' }, refusal: undefined },
];

interface Outcome {
  readonly name: string;
  readonly code: number | null;
  readonly started: boolean;
  readonly stderr: string;
}

/** Runs main.ts against the server; a started worker is stopped with SIGTERM once it logs "worker started". */
async function runMain(url: string, cwd: string): Promise<Omit<Outcome, 'name'>> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], {
    cwd,
    env: {
      PATH: process.env['PATH'] ?? '',
      TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
      REDIS_URL: url,
      QUEUE_PREFIX: 'faults-unsafe',
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let started = false;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    if (!started && chunk.toString().includes('"worker started"')) {
      started = true;
      child.kill('SIGTERM');
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, started, stderr: stderr.trim() };
}

export const unsafeRedis: Scenario = {
  name: '07-unsafe-redis',
  title: 'start-up refuses RDB-only and allkeys-lru Redis, starts on AOF + noeviction',
  async run(): Promise<ScenarioResult> {
    const startedAt = Date.now();
    const cwd = await mkdtemp(join(tmpdir(), 'faults-unsafe-'));
    const outcomes: Outcome[] = [];
    const checks: string[] = [];
    try {
      for (const c of CASES) {
        const server = await startRedisServer(c.redis);
        try {
          const outcome = { ...(await runMain(server.url, cwd)), name: c.name };
          outcomes.push(outcome);
          if (c.refusal === undefined) {
            if (!outcome.started || outcome.code !== 0) {
              checks.push(
                `${c.name}: expected a start and exit 0 on SIGTERM, got ${JSON.stringify(outcome)}`,
              );
            }
          } else if (outcome.started || outcome.code !== 2 || !outcome.stderr.includes(c.refusal)) {
            checks.push(`${c.name}: expected exit 2 naming "${c.refusal}", got ${JSON.stringify(outcome)}`);
          }
        } finally {
          await server.shutdown();
        }
      }
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
    return {
      scenario: this.name,
      events: 0,
      lost: 0,
      duplicatedDeliveries: 0,
      appliedTwice: 0,
      earlyTimers: 0,
      recovered: checks.length === 0,
      recoveryMs: null,
      durationMs: Date.now() - startedAt,
      checks,
      details: Object.fromEntries(
        outcomes.map((o) => [o.name, o.started ? `started, exit ${o.code}` : `refused, exit ${o.code}`]),
      ),
    };
  },
};
