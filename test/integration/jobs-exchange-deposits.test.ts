// Deposit monitoring of the exchange pack in a worker against the mock exchange: confirmations per chain (the seed's
// list, overridable), CONFIRMED at the chain's requirement with deposit.confirmed; crediting once with its events and
// CREDITED last; a refusal marked FAILED with its reason and a transient failure retried; the manual retry; the
// blockchain monitor re-initialised and the backup scan; stuck deposits and the 5-minute stats.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPublisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { DEPOSIT_CONFIRM_JOB } from '../../src/jobs/exchange/deposit-confirmations.js';
import { DEPOSIT_CREDIT_JOB } from '../../src/jobs/exchange/deposit-crediting.js';
import {
  DEPOSIT_RETRY_JOB,
  depositRetryEvent,
  requestDepositRetry,
} from '../../src/jobs/exchange/deposit-retry.js';
import { DEPOSIT_SCAN_JOB, MONITOR_DOWN_ALERT } from '../../src/jobs/exchange/deposit-scan.js';
import { DEPOSIT_STATS_JOB } from '../../src/jobs/exchange/deposit-stats.js';
import {
  DEPOSIT_REPORT_NAMESPACE,
  DEPOSIT_STUCK_ALERT,
  DEPOSIT_STUCK_JOB,
  type StuckReport,
} from '../../src/jobs/exchange/deposit-stuck.js';
import { registerExchangeEvents } from '../../src/jobs/exchange/events.js';
import { createExchangePack } from '../../src/jobs/exchange/pack.js';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { NEVER, PARTITIONS, startPackWorker, type PackWorker } from '../support/job-pack-worker.js';
import {
  exchangeEnv,
  exchangeEvents,
  startMockExchange,
  type DepositSpec,
  type MockExchange,
} from '../support/mock-exchange.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';

const db = useRedisPerFile({ appendonly: true });
const prefix = testPrefix(import.meta.url);
let exchange: MockExchange;
let running: PackWorker | undefined;
let run = 0;

const T0 = Date.parse('2026-11-20T12:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const CREDIT = 'POST /internal/v1/balances/credit';
const NEVER_DEPOSITS = {
  CRON_EXCHANGE_DEPOSITS_CONFIRM: NEVER,
  CRON_EXCHANGE_DEPOSITS_CREDIT: NEVER,
  CRON_EXCHANGE_DEPOSITS_SCAN: NEVER,
  CRON_EXCHANGE_DEPOSITS_STUCK: NEVER,
  CRON_EXCHANGE_DEPOSITS_STATS: NEVER,
};

beforeEach(async () => {
  exchange = await startMockExchange();
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await exchange.close();
});

async function start(extra: Record<string, string> = {}): Promise<PackWorker> {
  run += 1;
  const env = {
    ...exchangeEnv(exchange),
    ENABLE_EXCHANGE_DEPOSITS: 'true',
    ...NEVER_DEPOSITS,
    ...extra,
  };
  running = await startPackWorker({
    redis: db.redis,
    redisUrl: db.server.url,
    prefix: `${prefix}-${run}`,
    pack: createExchangePack(env),
    env,
  });
  return running;
}

async function runTick(w: PackWorker, job: string, tickMs: number): Promise<void> {
  const id = await w.tick(job, job, tickMs);
  await w.waitOutcome((o) => o.eventId === id && o.kind !== 'retry', `${job} at ${iso(tickMs)}`);
}

function deposit(
  depositId: string,
  chain: string,
  blockNumber: number | null,
  extra: Partial<DepositSpec> = {},
) {
  return exchange.addDeposit({
    depositId,
    userId: `user-${depositId}`,
    chain,
    asset: chain === 'bitcoin' ? 'BTC' : 'USDT',
    amount: 150_000_000n,
    txHash: `0x${depositId}`,
    blockNumber,
    createdAt: iso(T0 - HOUR),
    ...extra,
  });
}

describe('exchange deposit monitoring', () => {
  it('tracks confirmations per chain and confirms at each chain’s requirement', async () => {
    exchange.setHeight('ethereum', 1_000);
    exchange.setHeight('bitcoin', 500);
    exchange.setHeight('polygon', 2_000);
    deposit('eth-ready', 'ethereum', 989); // 12 of 12
    deposit('eth-young', 'ethereum', 995); // 6 of 12
    deposit('btc-ready', 'bitcoin', 495); // 6 of 6
    deposit('pol-ready', 'polygon', 1_900); // 101 of 100 (overridden from the seed's 128)
    deposit('pol-young', 'polygon', 1_951); // 50 of 100
    deposit('unmined', 'ethereum', null);
    deposit('tron', 'tron', 10); // no height known for the chain
    const w = await start({ EXCHANGE_DEPOSIT_REQUIRED_CONFIRMATIONS: '{"polygon":100}' });
    expect(w.worker.jobs).toContain(DEPOSIT_CONFIRM_JOB);

    await runTick(w, DEPOSIT_CONFIRM_JOB, T0);
    const state = (id: string) => {
      const d = exchange.deposit(id);
      return [d?.status, d?.confirmations];
    };
    expect(state('eth-ready')).toEqual(['CONFIRMED', 12]);
    expect(state('eth-young')).toEqual(['CONFIRMING', 6]);
    expect(state('btc-ready')).toEqual(['CONFIRMED', 6]);
    expect(state('pol-ready')).toEqual(['CONFIRMED', 101]);
    expect(state('pol-young')).toEqual(['CONFIRMING', 50]);
    expect(state('unmined')).toEqual(['PENDING', 0]);
    expect(state('tron')).toEqual(['PENDING', 0]);
    const confirmed = await exchangeEvents(db.redis, w.keys, 'deposit.confirmed');
    expect(confirmed.map((e) => e.key).sort()).toEqual(['btc-ready', 'eth-ready', 'pol-ready']);
    expect(confirmed.find((e) => e.key === 'btc-ready')?.data).toMatchObject({
      confirmations: 6,
      requiredConfirmations: 6,
      amount: '150000000',
    });

    // six more blocks: the young ethereum deposit is confirmed, the count of the other is updated
    exchange.setHeight('ethereum', 1_006);
    exchange.setHeight('polygon', 2_010);
    await runTick(w, DEPOSIT_CONFIRM_JOB, T0 + 30_000);
    expect(state('eth-young')).toEqual(['CONFIRMED', 12]);
    expect(state('pol-young')).toEqual(['CONFIRMING', 60]);
    expect(await exchangeEvents(db.redis, w.keys, 'deposit.confirmed')).toHaveLength(4);
    expect(exchange.appliedTwice()).toBe(0);
  });

  it('credits confirmed deposits once, marks refusals FAILED with the reason, retries transient failures', async () => {
    const ok = deposit('ok', 'ethereum', 1, { status: 'CONFIRMED', confirmations: 12 });
    deposit('gas', 'ethereum', 1, { status: 'CONFIRMED', confirmations: 12 });
    deposit('blip', 'bitcoin', 1, { status: 'CONFIRMED', confirmations: 6 });
    exchange.refuseCredit('gas', 'Insufficient gas');
    const w = await start({ EXCHANGE_DEPOSIT_CONCURRENCY: '1' });
    // the first credit call fails transiently (oldest first, then by id: "blip")
    exchange.fault(CREDIT, { status: 503, code: 'UNAVAILABLE' });
    await runTick(w, DEPOSIT_CREDIT_JOB, T0);
    expect(exchange.deposit('gas')).toMatchObject({ status: 'FAILED', failureReason: 'Insufficient gas' });
    const credited = () => ['ok', 'blip'].filter((id) => exchange.deposit(id)?.status === 'CREDITED');
    expect(credited()).toHaveLength(1);
    await runTick(w, DEPOSIT_CREDIT_JOB, T0 + 10_000);
    expect(credited()).toEqual(['ok', 'blip']);
    expect(exchange.balance(ok.userId, 'USDT').available).toBe(150_000_000n);
    expect(exchange.balance('user-blip', 'BTC').available).toBe(150_000_000n);
    expect(exchange.credits.get('ok')).toBe(1);
    expect(exchange.credits.get('gas')).toBeUndefined();
    expect(exchange.duplicateCredits).toBe(0);

    const types = async (type: string) =>
      (await exchangeEvents(db.redis, w.keys, type)).map((e) => e.key).sort();
    expect(await types('deposit.credited')).toEqual(['blip', 'ok']);
    expect(await types('balance.credited')).toEqual(['user-blip', 'user-ok']);
    expect(await types('deposit.failed')).toEqual(['gas']);
    // republished by every credit run, written once
    expect(await types('deposit.confirmed')).toEqual(['blip', 'gas', 'ok']);
    expect((await exchangeEvents(db.redis, w.keys, 'deposit.failed'))[0]?.data).toMatchObject({
      reason: 'Insufficient gas',
      creditAttempt: 0,
    });

    // the manual retry once the cause is fixed: a new credit attempt, credited by the next run
    exchange.clearCreditRefusal('gas');
    const registry = createEventRegistry();
    registerExchangeEvents(registry);
    const publisher = createPublisher({
      redis: db.redis,
      keys: w.keys,
      registry,
      partitions: () => PARTITIONS,
    });
    const request = await requestDepositRetry(publisher, {
      depositId: 'gas',
      requestedBy: 'ops-alice',
      reason: 'gas topped up',
      source: 'workers-cli',
    });
    await w.waitOutcome((o) => o.eventId === request.eventId && o.kind === 'ack', 'the retry request');
    expect(exchange.deposit('gas')).toMatchObject({ status: 'CONFIRMED', creditAttempt: 1 });
    await runTick(w, DEPOSIT_CREDIT_JOB, T0 + 20_000);
    expect(exchange.deposit('gas')?.status).toBe('CREDITED');
    expect(exchange.applied(idempotencyKey('exchange.deposits.credit', 'gas', 1))).toBe(1);
    expect(exchange.credits.get('gas')).toBe(1);

    // a retry of a deposit that is not FAILED changes nothing
    const again = depositRetryEvent({ depositId: 'ok', requestedBy: 'ops-bob', source: 'workers-cli' });
    await w.publish(again);
    await w.waitOutcome((o) => o.eventId === again.id, 'the second retry request');
    expect(w.outcomesOf(DEPOSIT_RETRY_JOB).map((o) => o.kind)).toEqual(['ack', 'ack']);
    expect(exchange.deposit('ok')).toMatchObject({ status: 'CREDITED', creditAttempt: 0 });
    expect(exchange.appliedTwice()).toBe(0);
  });

  it('re-initialises a monitor that is down and runs the backup scan, which finds missed deposits', async () => {
    exchange.setHeight('ethereum', 1_000);
    exchange.setMonitorActive(false);
    exchange.hideDeposit({
      depositId: 'missed',
      userId: 'u-missed',
      chain: 'ethereum',
      asset: 'USDT',
      amount: 5n,
      txHash: '0xmissed',
      blockNumber: 990,
      createdAt: iso(T0),
    });
    const w = await start();
    await runTick(w, DEPOSIT_SCAN_JOB, T0);
    expect(exchange.monitorReinitializations).toBe(1);
    expect(w.alerts).toEqual([MONITOR_DOWN_ALERT]);
    expect(exchange.scans).toEqual([iso(T0)]);
    expect(exchange.deposit('missed')?.status).toBe('PENDING');
    // the monitor is up now: the next run only scans
    await runTick(w, DEPOSIT_SCAN_JOB, T0 + 60_000);
    expect(exchange.monitorReinitializations).toBe(1);
    expect(exchange.scans).toHaveLength(2);
    // and the found deposit is tracked like any other
    await runTick(w, DEPOSIT_CONFIRM_JOB, T0 + 90_000);
    expect(exchange.deposit('missed')).toMatchObject({ status: 'CONFIRMING', confirmations: 11 });
  });

  it('reports deposits stuck for more than 24 h and caches the 5-minute stats', async () => {
    deposit('old-confirming', 'ethereum', 1, {
      status: 'CONFIRMING',
      confirmations: 8,
      createdAt: iso(T0 - 36 * HOUR),
    });
    deposit('old-credited', 'ethereum', 1, { status: 'CREDITED', createdAt: iso(T0 - 48 * HOUR) });
    deposit('fresh', 'ethereum', 1, { status: 'CONFIRMED', createdAt: iso(T0 - 10 * 60_000) });
    deposit('failed', 'ethereum', 1, { status: 'FAILED' });
    const w = await start();
    await runTick(w, DEPOSIT_STUCK_JOB, T0);
    expect(w.alerts).toEqual([DEPOSIT_STUCK_ALERT]);
    const report = await db.redis.get(w.keys.cache(DEPOSIT_REPORT_NAMESPACE, 'stuck'));
    expect(JSON.parse(report ?? 'null') as StuckReport).toEqual({
      checkedAt: iso(T0),
      count: 1,
      deposits: [
        {
          depositId: 'old-confirming',
          txHash: '0xold-confirming',
          status: 'CONFIRMING',
          confirmations: 8,
          ageHours: 36,
        },
      ],
    });

    await runTick(w, DEPOSIT_STATS_JOB, T0);
    const stats: unknown = JSON.parse(
      (await db.redis.get(w.keys.cache(DEPOSIT_REPORT_NAMESPACE, 'stats'))) ?? 'null',
    );
    expect(stats).toMatchObject({
      counts: { CONFIRMING: 1, CREDITED: 1, CONFIRMED: 1, FAILED: 1 },
      oldestConfirmedAt: iso(T0 - 10 * 60_000),
      checkedAt: iso(T0),
    });
  });
});
