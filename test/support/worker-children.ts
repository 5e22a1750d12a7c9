// Spawns worker-process.ts as real child processes for the process tests: env encoding, the ready line, the
// outcome lines, start on "go", SIGTERM with timing and SIGKILL; every child still alive can be killed at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import type { WorkerEnv } from './worker-process.js';

const WORKER_PATH = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a child may take to load (tsx), connect and report ready. */
export const WORKER_READY_TIMEOUT_MS = 20_000;

/** One JSON line a worker writes on stdout. */
export interface WorkerLine {
  readonly ready?: boolean;
  readonly consumer?: string;
  readonly outcome?: OutcomeEvent;
  readonly stopped?: { job: string; released: number };
  readonly released?: number;
  readonly loopError?: { where: string; error: string };
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface WorkerChild {
  readonly consumer: string;
  readonly pid: number;
  readonly outcomes: OutcomeEvent[];
  readonly lines: WorkerLine[];
  readonly exited: Promise<Exit>;
  /** Starts the runner of a worker spawned with WAIT_FOR_GO. */
  go(): void;
  kill9(): Promise<Exit>;
  /** SIGTERM; resolves with the exit, how long it took and what the worker reported as released. */
  terminate(): Promise<Exit & { ms: number; released: number | undefined }>;
}

/** What a test sets: where to connect and post, the rest as in WorkerEnv (unset: the worker's defaults). */
export type WorkerSettings = Pick<WorkerEnv, 'REDIS_URL' | 'KEY_PREFIX' | 'JOB' | 'DOWNSTREAM_URL'> &
  Partial<WorkerEnv>;

export interface WorkerChildren {
  /** Spawns a worker and resolves once it reported ready (rejects if it exits or times out first). */
  start(settings: WorkerSettings): Promise<WorkerChild>;
  /** SIGKILLs every child still alive and waits for their exits (no orphans between tests). */
  killAll(): Promise<void>;
}

/** The env text worker-process.ts parses back (booleans as 1/0, the shared limit as perSecond:burst). */
export function encodeWorkerEnv(settings: WorkerSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings) as [string, WorkerEnv[keyof WorkerEnv]][]) {
    if (value === undefined) continue;
    if (typeof value === 'boolean') env[name] = value ? '1' : '0';
    else if (typeof value === 'object') env[name] = `${value.perSecond}:${value.burst}`;
    else env[name] = String(value);
  }
  return env;
}

async function killAndWait(child: ChildProcess): Promise<Exit> {
  if (child.exitCode === null && child.signalCode === null) {
    const exit = once(child, 'exit');
    child.kill('SIGKILL');
    await exit;
  }
  return { code: child.exitCode, signal: child.signalCode };
}

export function createWorkerChildren(): WorkerChildren {
  const live = new Set<ChildProcess>();

  async function start(settings: WorkerSettings): Promise<WorkerChild> {
    // the ipc channel lets the worker notice when this test process dies, so it never outlives it
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_PATH], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...encodeWorkerEnv(settings) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    live.add(child);
    const exited = new Promise<Exit>((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      }),
    );
    // after the exit and the end of its output: every line it wrote has been read
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
    const lines: WorkerLine[] = [];
    const outcomes: OutcomeEvent[] = [];
    let markReady: (consumer: string) => void = () => undefined;
    const ready = new Promise<string>((resolve) => (markReady = resolve));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      // the worker reports JSON lines only; anything else (a stray runtime notice) is not part of the protocol
      if (!text.startsWith('{')) return;
      const line = JSON.parse(text) as WorkerLine;
      lines.push(line);
      if (line.outcome) outcomes.push(line.outcome);
      if (line.ready && line.consumer) markReady(line.consumer);
    });
    let timer: NodeJS.Timeout | undefined;
    const consumer = await Promise.race([
      ready,
      exited.then((exit) => {
        throw new Error(`worker exited before it was ready (${exit.code ?? exit.signal}):\n${stderr}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`worker not ready within ${WORKER_READY_TIMEOUT_MS} ms:\n${stderr}`)),
          WORKER_READY_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return {
      consumer,
      pid: child.pid ?? -1,
      outcomes,
      lines,
      exited,
      go: () => child.send('go'),
      kill9: () => killAndWait(child),
      async terminate() {
        const started = Date.now();
        child.kill('SIGTERM');
        const exit = await exited;
        await closed;
        return { ...exit, ms: Date.now() - started, released: lines.find((l) => l.stopped)?.released };
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
