// domain.verify in a worker: a pending domain is checked again every DOMAIN_VERIFICATION_EVERY_MS until its TXT
// record shows (fake DNS), the file and meta tag methods over HTTP (SSRF guard), CNAME; the status goes to Commerce
// and the notification.requested it publishes reaches the push provider; past the window the domain is failed.
import { beforeEach, describe, expect, it } from 'vitest';
import { useCommerceWorker } from '../support/commerce-worker.js';
import { commerceEvent, createFakeResolver } from '../support/mock-commerce.js';
import { waitFor } from '../support/streams-fixture.js';

const cw = useCommerceWorker({
  url: import.meta.url,
  env: {
    ENABLE_DOMAIN_VERIFICATION: 'true',
    ENABLE_NOTIFICATION: 'true',
    DOMAIN_VERIFICATION_EVERY_MS: '1000',
  },
  packDeps: () => ({ resolver }),
});
const { db, start } = cw;
const JOB = 'domain.verify';
const STATUS = 'POST /internal/v1/commerce/domains/status';
const TOKEN = 'tok_0123456789abcdefABCDEF';
let resolver: ReturnType<typeof createFakeResolver>;

beforeEach(() => {
  resolver = createFakeResolver();
});

function request(domainId: string, domain: string, method: string, requestedAt = new Date().toISOString()) {
  return commerceEvent('domain.verification_requested', domainId, {
    domainId,
    tenantId: 'tenant-1',
    domain,
    method,
    token: TOKEN,
    requestedAt,
    notifyUserId: 'user-1',
  });
}

describe('domain.verify', () => {
  it('checks a pending TXT record again until it shows, then records verified and notifies the owner', async () => {
    const w = await start();
    expect(w.worker.jobs).toEqual(['domain.verify', 'notification.send']);
    const event = request('dom-1', 'shop.example.com', 'dns_txt');
    await w.publish(event);
    const pending = await w.waitOutcome((o) => o.eventId === event.id, 'the first check');
    expect(pending.kind).toBe('defer');
    expect(pending.delayMs).toBeGreaterThanOrEqual(900);
    const last = JSON.parse((await db.redis.get(w.keys.cache('domain', 'dom-1'))) ?? '{}') as object;
    expect(last).toMatchObject({
      method: 'dns_txt',
      verified: false,
      finding: 'no TXT record at _broxiva-verification.shop.example.com',
    });

    resolver.txt.set('_broxiva-verification.shop.example.com', [
      ['other'],
      [TOKEN.slice(0, 10), TOKEN.slice(10)],
    ]);
    await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', 'the verified domain');
    expect(cw.commerce.domainStatuses.get('dom-1')).toEqual({ status: 'verified' });
    await waitFor(() => cw.external.pushes.length === 1, 'the notification');
    expect(cw.external.pushes[0]).toMatchObject({
      tenantId: 'tenant-1',
      userId: 'user-1',
      title: 'Domain verified',
      body: 'shop.example.com is verified and ready to use.',
      data: { domainId: 'dom-1', status: 'verified' },
    });
    expect(resolver.lookups.filter((l) => l === 'TXT _broxiva-verification.shop.example.com')).toHaveLength(
      2,
    );
  });

  it('verifies the http_file, meta_tag and dns_cname methods', async () => {
    cw.external.verificationFile = `other-token\n${TOKEN}\n`;
    cw.external.homepage = `<html><head><meta content="${TOKEN}" name='broxiva-verification'></head></html>`;
    resolver.cname.set('www.shop.example', ['Domains.Broxiva.com.']);
    const w = await start();
    const file = request('dom-file', 'localhost', 'http_file');
    const meta = request('dom-meta', 'localhost', 'meta_tag');
    const cname = request('dom-cname', 'www.shop.example', 'dns_cname');
    for (const event of [file, meta, cname]) await w.publish(event);
    for (const event of [file, meta, cname]) {
      await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', event.data.method);
    }
    expect(cw.commerce.domainStatuses.get('dom-file')?.status).toBe('verified');
    expect(cw.commerce.domainStatuses.get('dom-meta')?.status).toBe('verified');
    expect(cw.commerce.domainStatuses.get('dom-cname')?.status).toBe('verified');
    expect(cw.external.requestsTo('GET /.well-known/broxiva-verification.txt')).toHaveLength(1);
  });

  it('records failed (with the last finding) once the window ends, and retries a Commerce outage with one key', async () => {
    cw.commerce.script(STATUS, [{ status: 503, body: { error: { code: 'UNAVAILABLE', message: 'down' } } }]);
    const w = await start({ DOMAIN_VERIFICATION_WINDOW_MS: '2000' });
    // requested 1.5 s ago: the window ends before the next regular check
    const event = request(
      'dom-late',
      'late.example.com',
      'dns_txt',
      new Date(Date.now() - 1500).toISOString(),
    );
    await w.publish(event);
    await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', 'the failed domain', 10_000);
    expect(
      w
        .outcomesOf(JOB)
        .filter((o) => o.eventId === event.id)
        .map((o) => o.kind),
    ).toEqual(['defer', 'retry', 'ack']);
    expect(cw.commerce.domainStatuses.get('dom-late')).toEqual({
      status: 'failed',
      reason: 'no TXT record at _broxiva-verification.late.example.com',
    });
    const [failed, stored] = cw.commerce.requestsTo(STATUS);
    expect(stored?.headers['idempotency-key']).toBe(failed?.headers['idempotency-key']);
    await waitFor(() => cw.external.pushes.length === 1, 'the failure notification');
    expect(cw.external.pushes[0]).toMatchObject({ title: 'Domain verification failed' });
  });
});
