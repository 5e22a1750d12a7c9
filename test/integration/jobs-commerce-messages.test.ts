// email.send and notification.send in a worker: each message posted to its provider once per Idempotency-Key, with the
// provider's key; provider outages and 429 are retried with the same key, a refused message goes to the DLQ.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCommercePack } from '../../src/jobs/commerce/pack.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { startPackWorker, type PackWorker } from '../support/job-pack-worker.js';
import {
  commerceEnv,
  commerceEvent,
  startMockCommerce,
  startMockExternal,
  type MockCommerce,
  type MockExternal,
} from '../support/mock-commerce.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
const keys = generateServiceKeyPair();
let commerce: MockCommerce;
let external: MockExternal;
let running: PackWorker | undefined;
let run = 0;

beforeAll(async () => {
  external = await startMockExternal();
  commerce = await startMockCommerce({ publicJwks: [keys.publicJwk] });
});
afterAll(async () => {
  await external.close();
  await commerce.close();
});
beforeEach(() => {
  external.reset();
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function start(extra: Record<string, string> = {}): Promise<PackWorker> {
  run += 1;
  const env = commerceEnv(commerce, external, keys.privateJwk, {
    ENABLE_EMAIL: 'true',
    ENABLE_NOTIFICATION: 'true',
    ...extra,
  });
  running = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: `${prefix}-${run}`,
    pack: createCommercePack(env),
    env,
  });
  return running;
}

const email = (messageId: string, to = ['buyer@example.com']) =>
  commerceEvent('email.requested', messageId, {
    messageId,
    tenantId: 'tenant-1',
    to,
    template: 'order-confirmation',
    locale: 'de',
    variables: { orderNumber: 'A-1001', total: 19.99 },
  });

describe('email.send and notification.send', () => {
  it('posts an email once per key with the provider key and sender, retrying a provider outage', async () => {
    external.script('POST /email/send', [{ status: 503 }]);
    const w = await start();
    expect(w.worker.jobs).toEqual(['email.send', 'notification.send']);
    const event = email('msg-1');
    await w.publish(event);
    await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', 'the email');
    expect(w.outcomesOf('email.send').map((o) => o.kind)).toEqual(['retry', 'ack']);
    const [failed, sent] = external.requestsTo('POST /email/send');
    expect(sent?.text).toBe(failed?.text);
    expect(sent?.headers['idempotency-key']).toBe(idempotencyKey('email.send', 'msg-1'));
    expect(external.emails).toEqual([
      {
        key: idempotencyKey('email.send', 'msg-1'),
        auth: 'Bearer email-key',
        messageId: 'msg-1',
        from: 'shop@example.com',
        to: ['buyer@example.com'],
        template: 'order-confirmation',
        locale: 'de',
        variables: { orderNumber: 'A-1001', total: 19.99 },
        tenantId: 'tenant-1',
      },
    ]);
  });

  it('dead-letters an email the provider refuses, and honours a push provider 429 Retry-After', async () => {
    external.script('POST /email/send', [{ status: 422, body: { error: 'invalid recipient' } }]);
    external.script('POST /push/send', [{ status: 429, headers: { 'retry-after': '1' } }]);
    const w = await start();
    const refused = email('msg-bad', ['nobody@invalid.example']);
    await w.publish(refused);
    expect(await w.waitOutcome((o) => o.eventId === refused.id, 'the refused email')).toMatchObject({
      kind: 'dead',
      reason: 'permanent',
    });
    const push = commerceEvent('notification.requested', 'ntf-1', {
      notificationId: 'ntf-1',
      tenantId: 'tenant-1',
      userId: 'user-9',
      title: 'Your order shipped',
      body: 'Order A-1001 is on its way.',
      data: { orderId: 'A-1001' },
    });
    await w.publish(push);
    await w.waitOutcome((o) => o.eventId === push.id && o.kind === 'ack', 'the push');
    const outcomes = w.outcomesOf('notification.send');
    expect(outcomes.map((o) => o.kind)).toEqual(['retry', 'ack']);
    expect(outcomes[0]?.delayMs).toBe(1000);
    expect(external.pushes).toEqual([
      {
        key: idempotencyKey('notification.send', 'ntf-1'),
        notificationId: 'ntf-1',
        tenantId: 'tenant-1',
        userId: 'user-9',
        title: 'Your order shipped',
        body: 'Order A-1001 is on its way.',
        data: { orderId: 'A-1001' },
      },
    ]);
  });
});
