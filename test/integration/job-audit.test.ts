// JOB_AUDIT_ENABLED: each call a job makes to an internal service lands in the job audit stream with the job,
// the event, the target, the Idempotency-Key, the status and the outcome; off by default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import { z } from 'zod';
import { loadConfig } from '../../src/config/index.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createPublisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import type { JobPack } from '../../src/jobs/catalog.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { startWorker } from '../../src/worker.js';
import { startMockService, type MockService } from '../support/mock-service.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const jwk = generateServiceKeyPair();
const betData = z.strictObject({ betId: z.string() });
let playhub: MockService;

beforeAll(async () => {
  playhub = await startMockService({ audience: 'playhub', publicJwks: [jwk.publicJwk] });
});
afterAll(async () => {
  await playhub.close();
});

const pack: JobPack = {
  name: 'audit-fixture',
  register: (registry) => registry.register({ type: 'bet.opened', domain: 'playhub', schema: betData }),
  jobs: [
    {
      catalog: { name: 'audit.settle', domain: 'playhub', enableFlag: 'ENABLE_AUDIT_SETTLE' },
      definition: (ctx) => ({
        name: 'audit.settle',
        domain: 'playhub',
        types: ['bet.opened'],
        handler: (event: EventEnvelope<{ betId: string }>, job) =>
          ctx.services().outcomeOf(
            {
              service: 'playhub',
              path: '/internal/v1/cfb/settle',
              body: { betId: event.data.betId },
              idempotencyKey: idempotencyKey('audit.settle', event.data.betId),
            },
            { event, signal: job.signal },
          ),
      }),
    },
  ],
};

async function run(keyPrefix: string, audit: boolean): Promise<string> {
  const config = loadConfig(
    {
      REDIS_URL: db.server.url,
      QUEUE_PREFIX: keyPrefix,
      LOG_LEVEL: 'silent',
      PARTITIONS_DEFAULT: '1',
      PORT: '0',
      SERVICE_JWT_PRIVATE_JWK: JSON.stringify(jwk.privateJwk),
      SVC_PLAYHUB_URL: playhub.url,
      JOB_AUDIT_ENABLED: String(audit),
    },
    { envFile: false },
  );
  const worker = await startWorker({ config, packs: [pack] });
  try {
    const outcomes: OutcomeEvent[] = [];
    worker.runners[0]?.on('outcome', (o) => outcomes.push(o));
    const registry = createEventRegistry();
    pack.register(registry);
    const publisher = createPublisher({
      redis: db.redis,
      keys: createKeyBuilder({ prefix: keyPrefix }),
      registry,
      partitions: () => 1,
    });
    const event = {
      id: ulid(),
      type: 'bet.opened',
      key: 'bet-a',
      occurredAt: new Date().toISOString(),
      source: 'tests',
      schemaVersion: 1,
      data: { betId: 'bet-a' },
    };
    await publisher.publish(event);
    await waitFor(() => outcomes.length === 1, 'the call handled');
    return event.id;
  } finally {
    await worker.stop(1_000);
  }
}

describe('job audit', () => {
  it('records each call with job, event, target, key, status and outcome when enabled', async () => {
    const keyPrefix = `${prefix}-on`;
    const eventId = await run(keyPrefix, true);
    const entries = await db.redis.xrange(createKeyBuilder({ prefix: keyPrefix }).jobAudit, '-', '+');
    expect(entries).toHaveLength(1);
    const fields = Object.fromEntries(
      entries[0]![1].flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : [])),
    );
    expect(fields).toMatchObject({
      job: 'audit.settle',
      eventId,
      target: 'playhub POST /internal/v1/cfb/settle',
      idempotencyKey: 'audit.settle:bet-a',
      status: '200',
      outcome: 'ack',
      attempt: '1',
    });
  });

  it('writes nothing when off (the default)', async () => {
    const keyPrefix = `${prefix}-off`;
    await run(keyPrefix, false);
    expect(await db.redis.exists(createKeyBuilder({ prefix: keyPrefix }).jobAudit)).toBe(0);
  });
});
