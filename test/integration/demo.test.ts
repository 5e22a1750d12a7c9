// `npm run demo` as a user runs it: a child process that starts its own Redis, the mock platform and every job, runs
// the scenario and ends with a JSON report on stdout, by itself (--duration) or on Ctrl-C (SIGINT), exiting 0.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoReport } from '../../demo/report.js';
import { catalogJobs } from '../../demo/demo-worker.js';
import { jobPacks } from '../../src/jobs/catalog.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN = fileURLToPath(new URL('../../demo/run.ts', import.meta.url));

interface DemoRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const live = new Set<ReturnType<typeof spawn>>();
afterAll(() => {
  for (const child of live) child.kill('SIGKILL');
});

/** Runs the demo; `interruptAfterLines` sends SIGINT once that many live lines were printed. */
function runDemo(args: readonly string[], interruptAfterLines?: number): Promise<DemoRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', RUN, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    const liveLines = stderr.split('\n').filter((line) => /^\[\s*\d+s\]/.test(line)).length;
    if (interruptAfterLines !== undefined && !interrupted && liveLines >= interruptAfterLines) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

function reportOf(run: DemoRun): DemoReport {
  expect(run, run.stderr).toMatchObject({ code: 0, signal: null });
  return JSON.parse(run.stdout) as DemoReport;
}

describe('npm run demo', () => {
  it('--duration 12 ends by itself with a report in which every job it ran handled something', async () => {
    const report = reportOf(await runDemo(['--duration', '12']));

    // every job of the catalog is in the report; those that ran all handled events, none idle
    expect(Object.keys(report.handledPerJob).sort()).toEqual(catalogJobs(jobPacks).sort());
    const ran = Object.entries(report.handledPerJob).filter(([, job]) => job.notRun === undefined);
    expect(ran.length).toBeGreaterThanOrEqual(20);
    for (const [job, result] of ran)
      expect({ job, handled: result.handled > 0 }).toEqual({ job, handled: true });
    expect(report.idleJobs).toEqual([]);
    expect(Object.keys(report.notRun).sort()).toEqual(
      Object.entries(report.handledPerJob)
        .filter(([, job]) => job.notRun !== undefined)
        .map(([name]) => name)
        .sort(),
    );

    expect(report.appliedTwice).toBe(0);
    expect(report.scenarioErrors).toBe(0);
    expect(report.platform).toMatchObject({ unauthorized: 0, contractViolations: 0 });
    expect(report.platform.state['playhub']).toMatchObject({ earlySettles: 0 });
    // the poison event stays in the DLQ; the refused decision was replayed out of it
    expect(report.dlqByDomain).toEqual({ playhub: 1 });
    expect(report.handledPerJob['escrow.adjudicate']?.dead).toBe(1);
    expect(report.handledPerJob['dlq.replay']?.ack).toBe(1);
    expect(report.eventsPublished).toBeGreaterThan(100);
    expect(report.retries).toBeGreaterThan(0);
    expect(report.deferrals).toBeGreaterThan(0);
    expect(report.duplicatesPrevented.publisher).toBeGreaterThan(0);
    expect(report.timerLateness.samples).toBeGreaterThan(0);
  }, 90_000); // a 12 s run plus start-up (tsx, Redis, platform): ~20 s, more on a loaded machine

  it('stops on Ctrl-C (SIGINT): scenario, worker, platform and Redis, then prints the report and exits 0', async () => {
    const run = await runDemo(['--rate', '10'], 3);
    const report = reportOf(run);
    expect(run.stderr).toContain('stopping: scenario, then the worker');
    expect(report.durationS).toBeGreaterThan(2);
    expect(report.appliedTwice).toBe(0);
    expect(report.handledPerJob['cfb.settle']?.scheduled).toBeGreaterThan(0);
  }, 90_000);
});
