// The worker process entry: config -> jobs enabled by PROCESSORS/ENABLE_* -> run, until SIGTERM/SIGINT.
import { loadConfig, loadEnvironment } from './config/index.js';
import { ConfigError, PartitionMismatchError, UnsafeRedisError, errorMessage } from './errors.js';
import { createLogger } from './ops/logger.js';
import { startAdminProcess } from './ops/admin/admin-process.js';
import type { AdminProcess } from './ops/admin/admin-process.js';
import { startTracing } from './ops/tracing/tracing-setup.js';
import type { Tracing } from './ops/tracing/tracing-setup.js';
import { startWorker } from './worker.js';
import type { Worker } from './worker.js';

/** Exit code when the environment or Redis is set up wrong: retrying the same start cannot help. */
export const EXIT_REFUSED = 2;
/** Extra time after the grace period for releasing entries and closing Redis before giving up. */
export const STOP_MARGIN_MS = 5_000;

/** Runs the worker process; resolves once running, and exits the process on a signal or a start-up error. */
export async function main(): Promise<void> {
  let worker: Promise<Worker> | undefined;
  let graceMs: number | undefined;
  let stopping = false;
  let tracing: Tracing | undefined;
  let admin: AdminProcess | undefined;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`fuze-workers: ${signal} again, exiting without waiting for in-flight work\n`);
      process.exit(1);
    }
    stopping = true;
    admin?.markStopping();
    if (worker === undefined) process.exit(0);
    const deadline = setTimeout(
      () => {
        process.stderr.write('fuze-workers: shutdown did not finish in time, exiting\n');
        process.exit(1);
      },
      (graceMs ?? 0) + STOP_MARGIN_MS,
    );
    deadline.unref();
    void worker
      .then((started) => started.stop(graceMs))
      .then(() => admin?.close())
      .then(() => tracing?.shutdown())
      // A start that failed is reported (and exits) on the start-up path below.
      .then(
        () => process.exit(0),
        () => undefined,
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    const environment = loadEnvironment();
    const config = loadConfig(environment, { envFile: false });
    graceMs = config.consumer.shutdownGraceMs;
    // off unless OTEL_* asks for it; started before the worker so its first spans are exported
    tracing = startTracing({ serviceName: config.service.name });
    const logger = createLogger(config);
    // /healthz answers while the worker starts; /readyz waits for it
    admin = await startAdminProcess(config, logger);
    worker = startWorker({ config, environment, logger });
    admin.attach(await worker);
  } catch (error) {
    refuseToStart(error);
  }
}

/** One line on stderr, then exit: 2 for configuration and safety problems, 1 for anything else. */
function refuseToStart(error: unknown): never {
  const [first = '', ...rest] = errorMessage(error)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const message = rest.length === 0 ? first : `${first} ${rest.join('; ')}`;
  process.stderr.write(`fuze-workers: refusing to start: ${message}\n`);
  const refused =
    error instanceof ConfigError ||
    error instanceof UnsafeRedisError ||
    error instanceof PartitionMismatchError;
  process.exit(refused ? EXIT_REFUSED : 1);
}

if (import.meta.main) await main();
