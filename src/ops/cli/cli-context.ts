// What every CLI command shares: its streams, the global flags (--json, --progress, --env-file), the configuration
// and one Redis connection opened on first use and closed when the command ends, and the exit code it sets.
import { hostname, userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import { loadConfig } from '../../config/index.js';
import type { WorkerConfig } from '../../config/index.js';
import { WorkersError, errorMessage } from '../../errors.js';
import type { JobPack } from '../../jobs/catalog.js';
import { createKeyBuilder } from '../../streams/keys.js';
import type { KeyBuilder } from '../../streams/keys.js';
import { discoverStreams } from '../control/stream-discovery.js';
import type { DiscoveredDomain } from '../control/stream-discovery.js';
import { confirm } from './confirm.js';
import { EXIT_OK } from './exit-codes.js';
import type { OutputStream } from './output.js';
import { createProgress } from './progress.js';
import type { Progress } from './progress.js';

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdin: Readable;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface GlobalFlags {
  readonly json?: boolean;
  readonly progress?: boolean;
  readonly envFile?: string;
}

export interface CliOptions {
  /** The job packs of this build (the binary loads `jobPacks` only for the commands that need them). */
  readonly packs: readonly JobPack[] | (() => Promise<readonly JobPack[]>);
  readonly io?: Partial<CliIo>;
  readonly clock?: Clock;
}

/** Connection timeout of operator commands: an unreachable Redis fails fast instead of retrying for ever. */
const CONNECT_TIMEOUT_MS = 5000;

export class CliContext {
  readonly io: CliIo;
  readonly clock: Clock;
  private readonly packSource: CliOptions['packs'];
  exitCode = EXIT_OK;
  private flags: GlobalFlags = {};
  private loadedConfig: WorkerConfig | undefined;
  private connection: Promise<Redis> | undefined;

  constructor(options: CliOptions) {
    this.io = {
      stdout: options.io?.stdout ?? process.stdout,
      stderr: options.io?.stderr ?? process.stderr,
      stdin: options.io?.stdin ?? process.stdin,
      env: options.io?.env ?? process.env,
    };
    this.packSource = options.packs;
    this.clock = options.clock ?? systemClock;
  }

  /** Wraps an action: reads the global flags of the command, runs it, keeps the exit code it returns. */
  action<A extends unknown[]>(
    run: (...args: A) => Promise<number | undefined> | Promise<void>,
  ): (...args: A) => Promise<void> {
    return async (...args: A) => {
      const command = args[args.length - 1] as Command;
      this.flags = command.optsWithGlobals<GlobalFlags>();
      const code = await run(...args);
      if (typeof code === 'number') this.exitCode = code;
    };
  }

  /** The job packs (their event types, jobs and cron schedules), loaded on first use. */
  async packs(): Promise<readonly JobPack[]> {
    return typeof this.packSource === 'function' ? this.packSource() : this.packSource;
  }

  get json(): boolean {
    return this.flags.json === true;
  }

  /** The environment's configuration (REDIS_URL, QUEUE_PREFIX, ...), validated like the worker's. */
  config(): WorkerConfig {
    this.loadedConfig ??= loadConfig(this.io.env, {
      ...(this.flags.envFile === undefined ? {} : { envFile: this.flags.envFile }),
    });
    return this.loadedConfig;
  }

  keys(): KeyBuilder {
    const { queue } = this.config();
    return createKeyBuilder({ prefix: queue.prefix, dlqSuffix: queue.dlqSuffix });
  }

  /** The Redis connection, opened on first use; fails fast with REDIS_UNAVAILABLE. */
  redis(): Promise<Redis> {
    this.connection ??= connect(this.config().redis);
    return this.connection;
  }

  /** The domains (and groups) Redis holds, optionally one domain or the domains of one group. */
  async domains(filter: { domain?: string; group?: string } = {}): Promise<DiscoveredDomain[]> {
    return discoverStreams(await this.redis(), this.keys(), filter);
  }

  /** Who changes job states: `user@host`. */
  operator(): string {
    let user = this.io.env['USER'] ?? 'unknown';
    try {
      user = userInfo().username;
    } catch {
      // no passwd entry (containers): the environment's USER stands
    }
    return `${user}@${hostname()}`;
  }

  progress(label: string): Progress {
    const enabled = this.flags.progress ?? (this.io.stderr.isTTY === true && !this.json);
    return createProgress(this.io.stderr, label, enabled);
  }

  /** True with --yes; otherwise asks on stderr and reads the answer from stdin. */
  async confirm(question: string, yes: boolean | undefined): Promise<boolean> {
    if (yes === true) return true;
    return confirm(this.io.stdin, this.io.stderr, question);
  }

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A message on stderr (`workers: ...`); with --json, a JSON object {error: {code, message}}. */
  report(message: string, code = 'FAILED'): void {
    if (this.json) this.io.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
    else this.io.stderr.write(`workers: ${message}\n`);
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    const redis = await connection.catch(() => undefined);
    if (redis !== undefined) await redis.quit().catch(() => redis.disconnect());
  }
}

async function connect(settings: WorkerConfig['redis']): Promise<Redis> {
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 2,
    // one attempt: an operator wants the error, not a CLI that waits for Redis to come back
    retryStrategy: () => null,
  };
  if (settings.sentinels !== undefined) {
    options.sentinels = settings.sentinels.map(({ host, port }) => ({ host, port }));
    options.name = settings.sentinelName;
  }
  const redis = new Redis(settings.url, options);
  let lastError: unknown;
  redis.on('error', (error: unknown) => (lastError = error));
  try {
    await redis.connect();
    return redis;
  } catch (error) {
    redis.disconnect();
    throw new WorkersError(
      'REDIS_UNAVAILABLE',
      `cannot connect to Redis at ${target(settings)}: ${errorMessage(lastError ?? error)}`,
      { cause: lastError ?? error },
    );
  }
}

/** protocol://host:port or the sentinels: never the password a URL may carry. */
function target(settings: WorkerConfig['redis']): string {
  if (settings.sentinels !== undefined) {
    return `sentinels ${settings.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  }
  try {
    const url = new URL(settings.url);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'REDIS_URL';
  }
}
