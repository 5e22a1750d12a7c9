// Webhook pieces: the signature scheme (sign, verify, rotation, replay window), per-endpoint breakers that never make
// a delivery wait, and the endpoint rate-limit bucket names.
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { admitNow, createEndpointBreakers } from '../../src/jobs/commerce/endpoint-breakers.js';
import { webhookBody, webhookRateName } from '../../src/jobs/commerce/webhook-deliver.js';
import { verifyWebhookSignature, webhookSignature } from '../../src/jobs/commerce/webhook-signature.js';

describe('webhook signatures', () => {
  const body = '{"id":"dlv-1"}';
  it('signs HMAC-SHA256 over "<timestamp>.<body>"', () => {
    // test vector computed independently (Python hmac): HMAC-SHA256("secret", '1700000000.{"id":"dlv-1"}')
    expect(webhookSignature('secret', 1_700_000_000, body)).toBe(
      'v1=50557dd1750c63ee729c202399419944de72baf121ca6068208efbcef3096644',
    );
    expect(webhookSignature('secret', 1_700_000_001, body)).not.toBe(
      webhookSignature('secret', 1_700_000_000, body),
    );
  });

  it('verifies in constant time, accepts any v1 of a rotation, refuses stale or tampered ones', () => {
    const header = webhookSignature('new-secret', 1_700_000_000, body);
    const check = (h: string, b = body, now = 1_700_000_100, timestamp = '1700000000') =>
      verifyWebhookSignature({ secret: 'new-secret', header: h, timestamp, body: b, nowSeconds: now });
    expect(check(header)).toBe(true);
    expect(check(`${webhookSignature('old-secret', 1_700_000_000, body)}, ${header}`)).toBe(true);
    expect(check(header, '{"id":"dlv-2"}')).toBe(false);
    expect(check(header, body, 1_700_000_301)).toBe(false);
    expect(check(header, body, 1_700_000_100, 'x')).toBe(false);
    expect(check('v1=00')).toBe(false);
  });

  it('sends a body fixed by the event, not by the attempt', () => {
    const event = {
      id: '01JB0000000000000000000000',
      type: 'webhook.delivery_requested',
      key: 'ep',
      occurredAt: '2026-11-23T10:00:00.000Z',
      source: 'commerce',
      schemaVersion: 1,
      data: { deliveryId: 'd', endpointId: 'ep', tenantId: 't', eventType: 'order.paid', payload: { a: 1 } },
    };
    expect(webhookBody(event)).toBe(
      '{"id":"d","type":"order.paid","createdAt":"2026-11-23T10:00:00.000Z","tenantId":"t","data":{"a":1}}',
    );
  });
});

describe('endpoint breakers', () => {
  it('keeps one breaker per endpoint, admits without waiting, and forgets the least recently used', () => {
    const scheduler = new VirtualTimeScheduler();
    const breakers = createEndpointBreakers({ failures: 2, windowMs: 1000, openMs: 500 }, 2, scheduler);
    const a = breakers.of('a');
    for (let i = 0; i < 2; i += 1) {
      const permit = admitNow(a);
      expect(permit).toBeDefined();
      if (permit) a.record(permit, true);
    }
    expect(a.state).toBe('open');
    expect(admitNow(a)).toBeUndefined();
    // another endpoint is not affected
    expect(admitNow(breakers.of('b'))).toEqual({ probe: false, generation: 0 });
    scheduler.flush();
    expect(a.state).toBe('half-open');
    const probe = admitNow(a);
    expect(probe?.probe).toBe(true);
    // while the probe is out, others are not admitted (they are deferred by the job)
    expect(admitNow(a)).toBeUndefined();
    if (probe) a.record(probe, false);
    expect(a.state).toBe('closed');
    expect(breakers.of('a')).toBe(a);
    breakers.of('c');
    expect(breakers.size).toBe(2);
    expect(breakers.of('b')).not.toBe(undefined);
    breakers.dispose();
    expect(breakers.size).toBe(0);
  });

  it('names each endpoint bucket with its rate, hashing ids that are not key-safe', () => {
    expect(webhookRateName('ep_1', 5, 10)).toBe('webhook.ep_1.5x10');
    expect(webhookRateName('ep:1@tenant', 0.5, 1)).toMatch(/^webhook\.[0-9a-f]{32}\.0\.5x1$/);
  });
});
