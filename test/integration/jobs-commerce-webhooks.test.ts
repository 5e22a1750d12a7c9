// webhook.deliver in a worker: signed deliveries with the same body and Idempotency-Key on every attempt (a receiver
// answering 500 then 200 records one delivery), a circuit breaker per endpoint (a failing endpoint is deferred while
// another is still delivered), and the DLQ for disabled endpoints, redirects and private addresses (SSRF guard).
import { describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/jobs/commerce/webhook-signature.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { useCommerceWorker } from '../support/commerce-worker.js';
import { commerceEvent } from '../support/mock-commerce.js';
import { waitFor } from '../support/streams-fixture.js';

const cw = useCommerceWorker({ url: import.meta.url, env: { ENABLE_WEBHOOK_DELIVERY: 'true' } });
const { start } = cw;
const JOB = 'webhook.deliver';
const SECRET = 'whsec_0123456789abcdef';

function endpoint(
  id: string,
  path: string,
  extra: Partial<{ status: 'active' | 'disabled'; url: string }> = {},
) {
  cw.external.hookSecrets.set(path, SECRET);
  cw.commerce.webhookEndpoints.set(id, {
    endpointId: id,
    tenantId: 'tenant-1',
    url: `${cw.external.url}${path}`,
    secret: SECRET,
    status: 'active',
    ...extra,
  });
}

function delivery(deliveryId: string, endpointId: string) {
  return commerceEvent('webhook.delivery_requested', endpointId, {
    deliveryId,
    endpointId,
    tenantId: 'tenant-1',
    eventType: 'order.created',
    payload: { orderId: `order-${deliveryId}`, total: '1999' },
  });
}

describe('webhook.deliver', () => {
  it('sends the same signed payload and key after a 500, and the receiver records one delivery', async () => {
    endpoint('ep-1', '/hooks/one');
    cw.external.failNext('/hooks/one', [500]);
    const w = await start();
    expect(w.worker.jobs).toEqual([JOB]);
    const event = delivery('dlv-1', 'ep-1');
    await w.publish(event);
    await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', 'the delivery');

    expect(w.outcomesOf(JOB).map((o) => o.kind)).toEqual(['retry', 'ack']);
    const attempts = cw.external.requestsTo('POST /hooks/one');
    expect(attempts).toHaveLength(2);
    const [first, second] = attempts;
    expect(second?.text).toBe(first?.text);
    expect(first?.headers['idempotency-key']).toBe(idempotencyKey(JOB, 'dlv-1'));
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key']);
    expect(JSON.parse(first?.text ?? '')).toEqual({
      id: 'dlv-1',
      type: 'order.created',
      createdAt: event.occurredAt,
      tenantId: 'tenant-1',
      data: { orderId: 'order-dlv-1', total: '1999' },
    });
    for (const attempt of attempts) {
      expect(
        verifyWebhookSignature({
          secret: SECRET,
          header: String(attempt.headers['x-webhook-signature']),
          timestamp: String(attempt.headers['x-webhook-timestamp']),
          body: attempt.text,
          nowSeconds: Math.floor(Date.now() / 1000),
        }),
      ).toBe(true);
      expect(attempt.headers['x-webhook-id']).toBe('dlv-1');
      expect(attempt.headers['x-webhook-event']).toBe('order.created');
    }
    // the receiver's own check (an independent HMAC): the 500 attempt was signed too; one delivery applied
    expect(cw.external.attempts('/hooks/one').map((a) => a.validSignature)).toEqual([true, true]);
    expect(cw.external.deliveries('/hooks/one')).toHaveLength(1);
    // a wrong secret does not verify
    expect(
      verifyWebhookSignature({
        secret: 'whsec_another_secret_value',
        header: String(first?.headers['x-webhook-signature']),
        timestamp: String(first?.headers['x-webhook-timestamp']),
        body: first?.text ?? '',
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
    ).toBe(false);
  });

  it('opens the breaker of a failing endpoint only: its deliveries are deferred, another endpoint is served', async () => {
    endpoint('ep-down', '/hooks/down');
    endpoint('ep-up', '/hooks/up');
    cw.external.failNext(
      '/hooks/down',
      Array.from({ length: 10 }, () => 503),
    );
    const w = await start({
      WEBHOOK_BREAKER_FAILURES: '2',
      WEBHOOK_BREAKER_OPEN_MS: '60000',
      COMMERCE_QUEUE_OPTIONS: JSON.stringify({ '*': { baseMs: 50, maxMs: 100, maxAttempts: 10 } }),
    });
    const down = delivery('dlv-down-1', 'ep-down');
    await w.publish(down);
    await waitFor(
      () => w.outcomesOf(JOB).some((o) => o.eventId === down.id && o.kind === 'defer'),
      'the down endpoint deferred',
    );
    const deferred = w.outcomesOf(JOB).filter((o) => o.eventId === down.id);
    // two transient failures opened its breaker; the third attempt was not sent but deferred until half-open
    expect(deferred.map((o) => o.kind)).toEqual(['retry', 'retry', 'defer']);
    expect(deferred[2]?.delayMs).toBeGreaterThan(50_000);
    expect(cw.external.requestsTo('POST /hooks/down')).toHaveLength(2);

    const second = delivery('dlv-down-2', 'ep-down');
    const up = delivery('dlv-up-1', 'ep-up');
    await w.publish(second);
    await w.publish(up);
    await w.waitOutcome((o) => o.eventId === up.id && o.kind === 'ack', 'the healthy endpoint');
    await w.waitOutcome((o) => o.eventId === second.id && o.kind === 'defer', 'the second delivery deferred');
    expect(cw.external.requestsTo('POST /hooks/down')).toHaveLength(2);
    expect(cw.external.deliveries('/hooks/up')).toHaveLength(1);
  });

  it('dead-letters disabled endpoints, redirects and private addresses without retrying', async () => {
    endpoint('ep-off', '/hooks/off', { status: 'disabled' });
    endpoint('ep-moved', '/hooks/moved');
    cw.external.script(
      'POST /hooks/moved',
      Array.from({ length: 3 }, () => ({
        status: 302,
        headers: { location: `${cw.external.url}/hooks/up` },
      })),
    );
    // 127.0.0.1 literal: the SSRF guard refuses it before connecting
    endpoint('ep-private', '/hooks/private', { url: `http://127.0.0.1:${cw.external.port}/hooks/private` });
    const w = await start();
    const off = delivery('dlv-off', 'ep-off');
    const moved = delivery('dlv-moved', 'ep-moved');
    const blocked = delivery('dlv-private', 'ep-private');
    for (const event of [off, moved, blocked]) await w.publish(event);
    expect(await w.waitOutcome((o) => o.eventId === off.id, 'disabled')).toMatchObject({
      kind: 'dead',
      reason: 'endpoint_disabled',
    });
    expect(await w.waitOutcome((o) => o.eventId === moved.id, 'redirect')).toMatchObject({
      kind: 'dead',
      reason: 'permanent',
    });
    expect(await w.waitOutcome((o) => o.eventId === blocked.id, 'private')).toMatchObject({
      kind: 'dead',
      reason: 'ssrf_blocked',
    });
    expect(cw.external.requestsTo('POST /hooks/moved')).toHaveLength(1);
    expect(cw.external.requestsTo('POST /hooks/private')).toHaveLength(0);
    expect(cw.external.requestsTo('POST /hooks/off')).toHaveLength(0);
  });

  it('defers a delivery whose endpoint is over its shared rate limit instead of holding a slot', async () => {
    endpoint('ep-slow', '/hooks/slow');
    const w = await start({
      WEBHOOK_RATE_PER_SECOND: '0.5',
      WEBHOOK_RATE_BURST: '1',
      WEBHOOK_RATE_WAIT_MS: '100',
    });
    const a = delivery('dlv-slow-a', 'ep-slow');
    const b = delivery('dlv-slow-b', 'ep-slow');
    await w.publish(a);
    await w.waitOutcome((o) => o.eventId === a.id && o.kind === 'ack', 'the first delivery');
    await w.publish(b);
    const deferred = await w.waitOutcome((o) => o.eventId === b.id, 'the second delivery');
    expect(deferred.kind).toBe('defer');
    expect(deferred.delayMs).toBeGreaterThanOrEqual(1000);
    // deferred, not failed: once the bucket refills it is delivered
    await w.waitOutcome((o) => o.eventId === b.id && o.kind === 'ack', 'the deferred delivery', 15_000);
    expect(
      cw.external.deliveries('/hooks/slow').map((d) => (JSON.parse(d.body) as { id: string }).id),
    ).toEqual(['dlv-slow-a', 'dlv-slow-b']);
  });
});
