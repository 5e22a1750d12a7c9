// A timer mover child process for the fault suite (test/support/mover-process.ts): spawn, moved counts from its
// JSON lines, SIGKILL and SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MOVER_PATH = fileURLToPath(new URL('../test/support/mover-process.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface MoverChild {
  readonly pid: number;
  moved(): number;
  errors(): string[];
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

interface MoverLine {
  readonly ready?: boolean;
  readonly moved?: { partition: number; count: number };
  readonly error?: string;
}

/** Spawns test/support/mover-process.ts and resolves once it reported ready. */
export async function spawnMover(options: {
  readonly url: string;
  readonly prefix: string;
  readonly domain: string;
  readonly partitions: number;
  readonly BATCH?: number;
  readonly MAX_POLL_MS?: number;
}): Promise<MoverChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', MOVER_PATH], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      REDIS_URL: options.url,
      KEY_PREFIX: options.prefix,
      DOMAIN: options.domain,
      PARTITIONS: String(options.partitions),
      BATCH: String(options.BATCH ?? 500),
      MAX_POLL_MS: String(options.MAX_POLL_MS ?? 200),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  let moved = 0;
  const errors: string[] = [];
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  if (child.stdout === null) throw new Error('mover spawned without a stdout pipe');
  createInterface({ input: child.stdout }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    const line = JSON.parse(text) as MoverLine;
    if (line.ready) markReady();
    if (line.moved) moved += line.moved.count;
    if (line.error) errors.push(line.error);
  });
  const failed = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`mover exited before ready (${code ?? signal}): ${stderr}`)),
    ),
  );
  failed.catch(() => undefined);
  await Promise.race([ready, failed]);
  return {
    pid: child.pid ?? -1,
    moved: () => moved,
    errors: () => errors,
    kill9: () => killChild(child),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
