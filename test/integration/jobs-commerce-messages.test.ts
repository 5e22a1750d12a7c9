// email.send and notification.send in a worker: each message posted to its provider once per Idempotency-Key, with the
// provider's key; provider outages and 429 are retried with the same key, a refused message goes to the DLQ.
import { describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { useCommerceWorker } from '../support/commerce-worker.js';
import { commerceEvent } from '../support/mock-commerce.js';

const cw = useCommerceWorker({
  url: import.meta.url,
  env: { ENABLE_EMAIL: 'true', ENABLE_NOTIFICATION: 'true' },
  commercePerFile: true,
});
const { start } = cw;

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
    cw.external.script('POST /email/send', [{ status: 503 }]);
    const w = await start();
    expect(w.worker.jobs).toEqual(['email.send', 'notification.send']);
    const event = email('msg-1');
    await w.publish(event);
    await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', 'the email');
    expect(w.outcomesOf('email.send').map((o) => o.kind)).toEqual(['retry', 'ack']);
    const [failed, sent] = cw.external.requestsTo('POST /email/send');
    expect(sent?.text).toBe(failed?.text);
    expect(sent?.headers['idempotency-key']).toBe(idempotencyKey('email.send', 'msg-1'));
    expect(cw.external.emails).toEqual([
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
    cw.external.script('POST /email/send', [{ status: 422, body: { error: 'invalid recipient' } }]);
    cw.external.script('POST /push/send', [{ status: 429, headers: { 'retry-after': '1' } }]);
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
    expect(cw.external.pushes).toEqual([
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
