// Runs the `workers` CLI as a real child process (`node --import tsx src/ops/cli/main.ts ...`), feeding stdin and
// collecting stdout, stderr and the exit code; `json()` parses stdout.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_MAIN = fileURLToPath(new URL('../../src/ops/cli/main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TIMEOUT_MS = 30_000;

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON; T is the shape the test expects (unchecked, the assertions check it). */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  json<T = unknown>(): T;
}

export interface CliRunOptions {
  /** Variables on top of the parent's environment (REDIS_URL, QUEUE_PREFIX, ...). */
  readonly env?: Record<string, string>;
  /** Written to stdin, then closed (stdin is closed at once without it). */
  readonly input?: string;
  /** Another entry point (a test binary with fixture packs). */
  readonly entry?: string;
}

export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry ?? CLI_MAIN, ...args], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'silent', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`workers ${args.join(' ')} did not exit within ${TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(
              `workers ${args.join(' ')} printed no JSON (exit ${String(code)}): ${stdout}${stderr}`,
            );
          }
        },
      });
    });
  });
}
