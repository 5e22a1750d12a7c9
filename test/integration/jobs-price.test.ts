// The price pack in a worker: price.ingest polls providers through the SSRF guard (one schedule each), skips bad
// items, dedupes, posts to the Price Service with batch-digest keys, reports provider health, honours 429 and gives a
// failing tick up; cfb.price.sample writes minute bars from Price Service quotes or a provider.
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { createPricePack } from '../../src/jobs/price/pack.js';
import { toMinorUnits } from '../../src/jobs/price/cfb-price-sample.js';
import { createBarWriter } from '../../src/sinks/bar-writer.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { startWorker } from '../../src/worker.js';
import {
  NEVER,
  jobTestEnv,
  startPackWorker,
  startServiceMock,
  type PackWorker,
} from '../support/job-pack-worker.js';
import { startMockFeeds, type MockFeeds } from '../support/mock-feeds.js';
import type { MockService } from '../support/mock-service.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let feeds: MockFeeds;
let price: MockService;
let running: PackWorker | undefined;
let run = 0;

const INGESTED = { status: 200, body: { accepted: 1, duplicates: 0 } };
const TICKS_ROUTE = 'POST /internal/v1/price/ticks';
const BARS_ROUTE = 'POST /internal/v1/price/bars';
const T0 = Date.parse('2026-11-23T15:00:00.000Z');

beforeAll(async () => {
  feeds = await startMockFeeds();
});
afterAll(async () => {
  await feeds.close();
});
// a fresh Price Service per test, so no scripted answer outlives its test
beforeEach(async () => {
  price = await startServiceMock('price');
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await price.close();
});

function provider(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    format: 'ticks',
    url: `${feeds.url}/${id}/ticks?symbols={symbols}`,
    symbols: ['BTC/USDT'],
    ...extra,
  };
}

async function start(env: Record<string, string>): Promise<PackWorker> {
  run += 1;
  const keyPrefix = `${prefix}-${run}`;
  const full = { SVC_PRICE_URL: price.url, ENABLE_PRICE_INGEST: 'true', ...env };
  running = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: keyPrefix,
    pack: createPricePack(full),
    env: full,
  });
  return running;
}

const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');
const postsFor = (provider: string, route = TICKS_ROUTE) =>
  price.requestsTo(route).filter((r) => (r.body as { provider?: string }).provider === provider);

describe('price.ingest', () => {
  it('polls each provider on its own schedule, skips bad items, posts new ticks once with a digest key', async () => {
    feeds.serve('/alpha/ticks', {
      body: {
        ticks: [
          { symbol: 'BTCUSDT', price: 64250.12, size: '0.5', at: T0, tradeId: 1001 },
          { symbol: 'BTCUSDT', price: '64251', at: '2026-11-23T15:00:01Z', tradeId: '1002' },
          { symbol: 'BTCUSDT', price: 'NaN', at: T0, tradeId: '1003' },
          { symbol: 'DOGEUSDT', price: '1', at: T0 },
        ],
      },
    });
    price.script(
      TICKS_ROUTE,
      Array.from({ length: 5 }, () => INGESTED),
    );
    const providers = [provider('alpha', { symbolMap: { 'BTC/USDT': 'BTCUSDT' } })];
    const w = await start({
      PRICE_PROVIDERS: JSON.stringify(providers),
      CRON_PRICE_INGEST_ALPHA: '1s',
      ENABLE_PRICE_SAMPLER: 'false',
    });
    expect(w.worker.jobs).toEqual(['price.ingest']);
    await waitFor(
      () => w.outcomesOf('price.ingest').filter((o) => o.kind === 'ack').length >= 2,
      'two polls',
    );
    expect(feeds.requestsTo('/alpha/ticks')[0]?.query).toBe('symbols=BTCUSDT');
    const posts = postsFor('alpha');
    expect(posts).toHaveLength(1);
    const ticks = [
      { symbol: 'BTC/USDT', price: '64250.12', at: '2026-11-23T15:00:00.000Z', size: '0.5', tradeId: '1001' },
      { symbol: 'BTC/USDT', price: '64251', at: '2026-11-23T15:00:01.000Z', tradeId: '1002' },
    ];
    expect(posts[0]?.body).toEqual({ provider: 'alpha', ticks });
    expect(posts[0]?.idempotencyKey).toBe(idempotencyKey('price.ingest.ticks', 'alpha', digest(ticks)));
    expect(w.polls.filter((p) => p.provider === 'price.alpha').every((p) => p.up)).toBe(true);

    // a new trade appears: only it is posted
    feeds.serve('/alpha/ticks', {
      body: [
        { symbol: 'BTCUSDT', price: '64251', at: '2026-11-23T15:00:01Z', tradeId: '1002' },
        { symbol: 'BTCUSDT', price: '64252.5', at: '2026-11-23T15:00:02Z', tradeId: '1004' },
      ],
    });
    await waitFor(() => postsFor('alpha').length === 2, 'the new trade posted');
    expect((postsFor('alpha')[1]?.body as { ticks: unknown[] }).ticks).toEqual([
      { symbol: 'BTC/USDT', price: '64252.5', at: '2026-11-23T15:00:02.000Z', tradeId: '1004' },
    ]);
    expect(price.appliedTwice()).toBe(0);
  });

  it('retries a provider that is down, reporting its health down, then ingests', async () => {
    feeds.script('/beta/ticks', [{ reset: true }]);
    feeds.serve('/beta/ticks', {
      body: { ticks: [{ symbol: 'BTC/USDT', price: '1', at: T0, tradeId: 'b1' }] },
    });
    price.script(TICKS_ROUTE, [{ status: 503 }, INGESTED]);
    const w = await start({
      PRICE_PROVIDERS: JSON.stringify([provider('beta')]),
      CRON_PRICE_INGEST_BETA: NEVER,
    });
    const id = await w.tick('price.ingest.beta', 'price.ingest', T0);
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the tick acked');
    expect(w.outcomesOf('price.ingest').map((o) => o.kind)).toEqual(['retry', 'retry', 'ack']);
    // provider down, then up twice (the second poll's post failed at the Price Service)
    expect(w.polls.map((p) => p.up)).toEqual([false, true, true]);
    expect(postsFor('beta')).toHaveLength(2);
    expect(postsFor('beta')[0]?.idempotencyKey).toBe(postsFor('beta')[1]?.idempotencyKey);
  });

  it('honours a provider 429 Retry-After, and gives a tick up after its attempts without a dead letter', async () => {
    feeds.script('/gamma/ticks', [{ status: 429, headers: { 'retry-after': '1' } }]);
    feeds.serve('/gamma/ticks', { status: 500 });
    const w = await start({
      PRICE_PROVIDERS: JSON.stringify([provider('gamma')]),
      CRON_PRICE_INGEST_GAMMA: NEVER,
    });
    const id = await w.tick('price.ingest.gamma', 'price.ingest', T0);
    const first = await w.waitOutcome((o) => o.eventId === id, 'the first attempt');
    expect(first).toMatchObject({ kind: 'retry', delayMs: 1000 });
    await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'the tick given up');
    const [limited, next] = feeds.requestsTo('/gamma/ticks');
    expect((next?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(w.outcomesOf('price.ingest').map((o) => o.kind)).toEqual(['retry', 'retry', 'ack']);
    expect(w.polls.map((p) => p.up)).toEqual([false, false, false]);
    expect(await db.redis.xlen(w.keys.partition('cron', 0).dlq)).toBe(0);
    expect(await db.redis.xlen(w.keys.partition('cron', 1).dlq)).toBe(0);
  });

  it('refuses a provider URL on a private address (SSRF guard): dead, provider down, never fetched', async () => {
    const before = feeds.requests.length;
    const w = await start({
      PRICE_PROVIDERS: JSON.stringify([provider('delta', { url: `${feeds.ipUrl}/delta/ticks` })]),
      CRON_PRICE_INGEST_DELTA: NEVER,
    });
    const id = await w.tick('price.ingest.delta', 'price.ingest', T0);
    const dead = await w.waitOutcome((o) => o.eventId === id, 'the tick handled');
    expect(dead.kind).toBe('dead');
    expect(dead.reason).toBe('ssrf_blocked');
    expect(w.polls).toEqual([{ provider: 'price.delta', up: false }]);
    expect(feeds.requests.length).toBe(before);
  });

  it('posts bars of a bars provider per symbol URL, re-posting the current bar only when it changed', async () => {
    const bar = (openAt: number, close: string) => ({
      symbol: 'ETH/USDT',
      openAt,
      open: '3000',
      high: '3010',
      low: '2990',
      close,
      volume: '12.5',
    });
    feeds.serve('/eps/ETH%2FUSDT', { body: { bars: [bar(T0, '3001')] } });
    price.script(BARS_ROUTE, [INGESTED, INGESTED]);
    const w = await start({
      PRICE_PROVIDERS: JSON.stringify([
        provider('eps', {
          format: 'bars',
          url: `${feeds.url}/eps/{symbol}`,
          symbols: ['ETH/USDT'],
          interval: '1m',
        }),
      ]),
      CRON_PRICE_INGEST_EPS: NEVER,
    });
    await w.tick('price.ingest.eps', 'price.ingest', T0);
    await waitFor(() => postsFor('eps', BARS_ROUTE).length === 1, 'the bar posted');
    await w.tick('price.ingest.eps', 'price.ingest', T0 + 60_000);
    await waitFor(() => w.outcomesOf('price.ingest').length === 2, 'the second poll');
    expect(postsFor('eps', BARS_ROUTE)).toHaveLength(1);
    feeds.serve('/eps/ETH%2FUSDT', { body: [bar(T0, '3005'), bar(T0 + 60_000, '3005')] });
    await w.tick('price.ingest.eps', 'price.ingest', T0 + 120_000);
    await waitFor(() => postsFor('eps', BARS_ROUTE).length === 2, 'the changed bar posted');
    const body = postsFor('eps', BARS_ROUTE)[1]?.body as { interval: string; bars: { close: string }[] };
    expect(body.interval).toBe('1m');
    expect(body.bars.map((b) => b.close)).toEqual(['3005', '3005']);
    expect(postsFor('eps', BARS_ROUTE)[1]?.idempotencyKey).toBe(
      idempotencyKey('price.ingest.bars', 'eps', '1m', digest(body.bars)),
    );
  });

  it('reports bad provider settings as a ConfigError naming the variable', () => {
    expect(() => createPricePack({ PRICE_PROVIDERS: '[{' })).toThrow(/PRICE_PROVIDERS: is not valid JSON/);
    expect(() =>
      createPricePack({ PRICE_PROVIDERS: JSON.stringify([provider('x'), provider('x')]) }),
    ).toThrow(ConfigError);
    expect(() =>
      createPricePack({ PRICE_PROVIDERS: JSON.stringify([provider('x')]), CFB_PRICE_SAMPLE_PROVIDER: 'x' }),
    ).toThrow(/CFB_PRICE_SAMPLE_PROVIDER/);
  });
});

describe('cfb.price.sample', () => {
  it('writes minute bars from the Price Service quotes of each tick', async () => {
    price.script('GET /internal/v1/price/quotes', [
      {
        body: {
          quotes: [
            { symbol: 'BTC/USDT', price: '64250.12', at: '2026-11-23T15:00:05.000Z' },
            { symbol: 'ETH/USDT', price: '3000.5', at: '2026-11-23T15:00:06.000Z' },
          ],
        },
      },
      { status: 503 },
      { body: { quotes: [{ symbol: 'BTC/USDT', price: '64260', at: '2026-11-23T15:00:35.000Z' }] } },
    ]);
    const w = await start({
      ENABLE_PRICE_SAMPLER: 'true',
      ENABLE_PRICE_INGEST: 'false',
      CFB_PRICE_SAMPLE_SYMBOLS: 'BTC/USDT,ETH/USDT',
      CRON_CFB_PRICE_SAMPLE: NEVER,
    });
    expect(w.worker.jobs).toEqual(['cfb.price.sample']);
    // one after the other: a tick finding the previous run still going is skipped (overlap policy)
    for (const tickMs of [T0, T0 + 30_000]) {
      const id = await w.tick('cfb.price.sample', 'cfb.price.sample', tickMs);
      await w.waitOutcome((o) => o.eventId === id && o.kind === 'ack', 'a sample');
    }
    expect(w.outcomesOf('cfb.price.sample').filter((o) => o.kind === 'retry')).toHaveLength(1);
    const bar = await barsOf(`${prefix}-${run}`).readBar('BTC/USDT', '1m', T0);
    expect(bar).toMatchObject({
      open: toMinorUnits('64250.12', 8),
      close: '6426000000000',
      high: '6426000000000',
      trades: 2,
      volume: '0',
    });
    expect((await barsOf(`${prefix}-${run}`).readBar('ETH/USDT', '1m', T0))?.close).toBe('300050000000');
  });

  it('samples a quotes provider on CRON_CFB_PRICE_SAMPLE when there is no Price Service', async () => {
    feeds.serve('/q/quotes', { body: { quotes: [{ symbol: 'SOL/USDT', price: '150.25', at: T0 }] } });
    const env = {
      PRICE_PROVIDERS: JSON.stringify([
        provider('q', { format: 'quotes', url: `${feeds.url}/q/quotes?s={symbols}`, symbols: ['SOL/USDT'] }),
      ]),
      CFB_PRICE_SAMPLE_PROVIDER: 'q',
      CFB_PRICE_SAMPLE_SYMBOLS: 'SOL/USDT',
      CFB_PRICE_SAMPLE_DECIMALS: '2',
      ENABLE_PRICE_SAMPLER: 'true',
      ENABLE_PRICE_INGEST: 'false',
      CRON_CFB_PRICE_SAMPLE: '1s',
    };
    run += 1;
    const keyPrefix = `${prefix}-${run}`;
    running = await startPackWorker({
      redis: db.redis,
      redisUrl: db.server.url,
      prefix: keyPrefix,
      pack: createPricePack(env),
      env,
    });
    const w = running;
    await w.waitOutcome((o) => o.job === 'cfb.price.sample' && o.kind === 'ack', 'a scheduled sample');
    expect(w.polls[0]).toEqual({ provider: 'price.q', up: true });
    expect(feeds.requestsTo('/q/quotes')[0]?.query).toBe('s=SOL%2FUSDT');
    expect(await barsOf(keyPrefix).readBar('SOL/USDT', '1m', T0)).toMatchObject({ open: '15025', trades: 1 });
  });

  it('refuses to start when enabled without symbols or without a quote source', async () => {
    const base = jobTestEnv(db.server.url, `${prefix}-refused`, {
      ENABLE_PRICE_SAMPLER: 'true',
      ENABLE_PRICE_INGEST: 'false',
    });
    const noSymbols = startWorker({
      config: loadConfig(base, { envFile: false }),
      packs: [createPricePack(base)],
    });
    await expect(noSymbols).rejects.toThrow(/CFB_PRICE_SAMPLE_SYMBOLS/);
    const withSymbols = { ...base, CFB_PRICE_SAMPLE_SYMBOLS: 'BTC/USDT' };
    const noSource = startWorker({
      config: loadConfig(withSymbols, { envFile: false }),
      packs: [createPricePack(withSymbols)],
    });
    await expect(noSource).rejects.toThrow(/SVC_PRICE_URL, CFB_PRICE_SAMPLE_PROVIDER/);
  });
});

function barsOf(keyPrefix: string) {
  return createBarWriter({ redis: db.redis, keys: createKeyBuilder({ prefix: keyPrefix }) });
}
