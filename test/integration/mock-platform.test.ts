// The mock platform of the demo and the end-to-end tests: service JWTs, Idempotency-Key replays, scripted faults,
// contract validation, the domain state transitions, and the HTTP sink's mapping of its answers.
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockPlatform, type MockPlatform } from '../../demo/mock-platform/mock-platform.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { registerPlayhubEvents } from '../../src/jobs/playhub/events.js';
import { createHttpSink, type HttpSink } from '../../src/sinks/http-sink.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createServicePools, type ServicePools } from '../../src/sinks/service-pools.js';
import { createServiceTokens, type ServiceTokens } from '../../src/sinks/service-tokens.js';

const SETTLE = 'POST /internal/v1/cfb/settle';

let platform: MockPlatform;
let tokens: ServiceTokens;
let pools: ServicePools;
let sink: HttpSink;
let betNo = 0;

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/** A signed call to a mock service (audience = the service unless told otherwise). */
async function call(
  service: keyof MockPlatform['services'],
  path: string,
  options: { body?: unknown; key?: string; audience?: string; unsigned?: boolean; signal?: AbortSignal } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (!options.unsigned)
    headers.authorization = `Bearer ${await tokens.tokenFor(options.audience ?? service)}`;
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${platform.services[service].url}${path}`, {
    method: options.body === undefined ? 'GET' : 'POST',
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
}

/** A bet whose tEnd has passed, and the settle request and key a job would send for it. */
function dueBet(): { betId: string; tEnd: string; body: { betId: string; tEnd: string }; key: string } {
  betNo += 1;
  const tEnd = new Date(Date.now() - 1000).toISOString();
  const bet = platform.playhub.createBet({ betId: `bet-t${betNo}`, tEnd });
  return {
    betId: bet.betId,
    tEnd: bet.tEnd,
    body: { betId: bet.betId, tEnd: bet.tEnd },
    key: idempotencyKey('cfb.settle', bet.betId, new Date(bet.tEnd)),
  };
}

beforeAll(async () => {
  platform = await startMockPlatform({ seed: 42 });
  tokens = createServiceTokens({ privateJwk: platform.privateJwk, issuer: 'workers' });
  pools = createServicePools(
    { playhub: platform.env.SVC_PLAYHUB_URL!, funding: platform.env.SVC_FUNDING_URL! },
    { connectTimeoutMs: 1000, requestTimeoutMs: 400, connections: 4 },
  );
  sink = createHttpSink({ pools, tokens, responseMaxBytes: 65_536 });
});
afterAll(async () => {
  await pools.close();
  await platform.close();
});
beforeEach(() => {
  for (const service of Object.values(platform.services)) service.clearFaults();
});

describe('startMockPlatform', () => {
  it('returns the SVC_*_URL entries, the trusted public JWK and a worker env', () => {
    expect(Object.keys(platform.env).sort()).toEqual(
      [
        'SVC_CAMPAIGNS_URL',
        'SVC_ESCROW_URL',
        'SVC_EVENTS_URL',
        'SVC_FUNDING_URL',
        'SVC_PAYHUB_URL',
        'SVC_PLAYHUB_URL',
        'SVC_PRICE_URL',
        'SVC_WATCHLIST_URL',
      ].sort(),
    );
    for (const url of Object.values(platform.env)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set(Object.values(platform.env)).size).toBe(8);
    expect(platform.publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(platform.publicJwk).not.toHaveProperty('d');
    expect(JSON.parse(platform.workerEnv.SERVICE_JWT_PRIVATE_JWK!)).toMatchObject({
      kid: platform.publicJwk.kid,
    });
    expect(platform.workerEnv).toMatchObject({
      EXTERNAL_ALLOW_HTTP: 'true',
      EXTERNAL_ALLOW_LOOPBACK_HOSTS: 'localhost',
    });
    expect(platform.feeds.url).toMatch(/^http:\/\/localhost:\d+$/);
  });
});

describe('service JWT', () => {
  it('accepts a signed request and refuses an unsigned, wrong-audience or foreign-key one with 401', async () => {
    const bet = dueBet();
    const before = platform.playhub.stats().unauthorized;
    const unsigned = await call('playhub', '/internal/v1/cfb/settle', {
      body: bet.body,
      key: bet.key,
      unsigned: true,
    });
    const wrongAudience = await call('playhub', '/internal/v1/cfb/settle', {
      body: bet.body,
      key: bet.key,
      audience: 'escrow',
    });
    const foreign = createServiceTokens({
      privateJwk: generateServiceKeyPair().privateJwk,
      issuer: 'workers',
    });
    const res = await fetch(`${platform.playhub.url}/internal/v1/cfb/settle`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await foreign.tokenFor('playhub')}`,
        'idempotency-key': bet.key,
        'content-type': 'application/json',
      },
      body: JSON.stringify(bet.body),
    });
    for (const status of [unsigned.status, wrongAudience.status, res.status]) expect(status).toBe(401);
    expect(unsigned.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect(platform.playhub.stats().unauthorized - before).toBe(3);
    expect(platform.playhub.bet(bet.betId)?.state).toBe('open');

    const signed = await call('playhub', '/internal/v1/cfb/settle', { body: bet.body, key: bet.key });
    expect(signed).toMatchObject({ status: 200, body: { betId: bet.betId, state: 'settled' } });
    const recorded = platform.playhub.requestsTo(SETTLE).at(-1);
    expect(recorded).toMatchObject({
      idempotencyKey: bet.key,
      contractKey: bet.key,
      status: 200,
      applied: true,
    });
    expect(recorded?.claims).toMatchObject({ issuer: 'workers', audience: 'playhub' });
  });
});

describe('Idempotency-Key', () => {
  it('replays a terminal answer for a repeated key and counts the replay, applying once', async () => {
    const bet = dueBet();
    const before = platform.playhub.stats().byRoute[SETTLE] ?? { replays: 0, applied: 0 };
    const first = await call('playhub', '/internal/v1/cfb/settle', { body: bet.body, key: bet.key });
    const second = await call('playhub', '/internal/v1/cfb/settle', { body: bet.body, key: bet.key });
    expect(second.status).toBe(first.status);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const after = platform.playhub.stats().byRoute[SETTLE]!;
    expect(after.replays - before.replays).toBe(1);
    expect(after.applied - before.applied).toBe(1);
    expect(platform.playhub.applied(bet.key)).toBe(1);
    expect(platform.appliedTwice()).toBe(0);
  });

  it('replays a 4xx too, and answers another body under the same key with 409 IDEMPOTENCY_KEY_MISMATCH', async () => {
    const key = idempotencyKey('cfb.settle', 'bet-missing', new Date('2026-01-01T00:00:00.000Z'));
    const body = { betId: 'bet-missing', tEnd: '2026-01-01T00:00:00.000Z' };
    const first = await call('playhub', '/internal/v1/cfb/settle', { body, key });
    const second = await call('playhub', '/internal/v1/cfb/settle', { body, key });
    expect(first).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(second.status).toBe(404);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const other = await call('playhub', '/internal/v1/cfb/settle', {
      body: { ...body, betId: 'bet-other' },
      key,
    });
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_KEY_MISMATCH' } } });
  });

  it('does not cache 202 or 5xx: the same key is handled again', async () => {
    const bet = platform.playhub.createBet({ betId: 'bet-early', tEnd: Date.now() + 60_000 });
    const key = idempotencyKey('cfb.settle', bet.betId, new Date(bet.tEnd));
    const body = { betId: bet.betId, tEnd: bet.tEnd };
    const early = await call('playhub', '/internal/v1/cfb/settle', { body, key });
    expect(early).toMatchObject({
      status: 202,
      body: { betId: bet.betId, reason: 'before tEnd', retryAt: bet.tEnd },
    });
    const again = await call('playhub', '/internal/v1/cfb/settle', { body, key });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBeNull();

    const due = dueBet();
    platform.playhub.fault(SETTLE, { status: 503, retryAfterS: 2 });
    const unavailable = await call('playhub', '/internal/v1/cfb/settle', { body: due.body, key: due.key });
    expect(unavailable).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    expect(unavailable.headers.get('retry-after')).toBe('2');
    const settled = await call('playhub', '/internal/v1/cfb/settle', { body: due.body, key: due.key });
    expect(settled).toMatchObject({ status: 200, body: { state: 'settled' } });
    expect(settled.headers.get('idempotent-replayed')).toBeNull();
    expect(platform.playhub.applied(due.key)).toBe(1);
  });

  it('answers 409 IN_PROGRESS to the same key while the first call is still being applied', async () => {
    const slow = await startMockPlatform({ seed: 7, latency: 300, keys: { publicJwk: platform.publicJwk } });
    try {
      const bet = slow.playhub.createBet({ betId: 'bet-slow', tEnd: Date.now() - 1000 });
      const key = idempotencyKey('cfb.settle', bet.betId, new Date(bet.tEnd));
      const post = async (): Promise<number> =>
        (
          await fetch(`${slow.playhub.url}/internal/v1/cfb/settle`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${await tokens.tokenFor('playhub')}`,
              'idempotency-key': key,
              'content-type': 'application/json',
            },
            body: JSON.stringify({ betId: bet.betId, tEnd: bet.tEnd }),
          })
        ).status;
      const first = post();
      // the second call starts once the first is in flight (the mock records a request on arrival)
      await expect.poll(() => slow.playhub.requestsTo(SETTLE).length, { timeout: 5000 }).toBe(1);
      const statuses = await Promise.all([first, post()]);
      expect(statuses).toEqual([200, 409]);
      expect(slow.playhub.stats().inProgress).toBe(1);
      expect(slow.appliedTwice()).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it('counts a key that is not the one the contract derives from the body', async () => {
    const bet = dueBet();
    const before = platform.playhub.stats().contractKeyMismatches;
    const res = await call('playhub', '/internal/v1/cfb/settle', {
      body: bet.body,
      key: `cfb.settle:${bet.betId}`,
    });
    expect(res.status).toBe(200);
    expect(platform.playhub.stats().contractKeyMismatches - before).toBe(1);
  });
});

describe('contract validation', () => {
  it('answers 400 INVALID_REQUEST to a body the contract refuses, and to a mutation without a key', async () => {
    const bet = dueBet();
    const extra = await call('playhub', '/internal/v1/cfb/settle', {
      body: { ...bet.body, extra: 1 },
      key: 'cfb.settle:extra',
    });
    expect(extra).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    const badTime = await call('playhub', '/internal/v1/cfb/settle', {
      body: { betId: bet.betId, tEnd: 'tomorrow' },
      key: 'cfb.settle:bad-time',
    });
    expect(badTime.status).toBe(400);
    const keyless = await call('playhub', '/internal/v1/cfb/settle', { body: bet.body });
    expect(keyless).toMatchObject({
      status: 400,
      body: { error: { message: 'mutations need an Idempotency-Key' } },
    });
    const badQuery = await call('playhub', '/internal/v1/cfb/bets/due?before=now&limit=10');
    expect(badQuery.status).toBe(400);
    expect(platform.playhub.bet(bet.betId)?.state).toBe('open');
  });
});

describe('scripted faults', () => {
  it('answers a status with Retry-After for the next N calls, then the real answer', async () => {
    const bet = dueBet();
    platform.playhub.fault(SETTLE, { status: 429, retryAfterS: 3, times: 2 });
    const answers = [];
    for (let i = 0; i < 3; i += 1)
      answers.push(await call('playhub', '/internal/v1/cfb/settle', { body: bet.body, key: bet.key }));
    expect(answers.map((a) => a.status)).toEqual([429, 429, 200]);
    expect(answers[0]?.headers.get('retry-after')).toBe('3');
    expect(answers[0]?.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
  });

  it('scripts a 409 code and a 202 whose body parses as the contract`s', async () => {
    const bet = dueBet();
    platform.playhub.fault(SETTLE, [
      { status: 409, code: 'IN_PROGRESS' },
      { status: 202, retryAfterS: 1 },
    ]);
    const conflict = await call('playhub', '/internal/v1/cfb/settle', { body: bet.body, key: bet.key });
    expect(conflict).toMatchObject({ status: 409, body: { error: { code: 'IN_PROGRESS' } } });
    expect(
      await sink.outcomeOf({
        service: 'playhub',
        path: '/internal/v1/cfb/settle',
        body: bet.body,
        idempotencyKey: bet.key,
      }),
    ).toMatchObject({
      kind: 'defer',
    });
  });

  it('hangs and resets, leaving the effect unapplied', async () => {
    const bet = dueBet();
    platform.playhub.fault(SETTLE, [{ hang: true }, { reset: true }]);
    await expect(
      call('playhub', '/internal/v1/cfb/settle', {
        body: bet.body,
        key: bet.key,
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    await expect(
      call('playhub', '/internal/v1/cfb/settle', { body: bet.body, key: bet.key }),
    ).rejects.toThrow();
    expect(platform.playhub.bet(bet.betId)?.state).toBe('open');
    const statuses = platform.playhub.stats().byRoute[SETTLE]!.statuses;
    expect(statuses.hang).toBeGreaterThanOrEqual(1);
    expect(statuses.reset).toBeGreaterThanOrEqual(1);
  });

  it('after the effect: the answer is lost, the retry is a replay, nothing is applied twice', async () => {
    const bet = dueBet();
    platform.playhub.fault(SETTLE, { phase: 'after', reset: true });
    const outcomes = [];
    for (let i = 0; i < 2; i += 1)
      outcomes.push(
        await sink.outcomeOf({
          service: 'playhub',
          path: '/internal/v1/cfb/settle',
          body: bet.body,
          idempotencyKey: bet.key,
        }),
      );
    expect(outcomes.map((o) => o.kind)).toEqual(['retry', 'ack']);
    expect(platform.playhub.bet(bet.betId)?.state).toBe('settled');
    expect(platform.playhub.requestsTo(SETTLE).at(-1)).toMatchObject({ replay: true, status: 200 });
    expect(platform.playhub.applied(bet.key)).toBe(1);
    expect(platform.appliedTwice()).toBe(0);
  });

  it('hits a seeded share of calls, the same share for the same seed', async () => {
    const run = async (): Promise<number[]> => {
      const p = await startMockPlatform({ seed: 'share', keys: { publicJwk: platform.publicJwk } });
      try {
        p.price.fault('*', { status: 500, share: 0.5 });
        const statuses: number[] = [];
        for (let i = 0; i < 20; i += 1) {
          const res = await fetch(`${p.price.url}/internal/v1/price/quotes?symbols=BTC/USDT`, {
            headers: { authorization: `Bearer ${await tokens.tokenFor('price')}` },
          });
          await res.arrayBuffer();
          statuses.push(res.status);
        }
        return statuses;
      } finally {
        await p.close();
      }
    };
    const first = await run();
    expect(await run()).toEqual(first);
    const failed = first.filter((s) => s === 500).length;
    expect(failed).toBeGreaterThan(2);
    expect(failed).toBeLessThan(18);
  });
});

describe('PlayHub bets', () => {
  it('open -> settle: 200 settled, then final', async () => {
    const bet = dueBet();
    expect(
      await sink.outcomeOf({
        service: 'playhub',
        path: '/internal/v1/cfb/settle',
        body: bet.body,
        idempotencyKey: bet.key,
      }),
    ).toEqual({
      kind: 'ack',
    });
    expect(platform.playhub.bet(bet.betId)).toMatchObject({ state: 'settled' });
    const push = await call('playhub', '/internal/v1/cfb/push', {
      body: { ...bet.body, reason: 'window over' },
      key: idempotencyKey('cfb.push', bet.betId, new Date(bet.tEnd)),
    });
    expect(push).toMatchObject({ status: 200, body: { state: 'settled' } });
    expect(platform.playhub.bet(bet.betId)?.state).toBe('settled');
  });

  it('open -> push: 200 pushed; a settle after the push is refused (state pushed, nothing applied)', async () => {
    const bet = dueBet();
    const pushKey = idempotencyKey('cfb.push', bet.betId, new Date(bet.tEnd));
    const push = await call('playhub', '/internal/v1/cfb/push', {
      body: { ...bet.body, reason: 'oracle down' },
      key: pushKey,
    });
    expect(push).toMatchObject({ status: 200, body: { betId: bet.betId, state: 'pushed' } });
    const settle = await call('playhub', '/internal/v1/cfb/settle', { body: bet.body, key: bet.key });
    expect(settle).toMatchObject({ status: 200, body: { state: 'pushed' } });
    expect(platform.playhub.applied(bet.key)).toBe(0);
    expect(platform.playhub.bet(bet.betId)?.state).toBe('pushed');
  });

  it('with alreadyFinal: conflict, a settle after a push is 409 ALREADY_DONE (an ack for the job)', async () => {
    const p = await startMockPlatform({
      keys: { publicJwk: platform.publicJwk },
      playhub: { alreadyFinal: 'conflict' },
    });
    const conflictPools = createServicePools(
      { playhub: p.env.SVC_PLAYHUB_URL! },
      { connectTimeoutMs: 1000, requestTimeoutMs: 400 },
    );
    try {
      const conflictSink = createHttpSink({ pools: conflictPools, tokens, responseMaxBytes: 65_536 });
      const bet = p.playhub.createBet({ tEnd: Date.now() - 1000 });
      const body = { betId: bet.betId, tEnd: bet.tEnd };
      const pushed = await conflictSink.call({
        service: 'playhub',
        path: '/internal/v1/cfb/push',
        body: { ...body, reason: 'oracle down' },
        idempotencyKey: idempotencyKey('cfb.push', bet.betId, new Date(bet.tEnd)),
      });
      expect(pushed).toMatchObject({ status: 200, body: { state: 'pushed' } });
      const settle = await conflictSink.call({
        service: 'playhub',
        path: '/internal/v1/cfb/settle',
        body,
        idempotencyKey: idempotencyKey('cfb.settle', bet.betId, new Date(bet.tEnd)),
      });
      expect(settle).toMatchObject({
        status: 409,
        outcome: { kind: 'ack' },
        raw: { error: { code: 'ALREADY_DONE', details: { state: 'pushed' } } },
      });
      expect(p.playhub.bet(bet.betId)?.state).toBe('pushed');
    } finally {
      await conflictPools.close();
      await p.close();
    }
  });

  it('a cancelled bet answers settle with state cancelled; an unknown bet is 404', async () => {
    const bet = dueBet();
    await platform.playhub.cancelBet(bet.betId, 'user cancelled');
    const settle = await call('playhub', '/internal/v1/cfb/settle', { body: bet.body, key: bet.key });
    expect(settle).toMatchObject({ status: 200, body: { state: 'cancelled' } });
    expect(platform.emitted.at(-1)).toMatchObject({
      type: 'bet.cancelled',
      key: bet.betId,
      source: 'playhub',
    });
  });

  it('the degraded oracle answers 202 for the same seeded share of bets, until the job pushes', async () => {
    const p = await startMockPlatform({
      seed: 3,
      degradedShare: 0.5,
      keys: { publicJwk: platform.publicJwk },
    });
    const degradedPools = createServicePools(
      { playhub: p.env.SVC_PLAYHUB_URL! },
      { connectTimeoutMs: 1000, requestTimeoutMs: 400 },
    );
    try {
      const degradedSink = createHttpSink({ pools: degradedPools, tokens, responseMaxBytes: 65_536 });
      const kinds: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        const bet = p.playhub.createBet({ betId: `bet-d${i}`, tEnd: Date.now() - 1000 });
        const result = await degradedSink.call({
          service: 'playhub',
          path: '/internal/v1/cfb/settle',
          body: { betId: bet.betId, tEnd: bet.tEnd },
          idempotencyKey: idempotencyKey('cfb.settle', bet.betId, new Date(bet.tEnd)),
        });
        kinds.push(result.outcome.kind);
        if (result.status === 202) expect(result.raw).toMatchObject({ reason: 'oracle degraded' });
      }
      const deferred = kinds.filter((k) => k === 'defer').length;
      expect(deferred).toBeGreaterThan(3);
      expect(deferred).toBeLessThan(17);
      expect(p.playhub.domainStats()).toMatchObject({
        degradedAnswers: deferred,
        settled: 20 - deferred,
        open: deferred,
      });
    } finally {
      await degradedPools.close();
      await p.close();
    }
  });

  it('lists due bets created without an event, page by page, for the sweeper', async () => {
    const p = await startMockPlatform({ keys: { publicJwk: platform.publicJwk } });
    try {
      const now = Date.now();
      for (let i = 0; i < 5; i += 1)
        p.playhub.createBet({ betId: `bet-s${i}`, tEnd: now - 10_000 + i * 1000 });
      p.playhub.createBet({ betId: 'bet-future', tEnd: now + 60_000 });
      expect(p.emitted).toHaveLength(0);
      const before = new Date(now).toISOString();
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `before=${before}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
        const res = await fetch(`${p.playhub.url}/internal/v1/cfb/bets/due?${query}`, {
          headers: { authorization: `Bearer ${await tokens.tokenFor('playhub')}` },
        });
        const page = (await res.json()) as {
          items: { betId: string; tEnd: string; windowEndsAt: string }[];
          nextCursor: string | null;
        };
        expect(res.status).toBe(200);
        seen.push(...page.items.map((b) => b.betId));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(['bet-s0', 'bet-s1', 'bet-s2', 'bet-s3', 'bet-s4']);
    } finally {
      await p.close();
    }
  });

  it('openBet emits a bet.opened that the registry accepts', async () => {
    const registry = createEventRegistry();
    registerPlayhubEvents(registry);
    const bet = await platform.playhub.openBet({ tEnd: Date.now() + 5000, stake: '250' });
    const event = platform.emitted.at(-1)!;
    expect(event).toMatchObject({
      type: 'bet.opened',
      key: bet.betId,
      data: { betId: bet.betId, stake: '250' },
    });
    expect(() => registry.validate(event)).not.toThrow();
  });
});

describe('other services', () => {
  it('Funding: a partial release carries the rest to the next epoch; an empty one is 204', async () => {
    const start = Date.now() - 10_000;
    await platform.funding.scheduleVesting({
      vestingId: 'vest-1',
      epochs: [
        { releaseAt: start, amount: '100', releasable: '60' },
        { releaseAt: start + 1000, amount: '100', releasable: '0' },
      ],
    });
    const release = (epoch: number) =>
      sink.call({
        service: 'funding',
        path: '/internal/v1/vesting/release',
        body: { vestingId: 'vest-1', epoch, releaseAt: new Date(start + epoch * 1000).toISOString() },
        idempotencyKey: idempotencyKey('vesting.release', 'vest-1', epoch),
      });
    const first = await release(0);
    expect(first).toMatchObject({
      status: 200,
      outcome: { kind: 'ack' },
      body: { releasedAmount: '60', remainingAmount: '40', next: { epoch: 1 } },
    });
    const second = await release(1);
    expect(second).toMatchObject({ status: 204, outcome: { kind: 'ack' } });
    // everything of epoch 1 (100 + 40 carried) moved on to a new epoch 2
    expect(platform.funding.vesting('vest-1')?.epochs[2]?.carried).toBe(140n);
    expect(platform.funding.released('vest-1')).toBe(60n);
  });

  it('Payhub: a repeated grant key replays the txId; Campaigns records the receipt', async () => {
    platform.campaigns.createCampaign({ campaignId: 'camp-1', budget: '1000' });
    const claim = await platform.campaigns.requestClaim({
      claimId: 'claim-1',
      campaignId: 'camp-1',
      amount: '300',
    });
    const verify = await call('campaigns', '/internal/v1/campaigns/claims/verify', {
      body: { claimId: claim.claimId },
      key: idempotencyKey('campaigns.claim.verify', claim.claimId),
    });
    expect(verify).toMatchObject({ status: 200, body: { decision: 'grant', amount: '300' } });
    const grantBody = {
      grantId: claim.claimId,
      userId: claim.userId,
      amount: '300',
      asset: claim.asset,
      campaignId: 'camp-1',
    };
    const grantKey = idempotencyKey('campaigns.claim', claim.claimId);
    const grant = await call('payhub', '/internal/v1/rewards/grant', { body: grantBody, key: grantKey });
    const replay = await call('payhub', '/internal/v1/rewards/grant', { body: grantBody, key: grantKey });
    expect(replay.body).toEqual(grant.body);
    const { txId } = grant.body as { txId: string };
    const receipt = await call('campaigns', '/internal/v1/campaigns/claims/receipt', {
      body: { claimId: claim.claimId, grantId: claim.claimId, txId, amount: '300', asset: claim.asset },
      key: idempotencyKey('campaigns.claim.receipt', claim.claimId),
    });
    expect(receipt).toMatchObject({ status: 200, body: { status: 'granted' } });
    const reconcile = await call('campaigns', '/internal/v1/campaigns/budgets/reconcile', {
      body: { asOf: new Date().toISOString() },
      key: 'campaigns.budget.reconcile:test',
    });
    expect(reconcile).toMatchObject({ status: 200, body: { mismatches: [] } });
    expect(platform.payhub.balance(`user:${claim.userId}`, claim.asset)).toBe(300n);
  });

  it('Escrow expires at expiresAt (202 before it), Price ingests with duplicates, Events flushes or 204', async () => {
    const escrow = await platform.escrow.createEscrow({ escrowId: 'esc-1', expiresAt: Date.now() + 60_000 });
    const body = { escrowId: escrow.escrowId, expiresAt: escrow.expiresAt };
    const key = idempotencyKey('escrow.expire', escrow.escrowId, new Date(escrow.expiresAt));
    expect(await call('escrow', '/internal/v1/escrow/expire', { body, key })).toMatchObject({
      status: 202,
      body: { retryAt: escrow.expiresAt },
    });
    const ticks = [{ symbol: 'BTC/USDT', price: '64000.5', at: new Date().toISOString(), tradeId: 't1' }];
    const ingest = (k: string) =>
      call('price', '/internal/v1/price/ticks', { body: { provider: 'mockx', ticks }, key: k });
    expect((await ingest('price.ingest.ticks:a')).body).toEqual({ accepted: 1, duplicates: 0 });
    expect((await ingest('price.ingest.ticks:b')).body).toEqual({ accepted: 0, duplicates: 1 });
    const quotes = await call('price', '/internal/v1/price/quotes?symbols=BTC/USDT,ETH/USDT,NOPE');
    expect(quotes.body).toMatchObject({
      quotes: [{ symbol: 'BTC/USDT', price: '64000.5' }, { symbol: 'ETH/USDT' }],
    });

    const flush = (until: number) =>
      call('events', '/internal/v1/pageviews/flush', {
        body: { until: new Date(until).toISOString() },
        key: `pageviews.flush:${until}`,
      });
    platform.events.addPageViews(5, Date.now() - 120_000);
    expect(await flush(Date.now())).toMatchObject({ status: 200, body: { flushedBuckets: 1 } });
    expect((await flush(Date.now() + 1)).status).toBe(204);
  });

  it('the feed server serves RSS, Atom and JSON feeds with ETags, and price ticks, without a JWT', async () => {
    const address = platform.feeds.url.replace('localhost', '127.0.0.1');
    platform.feeds.addFeedItem('crypto', { title: 'BTC & ETH <rally>' });
    const parser = new XMLParser({ ignoreAttributes: false });
    const rss = await fetch(`${address}/feeds/crypto.rss`);
    const rssDoc = parser.parse(await rss.text()) as { rss: { channel: { item: { title: string }[] } } };
    expect(rssDoc.rss.channel.item[0]?.title).toBe('BTC & ETH <rally>');
    expect(rssDoc.rss.channel.item).toHaveLength(6);
    const atom = parser.parse(await (await fetch(`${address}/feeds/crypto.atom`)).text()) as {
      feed: { entry: unknown[] };
    };
    expect(atom.feed.entry).toHaveLength(6);
    const json = (await (await fetch(`${address}/feeds/crypto.json`)).json()) as { items: { id: string }[] };
    expect(json.items[0]?.id).toBe('crypto-6');
    const etag = rss.headers.get('etag')!;
    expect((await fetch(`${address}/feeds/crypto.rss`, { headers: { 'if-none-match': etag } })).status).toBe(
      304,
    );
    const ticker = (await (await fetch(`${address}/prices/ticker?symbols=BTC/USDT`)).json()) as {
      ticks: { symbol: string; price: string; at: string; tradeId: string }[];
    };
    expect(ticker.ticks).toHaveLength(1);
    expect(ticker.ticks[0]?.symbol).toBe('BTC/USDT');
    expect(ticker.ticks[0]?.price).toMatch(/^\d+\.\d+$/);
    const quotesUrl = platform.feeds
      .providerUrl('quotes')
      .replace('localhost', '127.0.0.1')
      .replace('{symbols}', 'BTC/USDT,TON/USDT');
    const quotes = (await (await fetch(quotesUrl)).json()) as { quotes: { symbol: string; at: number }[] };
    expect(quotes.quotes.map((q) => q.symbol)).toEqual(['BTC/USDT', 'TON/USDT']);
    expect((quotes.quotes[0]?.at ?? 1) % 60_000).toBe(0);
  });

  it('reports per-service stats with domain counters, and no key applied twice', () => {
    const stats = platform.stats();
    expect(stats.services.playhub.requests).toBeGreaterThan(10);
    expect(stats.services.playhub.domain).toHaveProperty('settled');
    expect(stats.totals.replays).toBeGreaterThan(0);
    expect(stats.totals.contractViolations).toBe(0);
    expect(stats.totals.appliedTwice).toBe(0);
  });
});
