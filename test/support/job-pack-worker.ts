// A worker running one job pack against a private redis-server and mock services, for the job-pack tests: the
// config they share, every runner outcome and job signal recorded, cron ticks injected on demand, waits without sleeps.
import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/index.js';
import { createPublisher } from '../../src/events/publisher.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createEventRegistry } from '../../src/events/registry.js';
import type { JobPack } from '../../src/jobs/catalog.js';
import type { JobSignals } from '../../src/jobs/pack-context.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { cronTickEvent, registerCronTick } from '../../src/scheduler/cron-tick-event.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createKeyBuilder, type KeyBuilder } from '../../src/streams/keys.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { startMockService, type MockService, type MockStep } from './mock-service.js';
import { waitFor } from './streams-fixture.js';

/** One key pair per test process: the worker signs with the private key, the mock services verify. */
const serviceKeys = generateServiceKeyPair();

export const PARTITIONS = 2;

export function startServiceMock(
  audience: string,
  routes: Readonly<Record<string, readonly MockStep[]>> = {},
): Promise<MockService> {
  return startMockService({ audience, publicJwks: [serviceKeys.publicJwk], routes });
}

/** The environment every job-pack test worker starts with; `extra` adds or overrides variables. */
export function jobTestEnv(redisUrl: string, prefix: string, extra: Record<string, string> = {}) {
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    PARTITIONS_DEFAULT: String(PARTITIONS),
    SERVICE_JWT_PRIVATE_JWK: JSON.stringify(serviceKeys.privateJwk),
    SCHEDULER_POLL_MS: '100',
    BACKOFF_DEFAULT_MS: '50',
    BACKOFF_MAX_MS: '200',
    HANDLER_TIMEOUT_MS: '5000',
    SCHEDULER_LOCK_TTL_MS: '10000',
    TRIM_INTERVAL_MS: '0',
    EXTERNAL_ALLOW_HTTP: 'true',
    EXTERNAL_ALLOW_LOOPBACK_HOSTS: 'localhost',
    EXTERNAL_TIMEOUT_MS: '2000',
    ...extra,
  };
}

export interface PolledSignal {
  readonly provider: string;
  readonly up: boolean;
}

export interface PackWorker {
  readonly worker: Worker;
  readonly keys: KeyBuilder;
  readonly outcomes: OutcomeEvent[];
  readonly polls: PolledSignal[];
  readonly alerts: string[];
  /** Outcomes of one job other than skips (entries of other groups) and duplicates. */
  outcomesOf(job: string): OutcomeEvent[];
  /** Waits for an outcome matching `match` (already recorded or still to come) and returns it. */
  waitOutcome(
    match: (event: OutcomeEvent) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<OutcomeEvent>;
  /** Publishes a cron tick of `schedule` at `tickMs`, aimed at `job`; returns the tick's event id. */
  tick(schedule: string, job: string, tickMs: number): Promise<string>;
  /** Publishes any registered event (the pack's types are registered). */
  publish(event: EventEnvelope): Promise<void>;
  stop(): Promise<void>;
}

export async function startPackWorker(options: {
  readonly redis: Redis;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly pack: JobPack;
  readonly env?: Record<string, string>;
}): Promise<PackWorker> {
  const outcomes: OutcomeEvent[] = [];
  const polls: PolledSignal[] = [];
  const alerts: string[] = [];
  const signals: JobSignals = {
    providerPolled: (provider, up) => polls.push({ provider, up }),
    alertRaised: (alert) => alerts.push(alert),
  };
  const config = loadConfig(jobTestEnv(options.redisUrl, options.prefix, options.env), { envFile: false });
  const worker = await startWorker({ config, packs: [options.pack], signals });
  for (const runner of worker.runners) runner.on('outcome', (event) => outcomes.push(event));

  const keys = createKeyBuilder({ prefix: options.prefix });
  const registry = createEventRegistry();
  registerCronTick(registry);
  options.pack.register(registry);
  // `tick` publishes cron ticks aimed at one job (targetGroup), as the scheduler would
  const publisher = createPublisher({
    redis: options.redis,
    keys,
    registry,
    partitions: () => PARTITIONS,
    allowReemission: true,
  });
  const relevant = (event: OutcomeEvent): boolean => event.kind !== 'skip' && event.kind !== 'duplicate';

  return {
    worker,
    keys,
    outcomes,
    polls,
    alerts,
    outcomesOf: (job) => outcomes.filter((event) => event.job === job && relevant(event)),
    async waitOutcome(match, what, timeoutMs = 10_000) {
      let found: OutcomeEvent | undefined;
      await waitFor(
        () => {
          found = outcomes.find((event) => relevant(event) && match(event));
          return found !== undefined;
        },
        what,
        timeoutMs,
      );
      return found as OutcomeEvent;
    },
    async tick(schedule, job, tickMs) {
      const event = cronTickEvent({
        schedule,
        tickMs,
        scheduledAtMs: tickMs,
        cause: 'backfill',
        source: 'tests',
        targetGroup: job,
      });
      await publisher.publish(event);
      return event.id;
    },
    async publish(event) {
      await publisher.publish(event);
    },
    stop: () => worker.stop(1_000),
  };
}

/** A cron expression that does not fire during a test (the tests inject their ticks). */
export const NEVER = '0 0 1 1 *';
