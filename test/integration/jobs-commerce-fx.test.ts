// fx.refresh in a worker: the 15-minute feeder publishes one request per base; rates come from the primary provider
// (one answer serves every base), go to Commerce as durable snapshots (one key per snapshot) and into `fx:<base>` with
// a 1 h TTL; a rate-limited primary cools down and the fallback serves; failures retry or dead-letter.
import { describe, expect, it } from 'vitest';
import { cachedRates } from '../../src/jobs/commerce/fx-refresh.js';
import { useCommerceWorker } from '../support/commerce-worker.js';
import type { PackWorker } from '../support/job-pack-worker.js';
import { commerceEvent } from '../support/mock-commerce.js';
import { waitFor } from '../support/streams-fixture.js';

const cw = useCommerceWorker({ url: import.meta.url, env: { ENABLE_FX_REFRESH: 'true' } });
const { db, start } = cw;
const JOB = 'fx.refresh';
const SNAPSHOTS = 'POST /internal/v1/commerce/fx/snapshots';
const T0 = Date.parse('2026-11-23T15:00:00.000Z');

async function cached(w: PackWorker, base: string) {
  const key = w.keys.cache('fx', base);
  const text = await db.redis.get(key);
  return {
    value: text === null ? undefined : cachedRates.parse(JSON.parse(text)),
    ttlMs: await db.redis.pttl(key),
  };
}

const request = (baseCurrency: string, data: object = {}) =>
  commerceEvent('fx.refresh_requested', baseCurrency, { baseCurrency, ...data });

describe('fx.refresh', () => {
  it('refreshes every base on a tick from one primary answer: snapshots stored once, cache with a 1 h TTL', async () => {
    const w = await start({ FX_BASE_CURRENCIES: 'USD,EUR,GBP' });
    expect(w.worker.jobs).toEqual(['fx.refresh', 'fx.refresh.schedule']);
    await w.tick('fx.refresh', 'fx.refresh.schedule', T0);
    await waitFor(
      () => w.outcomesOf(JOB).filter((o) => o.kind === 'ack').length === 3,
      'three bases refreshed',
    );
    expect(cw.external.requestsTo('GET /oxr/latest.json').length).toBe(1);
    expect(cw.external.requestsTo('GET /fixer/latest')).toHaveLength(0);
    const snapshots = cw.commerce.requestsTo(SNAPSHOTS);
    expect(snapshots).toHaveLength(3);
    const eur = cw.commerce.fxSnapshots.find((s) => s['baseCurrency'] === 'EUR');
    expect(eur).toEqual({
      baseCurrency: 'EUR',
      provider: 'openexchangerates',
      asOf: new Date(cw.external.fx.oxr.timestamp * 1000).toISOString(),
      rates: { GBP: '0.8888888889', JPY: '166.6666667', USD: '1.111111111' },
    });
    expect(snapshots.every((s) => String(s.headers['idempotency-key']).startsWith('fx.refresh'))).toBe(true);
    expect(cw.commerce.appliedTwice()).toBe(0);
    const usd = await cached(w, 'USD');
    expect(usd.value).toMatchObject({ base: 'USD', provider: 'openexchangerates', rates: { EUR: '0.9' } });
    expect(usd.ttlMs).toBeGreaterThan(3_590_000);
    expect(usd.ttlMs).toBeLessThanOrEqual(3_600_000);
    expect(w.polls).toContainEqual({ provider: 'fx.openexchangerates', up: true });

    // fresh rates: a request without forceRefresh is answered by the cache, one with it fetches again
    const again = request('USD');
    await w.publish(again);
    await w.waitOutcome((o) => o.eventId === again.id && o.kind === 'ack', 'the cached request');
    expect(cw.commerce.requestsTo(SNAPSHOTS)).toHaveLength(3);
    const forced = request('USD', { forceRefresh: true, targetCurrencies: ['JPY'] });
    await w.publish(forced);
    await w.waitOutcome((o) => o.eventId === forced.id && o.kind === 'ack', 'the forced request');
    expect(cw.external.requestsTo('GET /oxr/latest.json').length).toBe(2);
    expect(cw.commerce.fxSnapshots.at(-1)).toMatchObject({ baseCurrency: 'USD', rates: { JPY: '150' } });
    // the cache keeps every rate, whatever a request narrowed its snapshot to
    expect(Object.keys((await cached(w, 'USD')).value?.rates ?? {})).toEqual(['EUR', 'GBP', 'JPY']);
  });

  it('falls back to fixer while the primary rate limits (cooled down for its Retry-After), preferred provider first', async () => {
    cw.external.script('GET /oxr/latest.json', [{ status: 429, headers: { 'retry-after': '120' } }]);
    const w = await start();
    const gbp = request('GBP');
    await w.publish(gbp);
    await w.waitOutcome((o) => o.eventId === gbp.id && o.kind === 'ack', 'GBP');
    expect(cw.commerce.fxSnapshots[0]).toMatchObject({
      baseCurrency: 'GBP',
      provider: 'fixer',
      rates: { EUR: '1.136363636', USD: '1.25' },
    });
    const cooldown = await db.redis.pttl(w.keys.cache('fx.cooldown', 'openexchangerates'));
    expect(cooldown).toBeGreaterThan(100_000);
    // while cooling down the primary is not asked at all
    const jpy = request('JPY', { forceRefresh: true });
    await w.publish(jpy);
    await w.waitOutcome((o) => o.eventId === jpy.id && o.kind === 'ack', 'JPY');
    expect(cw.external.requestsTo('GET /oxr/latest.json')).toHaveLength(1);
    expect(cw.commerce.fxSnapshots[1]).toMatchObject({ baseCurrency: 'JPY', provider: 'fixer' });
    // a request naming ecb gets ECB's rates (EUR based, crossed to USD)
    const ecb = request('USD', { provider: 'ecb', forceRefresh: true });
    await w.publish(ecb);
    await w.waitOutcome((o) => o.eventId === ecb.id && o.kind === 'ack', 'ecb');
    expect(cw.commerce.fxSnapshots[2]).toMatchObject({
      baseCurrency: 'USD',
      provider: 'ecb',
      asOf: '2026-11-20T00:00:00.000Z',
      rates: { EUR: '0.9259259259', GBP: '0.8055555556' },
    });
    expect(w.polls).toContainEqual({ provider: 'fx.openexchangerates', up: false });
  });

  it('retries when every provider fails transiently and when Commerce is down; dead when none can ever serve', async () => {
    cw.external.script('GET /oxr/latest.json', [{ status: 503 }]);
    cw.external.script('GET /fixer/latest', [{ status: 502 }]);
    cw.commerce.script(SNAPSHOTS, [
      { status: 503, body: { error: { code: 'UNAVAILABLE', message: 'db down' } } },
    ]);
    const w = await start({ FX_PROVIDER_ORDER: 'openexchangerates,fixer', FX_PROVIDER_REUSE_MS: '1000' });
    const eur = request('EUR');
    await w.publish(eur);
    await w.waitOutcome((o) => o.eventId === eur.id && o.kind === 'ack', 'EUR');
    expect(w.outcomesOf(JOB).map((o) => o.kind)).toEqual(['retry', 'retry', 'ack']);
    // the snapshot attempt that met the 503 and the one that stored it carry the same key; applied once
    const [failed, stored] = cw.commerce.requestsTo(SNAPSHOTS);
    expect(stored?.headers['idempotency-key']).toBe(failed?.headers['idempotency-key']);
    expect(cw.commerce.fxSnapshots).toHaveLength(1);

    // a currency no provider quotes is a permanent failure
    const xyz = request('CHF', { forceRefresh: true });
    await w.publish(xyz);
    expect(await w.waitOutcome((o) => o.eventId === xyz.id, 'CHF')).toMatchObject({ kind: 'dead' });
  });

  it('dead-letters after the seed attempts when every provider refuses the keys', async () => {
    const w = await start({ OPEN_EXCHANGE_RATES_APP_ID: 'wrong', FIXER_API_KEY: 'wrong' });
    const usd = request('USD');
    await w.publish(usd);
    const dead = await w.waitOutcome((o) => o.eventId === usd.id && o.kind === 'dead', 'the refused request');
    expect(dead.reason).toBe('permanent');
    expect(w.outcomesOf(JOB)).toHaveLength(1);
    expect(cw.commerce.requestsTo(SNAPSHOTS)).toHaveLength(0);
  });
});
