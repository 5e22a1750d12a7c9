// Spawns pack-worker-process.ts as real child processes (the whole worker, a real job pack) for the end-to-end
// tests: the environment is the worker's configuration; resolves once ready; SIGKILL and SIGTERM; killAll at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PackWorkerLine } from './pack-worker-process.js';

const WORKER_PATH = fileURLToPath(new URL('./pack-worker-process.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a child may take to load (tsx), connect and report ready. */
export const PACK_WORKER_READY_TIMEOUT_MS = 30_000;

export interface PackWorkerChild {
  readonly pid: number;
  readonly jobs: readonly string[];
  /** Consumer names of its runners (one per job). */
  readonly consumers: readonly string[];
  readonly lines: PackWorkerLine[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<void>;
  /** SIGTERM; resolves once it stopped and exited. */
  terminate(): Promise<void>;
}

export interface PackWorkerChildren {
  /** Spawns a worker with this environment (added to the test's own) and resolves once it reported ready. */
  start(env: Readonly<Record<string, string>>): Promise<PackWorkerChild>;
  /** SIGKILLs every child still alive and waits for their exits. */
  killAll(): Promise<void>;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'exit');
  child.kill('SIGKILL');
  await exit;
}

export function createPackWorkerChildren(): PackWorkerChildren {
  const live = new Set<ChildProcess>();

  async function start(env: Readonly<Record<string, string>>): Promise<PackWorkerChild> {
    // the ipc channel lets the worker notice when this test process dies, so it never outlives it
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_PATH], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    live.add(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      }),
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
    const lines: PackWorkerLine[] = [];
    let markReady: (ready: NonNullable<PackWorkerLine['ready']>) => void = () => undefined;
    const ready = new Promise<NonNullable<PackWorkerLine['ready']>>((resolve) => (markReady = resolve));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      if (!text.startsWith('{')) return;
      const line = JSON.parse(text) as PackWorkerLine;
      lines.push(line);
      if (line.ready) markReady(line.ready);
    });
    let timer: NodeJS.Timeout | undefined;
    const { jobs, consumers } = await Promise.race([
      ready,
      exited.then((exit) => {
        throw new Error(`worker exited before it was ready (${exit.code ?? exit.signal}):\n${stderr}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`worker not ready within ${PACK_WORKER_READY_TIMEOUT_MS} ms:\n${stderr}`)),
          PACK_WORKER_READY_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return {
      pid: child.pid ?? -1,
      jobs,
      consumers,
      lines,
      exited,
      kill9: () => killAndWait(child),
      async terminate() {
        child.kill('SIGTERM');
        await exited;
      },
    };
  }

  return {
    start,
    async killAll() {
      await Promise.all([...live].map((child) => killAndWait(child)));
    },
  };
}
