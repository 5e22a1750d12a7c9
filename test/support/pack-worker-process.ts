// A worker process running the real PlayHub pack through startWorker, for the end-to-end tests that SIGKILL it
// midway: configured by its environment (loadConfig, plus PLAYHUB_PACK_OPTIONS as JSON), it reports JSON lines on
// stdout (ready, each outcome but skips) and stops gracefully on SIGTERM. test/support/pack-worker-children.ts
// spawns it.
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { errorMessage } from '../../src/errors.js';
import { createPlayhubPack } from '../../src/jobs/playhub/pack.js';
import type { PlayhubPackOptions } from '../../src/jobs/playhub/pack.js';
import { createLogger } from '../../src/ops/logger.js';
import { startWorker } from '../../src/worker.js';

/** One line on stdout. */
export interface PackWorkerLine {
  readonly ready?: { readonly jobs: readonly string[]; readonly consumers: readonly string[] };
  readonly outcome?: {
    readonly job: string;
    readonly kind: string;
    readonly entryId: string;
    readonly eventId: string | undefined;
    readonly reason: string | undefined;
    readonly failures: number;
    /** new, retry (a due retry hint) or claimed (taken over from another consumer). */
    readonly source: string;
  };
  readonly stopped?: true;
}

function report(line: PackWorkerLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const config = loadConfig(process.env, { envFile: false });
  const options = JSON.parse(process.env['PLAYHUB_PACK_OPTIONS'] ?? '{}') as Partial<PlayhubPackOptions>;
  // logs go to stderr: stdout carries the JSON protocol
  const logger = createLogger(config, pino.destination(2));
  const worker = await startWorker({ config, logger, packs: [createPlayhubPack(options)] });
  for (const runner of worker.runners) {
    runner.on('outcome', (event) => {
      if (event.kind === 'skip') return;
      const { job, kind, entryId, eventId, reason, failures, source } = event;
      report({ outcome: { job, kind, entryId, eventId, reason, failures, source } });
    });
  }
  process.once('SIGTERM', () => {
    void worker.stop().then(() => {
      report({ stopped: true });
      process.exit(0);
    });
  });
  // the parent test process went away: never outlive it
  process.once('disconnect', () => process.exit(1));
  report({ ready: { jobs: worker.jobs, consumers: worker.runners.map((runner) => runner.consumer) } });
}

main().catch((error: unknown) => {
  process.stderr.write(`pack-worker-process failed: ${errorMessage(error)}\n`);
  process.exit(2);
});
