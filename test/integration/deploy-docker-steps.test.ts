// The Dockerfile's steps without a Docker engine: its build context (working tree minus .dockerignore) in a scratch
// folder, stage "build" (npm ci -> the existing node_modules, npm run build), stage "runtime" (npm ci --omit=dev
// from the npm cache, dist/ from build), then its CMD with the Helm chart's environment against a private AOF
// redis-server: the HEALTHCHECK command, the stream/consumer-group pairs the KEDA triggers name, and SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, matchesGlob, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { startRedisServer } from '../support/redis-server.js';
import type { RedisServerHandle } from '../support/redis-server.js';
import { waitFor } from '../support/streams-fixture.js';

/**
 * TODO(admin): set to true once the worker process starts the admin HTTP server (src/ops/admin) on PORT. Until then
 * nothing listens there, and this test asserts that the image's HEALTHCHECK fails (exit 1); once admin lands that
 * assertion fails with a message asking to flip this flag, and the test then expects the HEALTHCHECK to pass and the
 * chart's probe paths (/healthz, /readyz) to answer 200.
 */
const ADMIN_SERVES_HEALTH = true;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The Node 24 the npm scripts run under (the `node` devDependency): it runs npm, the build and the image's CMD. */
const NODE = process.execPath;
/** One npm step; generous because the build is CPU-bound and this machine is often shared (normally ~10 s). */
const STEP_TIMEOUT_MS = 180_000;
const SETUP_TIMEOUT_MS = 240_000;
const START_TIMEOUT_MS = 20_000;
const GRACE_MS = 3_000;
const WORKDIR = '/app';

interface Instruction {
  readonly op: string;
  readonly args: string;
}

interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: Instruction[];
}

/** A Dockerfile's instructions: comments dropped, continuations joined, split into stages, ARG defaults applied. */
function parseDockerfile(text: string): { stages: Stage[] } {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const match = /^(\w+)\s+(.*)$/.exec(line);
    if (match === null) throw new Error(`Dockerfile line not understood: ${line}`);
    const op = (match[1] ?? '').toUpperCase();
    const rest = (match[2] ?? '').trim();
    if (op === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = rest.split('=');
      args.set(name, value);
    } else if (op === 'FROM') {
      const from = /^(\S+)\s+AS\s+(\S+)$/i.exec(rest);
      if (from === null) throw new Error(`every stage needs a name: FROM ${rest}`);
      const image = (from[1] ?? '').replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? '');
      stages.push({ name: from[2] ?? '', from: image, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (stage === undefined) throw new Error(`${op} before the first FROM`);
      stage.instructions.push({ op, args: rest });
    }
  }
  return { stages };
}

/** Docker's .dockerignore rules in order (a later `!pattern` re-includes); a pattern also covers what is below it. */
function dockerIgnored(patterns: readonly string[], path: string): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, index) => parts.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = posix.normalize((negated ? raw.slice(1) : raw).replace(/^\/+/, ''));
    if (prefixes.some((prefix) => matchesGlob(prefix, pattern))) ignored = !negated;
  }
  return ignored;
}

/** The JSON array of an exec-form CMD/ENTRYPOINT (shell form is refused: signals would go to /bin/sh). */
function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`expected the exec form ["…"], got ${args}`);
  }
  return parsed;
}

/** The environment of a child: this process' PATH with Node 24 first, and no npm_* variables from `npx vitest`. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !/^npm_/i.test(entry[0]),
    ),
  );
  return { ...inherited, PATH: [dirname(NODE), process.env['PATH'] ?? ''].join(delimiter), ...extra };
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
): { status: number | null; output: string } {
  const result = spawnSync(command, args, {
    cwd,
    env: childEnv(),
    encoding: 'utf8',
    timeout: STEP_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function mustRun(command: string, args: readonly string[], cwd: string): void {
  const { status, output } = run(command, args, cwd);
  if (status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${status}:\n${output.slice(-4000)}`);
}

/** The stage lockfile's production packages copied from the repository's node_modules: npm ci --omit=dev's tree. */
function copyProductionPackages(into: string): number {
  const lock = JSON.parse(readFileSync(join(into, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const dev = new Set(Object.entries(lock.packages).flatMap(([path, entry]) => (entry.dev ? [path] : [])));
  cpSync(join(ROOT, 'node_modules'), join(into, 'node_modules'), {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => {
      const path = relative(ROOT, source).split('\\').join('/');
      if (path === 'node_modules') return true;
      // .bin links and npm's hidden lockfile are npm's own bookkeeping, rebuilt by `npm ls` below
      if (/^node_modules\/\./.test(path)) return false;
      return !dev.has(path);
    },
  });
  return Object.keys(lock.packages).length - dev.size - 1;
}

interface StageResult {
  readonly dir: string;
  readonly env: Record<string, string>;
  user?: string;
  healthcheck?: string[];
  entrypoint?: string[];
  cmd?: string[];
  readonly skipped: string[];
}

/** Where a container path under WORKDIR lives in the stage's scratch folder. */
function hostPath(stage: StageResult, containerPath: string, workdir: string | undefined): string {
  if (workdir === undefined) throw new Error(`a COPY before WORKDIR ${WORKDIR}`);
  const absolute = posix.resolve(workdir, containerPath);
  const inside = posix.relative(WORKDIR, absolute);
  if (inside.startsWith('..')) throw new Error(`${containerPath} is outside ${WORKDIR}`);
  return join(stage.dir, inside);
}

/** Runs one stage's instructions in its scratch folder; what cannot run here (apt-get) is listed in `skipped`. */
function runStage(
  stage: Stage,
  context: string,
  scratch: string,
  done: ReadonlyMap<string, StageResult>,
  notes: string[],
): StageResult {
  const result: StageResult = { dir: join(scratch, stage.name), env: {}, skipped: [] };
  mkdirSync(result.dir, { recursive: true });
  let workdir: string | undefined;
  for (const { op, args } of stage.instructions) {
    switch (op) {
      case 'WORKDIR':
        if (args !== WORKDIR) throw new Error(`the test maps WORKDIR ${WORKDIR} only, got ${args}`);
        workdir = args;
        break;
      case 'ENV':
        for (const pair of args.split(/\s+/)) {
          const [name = '', ...value] = pair.split('=');
          result.env[name] = value.join('=').replace(/^"(.*)"$/, '$1');
        }
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
        const paths = words.filter((word) => !word.startsWith('--'));
        const dest = paths.pop() ?? '';
        const source = from === undefined ? undefined : done.get(from);
        if (from !== undefined && source === undefined) throw new Error(`COPY --from=${from}: no such stage`);
        for (const path of paths) {
          const src = source === undefined ? join(context, path) : hostPath(source, path, WORKDIR);
          if (!existsSync(src)) throw new Error(`COPY ${path}: not in the ${from ?? 'build context'}`);
          const target = hostPath(result, dest, workdir);
          const into = dest.endsWith('/') || paths.length > 1 ? join(target, posix.basename(path)) : target;
          cpSync(src, into, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        const command = args.replace(/^(--\S+\s+)+/, '');
        if (/^apt-get\b/.test(command)) {
          result.skipped.push(`RUN ${command.replace(/\s+/g, ' ')}`);
          break;
        }
        for (const part of command.split('&&').map((text) => text.trim())) {
          runStep(part, result, notes);
        }
        break;
      }
      case 'USER':
        result.user = args;
        break;
      case 'HEALTHCHECK':
        result.healthcheck = execForm(args.replace(/^(--\S+\s+)*CMD\s+/, ''));
        break;
      case 'ENTRYPOINT':
        result.entrypoint = execForm(args);
        break;
      case 'CMD':
        result.cmd = execForm(args);
        break;
      case 'EXPOSE':
      case 'LABEL':
        break;
      default:
        throw new Error(`the test does not know how to mirror ${op} ${args}: teach it`);
    }
  }
  return result;
}

/** One `&&` part of a RUN: npm ci (full or --omit=dev) and npm run; anything else must be taught to the test. */
function runStep(step: string, stage: StageResult, notes: string[]): void {
  const words = step.split(/\s+/);
  const began = Date.now();
  const took = (): string => `${((Date.now() - began) / 1000).toFixed(1)} s`;
  if (words[0] === 'npm' && words[1] === 'ci' && !words.includes('--omit=dev')) {
    // same lockfile, already installed: reuse it instead of downloading the toolchain again
    symlinkSync(join(ROOT, 'node_modules'), join(stage.dir, 'node_modules'), 'dir');
    notes.push(`${step}: the repository's node_modules (same package-lock.json) linked instead`);
    return;
  }
  if (words[0] === 'npm' && words[1] === 'ci') {
    const offline = run('npm', [...words.slice(1), '--offline'], stage.dir);
    if (offline.status === 0) {
      notes.push(`${step} --offline: installed from the npm cache (${took()})`);
      return;
    }
    const missing = /request to \S+\/([^/\s]+) failed/.exec(offline.output)?.[1];
    if (!/ENOTCACHED/.test(offline.output)) throw new Error(`${step} --offline failed:\n${offline.output}`);
    rmSync(join(stage.dir, 'node_modules'), { recursive: true, force: true });
    const count = copyProductionPackages(stage.dir);
    // the tree must be complete and consistent for the lockfile without devDependencies
    mustRun('npm', ['ls', '--omit=dev', '--all', '--offline'], stage.dir);
    notes.push(
      `${step} --offline: the npm cache lacks ${missing ?? 'a package'} (no registry here), so the lockfile's ` +
        `${count} production packages were copied from node_modules instead (npm ls --omit=dev --all passes, ${took()})`,
    );
    return;
  }
  if (words[0] === 'npm' && words[1] === 'run' && words.length === 3) {
    mustRun('npm', words.slice(1), stage.dir);
    notes.push(`${step} (${took()})`);
    return;
  }
  throw new Error(`the test does not know how to mirror RUN ${step}: teach it`);
}

interface LogLine {
  msg: string;
  level: number;
  [field: string]: unknown;
}

interface ChartValues {
  config: Record<string, string>;
  processorSets: Record<
    string,
    {
      processors: string;
      env?: Record<string, string>;
      keda?: { enabled: boolean; groups?: { domain: string; group: string }[] };
    }
  >;
  probes: Record<'startup' | 'liveness' | 'readiness', { path: string }>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port assigned')),
      );
    });
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerfile = parseDockerfile(dockerfileText);
const ignorePatterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const values = parseYaml(
  readFileSync(join(ROOT, 'deploy/helm/fuze-workers/values.yaml'), 'utf8'),
) as ChartValues;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('Dockerfile (static)', () => {
  const runtime = dockerfile.stages.at(-1);

  it('has a build and a runtime stage on Node 24', () => {
    expect(dockerfile.stages.map((stage) => stage.name)).toEqual(['build', 'runtime']);
    // glibc only: `npm run build` runs the `node` devDependency's glibc binary
    for (const stage of dockerfile.stages) {
      expect(stage.from).toMatch(/^node:24(-slim|-bookworm-slim|-trixie-slim)?(@sha256:\w+)?$/);
    }
  });

  it('installs production dependencies only in the runtime stage, runs as a numeric non-root user under tini', () => {
    const ops = runtime?.instructions ?? [];
    expect(ops.some(({ op, args }) => op === 'RUN' && /npm ci\b.*--omit=dev/.test(args))).toBe(true);
    expect(ops.some(({ op, args }) => op === 'COPY' && args.startsWith('--from=build '))).toBe(true);
    const user = ops.findLast(({ op }) => op === 'USER')?.args ?? '';
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(ops.find(({ op }) => op === 'ENTRYPOINT')?.args).toBe('["/usr/bin/tini", "--"]');
  });

  it('starts what `npm start` starts, and probes /healthz on PORT', () => {
    const cmd = execForm(runtime?.instructions.find(({ op }) => op === 'CMD')?.args ?? '[]');
    expect(cmd.join(' ')).toBe(pkg.scripts['start']);
    const healthcheck = runtime?.instructions.find(({ op }) => op === 'HEALTHCHECK')?.args ?? '';
    expect(healthcheck).toContain('process.env.PORT || 8099');
    expect(healthcheck).toContain('/healthz');
  });

  it('keeps secrets, local state and installed packages out of the build context', () => {
    for (const path of [
      '.env',
      '.env.production',
      'node_modules/x/index.js',
      'bench/node_modules/a',
      'dist/x.js',
    ]) {
      expect(dockerIgnored(ignorePatterns, path), path).toBe(true);
    }
    for (const path of ['src/main.ts', 'package.json', 'package-lock.json', 'tsconfig.build.json']) {
      expect(dockerIgnored(ignorePatterns, path), path).toBe(false);
    }
  });
});

describe('Dockerfile steps in a scratch folder, then the image CMD with the chart environment', () => {
  let scratch: string;
  let runtime: StageResult;
  let server: RedisServerHandle;
  let redis: Redis;
  const notes: string[] = [];

  // one KEDA-scaled set of the chart: its PROCESSORS, env and trigger groups are what the process runs with
  const [setName, processorSet] =
    Object.entries(values.processorSets).find(([, candidate]) => candidate.keda?.enabled === true) ?? [];
  const groups = processorSet?.keda?.groups ?? [];
  const prefix = values.config['QUEUE_PREFIX'] ?? 'tg';
  const partitions = Number(values.config['PARTITIONS_DEFAULT'] ?? '4');
  const keys = createKeyBuilder({ prefix });

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'fuze-docker-steps-'));
    const serverStarting = startRedisServer({ appendonly: true, maxmemoryPolicy: 'noeviction' });

    // the build context as `docker build .` sees it: the working tree (tracked and new files, not .gitignored)
    const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
    const context = join(scratch, 'context');
    for (const path of listed.stdout.split('\0')) {
      if (path === '' || dockerIgnored(ignorePatterns, path) || !existsSync(join(ROOT, path))) continue;
      mkdirSync(dirname(join(context, path)), { recursive: true });
      cpSync(join(ROOT, path), join(context, path));
    }

    const done = new Map<string, StageResult>();
    for (const stage of dockerfile.stages) {
      done.set(stage.name, runStage(stage, context, scratch, done, notes));
    }
    const last = done.get('runtime');
    if (last === undefined) throw new Error('no runtime stage');
    runtime = last;
    for (const stage of done.values()) notes.push(...stage.skipped.map((step) => `not run here: ${step}`));
    console.info(`Dockerfile steps:\n  ${notes.join('\n  ')}`);

    server = await serverStarting;
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    redis?.disconnect();
    await server?.shutdown();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  it('the runtime stage holds dist/ and production packages only', () => {
    expect(existsSync(join(runtime.dir, 'dist/src/main.js'))).toBe(true);
    expect(existsSync(join(runtime.dir, 'dist/src/streams/lua'))).toBe(true);
    expect(existsSync(join(runtime.dir, 'src'))).toBe(false);
    for (const name of ['ioredis', 'pino', 'zod']) {
      expect(existsSync(join(runtime.dir, 'node_modules', name)), name).toBe(true);
    }
    for (const name of ['typescript', 'vitest', 'tsx', 'node', 'eslint']) {
      expect(existsSync(join(runtime.dir, 'node_modules', name)), name).toBe(false);
    }
    expect(runtime.env).toMatchObject({ NODE_ENV: 'production' });
  });

  it('runs the set’s jobs, creates the groups KEDA reads lag from, runs its HEALTHCHECK, stops on SIGTERM', async () => {
    expect(setName, 'values.yaml has a KEDA-scaled processor set').toBeDefined();
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const port = await freePort();
    const [command = '', ...args] = runtime.cmd ?? [];
    expect(command).toBe('node');
    // no tini here: the process gets SIGTERM directly, as PID 1 would from tini
    const child = spawn(NODE, args, {
      cwd: runtime.dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        ...runtime.env,
        ...values.config,
        PROCESSORS: processorSet?.processors ?? '',
        ...processorSet?.env,
        REDIS_URL: server.url,
        SERVICE_JWT_PRIVATE_JWK: JSON.stringify(await exportJWK(privateKey)),
        PORT: String(port),
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs: LogLine[] = [];
    let stderr = '';
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as LogLine);
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = exitOf(child);
    try {
      await waitFor(
        () => child.exitCode !== null || logs.some((line) => line.msg === 'worker started'),
        'worker started',
        START_TIMEOUT_MS,
      );
      const started = logs.find((line) => line.msg === 'worker started');
      expect(started, `the worker started; stderr: ${stderr}`).toBeDefined();
      expect(started?.['jobs']).toEqual(expect.arrayContaining(groups.map(({ group }) => group)));

      // each trigger's (stream, consumerGroup) exists and reports a lag (XINFO GROUPS, Redis 7+)
      for (const { domain, group } of groups) {
        for (let partition = 0; partition < partitions; partition++) {
          const stream = keys.partition(domain, partition).stream;
          const info = (await redis.xinfo('GROUPS', stream)) as unknown[][];
          const named = info.map((fields) => Object.fromEntries(pairs(fields)));
          const found = named.find((fields) => fields['name'] === group);
          expect(found, `${group} on ${stream}`).toBeDefined();
          expect(typeof found?.['lag'], `lag of ${group} on ${stream}`).toBe('number');
        }
      }

      const [healthCommand = '', ...healthArgs] = runtime.healthcheck ?? [];
      expect(healthCommand).toBe('node');
      const health = spawnSync(NODE, healthArgs, {
        env: { PATH: process.env['PATH'] ?? '', PORT: String(port) },
        timeout: 10_000,
      });
      if (ADMIN_SERVES_HEALTH) {
        expect(health.status).toBe(0);
        const base = `http://127.0.0.1:${port}`;
        expect((await fetch(`${base}${values.probes.liveness.path}`)).status).toBe(200);
        await waitFor(
          async () => (await fetch(`${base}${values.probes.readiness.path}`)).status === 200,
          'readiness probe 200',
          START_TIMEOUT_MS,
        );
      } else {
        expect(
          health.status,
          'the HEALTHCHECK passes now: the admin server serves /healthz, set ADMIN_SERVES_HEALTH = true',
        ).toBe(1);
      }

      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(logs.some((line) => line.msg === 'worker stopped')).toBe(true);
      expect(logs.filter((line) => line.level >= 50)).toEqual([]);

      // what KEDA's lagCount trigger sees: entries added after the group's last delivery
      const stream = keys.partition(groups[0]?.domain ?? '', 0).stream;
      for (let entry = 0; entry < 3; entry++) await redis.xadd(stream, '*', 'probe', String(entry));
      const info = (await redis.xinfo('GROUPS', stream)) as unknown[][];
      const lags = info.map((fields) => Object.fromEntries(pairs(fields)));
      for (const { domain, group } of groups.filter((target) => target.domain === groups[0]?.domain)) {
        expect(lags.find((fields) => fields['name'] === group)?.['lag'], `${group} on ${domain}`).toBe(3);
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});

/** XINFO's flat [name, value, name, value, …] reply as pairs. */
function pairs(fields: readonly unknown[]): [string, unknown][] {
  const result: [string, unknown][] = [];
  for (let index = 0; index + 1 < fields.length; index += 2)
    result.push([String(fields[index]), fields[index + 1]]);
  return result;
}
