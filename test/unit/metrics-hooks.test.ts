// Each metrics hook fed by the events its component emits (runner, breaker, mover, rate limiter, retention), the
// sink's observe hook, job signals and the handler wrapper, read back through the Prometheus text.
import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createCircuitBreaker } from '../../src/pipelines/circuit-breaker.js';
import type { RateLimiterEvents } from '../../src/pipelines/distributed-rate-limit.js';
import type { JobContext, JobDefinition } from '../../src/pipelines/job-definition.js';
import type { OutcomeEvent, RunnerEvents } from '../../src/pipelines/job-runner.js';
import type { TimerMoverEvents } from '../../src/scheduler/timer-mover.js';
import { outcome } from '../../src/streams/outcome.js';
import type { RetentionEvents } from '../../src/streams/retention-loop.js';
import { createCircuitMetrics } from '../../src/ops/metrics/circuit-metrics.js';
import { createHandlerMetrics } from '../../src/ops/metrics/handler-metrics.js';
import { createHttpMetrics } from '../../src/ops/metrics/http-metrics.js';
import { createJobSignalsMetrics } from '../../src/ops/metrics/job-signals-metrics.js';
import { createMetricsRegistry, entryTimeMs } from '../../src/ops/metrics/metrics-registry.js';
import { createRateLimitMetrics } from '../../src/ops/metrics/rate-limit-metrics.js';
import { createRetentionMetrics } from '../../src/ops/metrics/retention-metrics.js';
import { createRunnerMetrics } from '../../src/ops/metrics/runner-metrics.js';
import { parseMetricsText, samplesOf, sumOf, type ParsedMetrics } from '../../src/ops/metrics/text-format.js';
import { createTimerMetrics } from '../../src/ops/metrics/timer-metrics.js';
import type { PartitionKeys } from '../../src/streams/keys.js';
import { createKeyBuilder } from '../../src/streams/keys.js';

async function read(registry: Registry): Promise<ParsedMetrics> {
  return parseMetricsText(await registry.metrics());
}

function fakeRunner(job: string, held = 0) {
  return Object.assign(new EventEmitter<RunnerEvents>(), { job, heldCount: () => held });
}

const T0 = 1_700_000_000_000;

function outcomeEvent(kind: OutcomeEvent['kind'], extra: Partial<OutcomeEvent> = {}): OutcomeEvent {
  return {
    job: 'cfb.settle',
    entryId: `${T0}-0`,
    stream: '{tg:playhub:0}:events',
    eventId: '01J0000000000000000000000A',
    kind,
    source: 'new',
    failures: 0,
    ...extra,
  };
}

describe('runner metrics', () => {
  it('counts outcomes per job, observes retry backoff, defer delay and end-to-end latency, and reads held entries', async () => {
    const registry = new Registry();
    const clock = new ManualClock(T0 + 1500);
    const metrics = createRunnerMetrics(registry, clock);
    const runner = fakeRunner('cfb.settle', 3);
    metrics.watch(runner);

    // zero series exist before anything happened, so rate() sees the first retry
    let parsed = await read(registry);
    expect(
      samplesOf(parsed, 'fuze_job_outcomes_total', { job: 'cfb.settle', outcome: 'retry' })[0]?.value,
    ).toBe(0);

    runner.emit('outcome', outcomeEvent('retry', { delayMs: 2000, failures: 1 }));
    runner.emit('outcome', outcomeEvent('retry', { delayMs: 4000, failures: 2 }));
    runner.emit('outcome', outcomeEvent('defer', { delayMs: 3_600_000 }));
    runner.emit('outcome', outcomeEvent('ack'));
    runner.emit('outcome', outcomeEvent('dead', { entryId: `${T0 + 500}-3` }));
    runner.emit('outcome', outcomeEvent('skip'));
    runner.emit('dataLoss', { job: 'cfb.settle', stream: '{tg:playhub:0}:events', ids: ['1-0', '2-0'] });
    runner.emit('ownershipLost', { job: 'cfb.settle', stream: '{tg:playhub:0}:events', ids: ['3-0'] });
    runner.emit('loopError', { job: 'cfb.settle', where: 'read', error: new Error('x') });
    runner.emit('stopped', { job: 'cfb.settle', released: 4 });

    parsed = await read(registry);
    const job = { job: 'cfb.settle' };
    expect(sumOf(parsed, 'fuze_job_outcomes_total', { ...job, outcome: 'retry' })).toBe(2);
    expect(sumOf(parsed, 'fuze_job_outcomes_total', { ...job, outcome: 'ack' })).toBe(1);
    expect(sumOf(parsed, 'fuze_job_outcomes_total', { ...job, outcome: 'skip' })).toBe(1);
    expect(sumOf(parsed, 'fuze_job_retry_backoff_seconds_count', job)).toBe(2);
    expect(sumOf(parsed, 'fuze_job_retry_backoff_seconds_sum', job)).toBe(6);
    expect(sumOf(parsed, 'fuze_job_retry_backoff_seconds_bucket', { ...job, le: '2' })).toBe(1);
    expect(sumOf(parsed, 'fuze_job_defer_delay_seconds_sum', job)).toBe(3600);
    expect(sumOf(parsed, 'fuze_job_end_to_end_seconds_sum', { ...job, outcome: 'ack' })).toBe(1.5);
    expect(sumOf(parsed, 'fuze_job_end_to_end_seconds_sum', { ...job, outcome: 'dead' })).toBe(1);
    expect(sumOf(parsed, 'fuze_job_in_flight', job)).toBe(3);
    expect(sumOf(parsed, 'fuze_data_loss_entries_total', job)).toBe(2);
    expect(sumOf(parsed, 'fuze_job_ownership_lost_entries_total', job)).toBe(1);
    expect(sumOf(parsed, 'fuze_job_loop_errors_total', { ...job, where: 'read' })).toBe(1);
    expect(sumOf(parsed, 'fuze_job_released_entries_total', job)).toBe(4);
  });

  it('stops counting when unwatched and no longer reports the runner as in flight', async () => {
    const registry = new Registry();
    const metrics = createRunnerMetrics(registry);
    const runner = fakeRunner('escrow.expire', 2);
    const stop = metrics.watch(runner);
    stop();
    runner.emit('outcome', outcomeEvent('ack', { job: 'escrow.expire' }));
    const parsed = await read(registry);
    expect(sumOf(parsed, 'fuze_job_outcomes_total', { job: 'escrow.expire', outcome: 'ack' })).toBe(0);
    expect(samplesOf(parsed, 'fuze_job_in_flight')).toEqual([]);
    expect(runner.listenerCount('outcome')).toBe(0);
  });
});

describe('circuit metrics', () => {
  it("shows the breaker's state when watched and follows the runner's circuit events", async () => {
    const registry = new Registry();
    const breaker = createCircuitBreaker({ failures: 1, windowMs: 1000, openMs: 1000 });
    const runner = Object.assign(fakeRunner('price.ingest'), { breaker });
    createCircuitMetrics(registry).watch(runner);
    const state = async (): Promise<Record<string, number>> => {
      const samples = samplesOf(await read(registry), 'fuze_circuit_state', { job: 'price.ingest' });
      return Object.fromEntries(samples.map((s): [string, number] => [s.labels['state'] ?? '', s.value]));
    };
    expect(await state()).toEqual({ closed: 1, open: 0, 'half-open': 0 });

    runner.emit('circuit', { job: 'price.ingest', from: 'closed', to: 'open', at: 1 });
    expect(await state()).toEqual({ closed: 0, open: 1, 'half-open': 0 });
    runner.emit('circuit', { job: 'price.ingest', from: 'open', to: 'half-open', at: 2 });
    expect(await state()).toEqual({ closed: 0, open: 0, 'half-open': 1 });
    const parsed = await read(registry);
    expect(sumOf(parsed, 'fuze_circuit_transitions_total', { job: 'price.ingest', to: 'open' })).toBe(1);
    expect(sumOf(parsed, 'fuze_circuit_transitions_total', { job: 'price.ingest', to: 'closed' })).toBe(0);
    breaker.dispose();
  });

  it('reports nothing for a job without a breaker', async () => {
    const registry = new Registry();
    createCircuitMetrics(registry).watch(Object.assign(fakeRunner('plain'), { breaker: undefined }));
    expect(samplesOf(await read(registry), 'fuze_circuit_state')).toEqual([]);
  });
});

describe('handler metrics', () => {
  const ctx = (entryId: string, failures = 0): JobContext => ({
    signal: new AbortController().signal,
    job: 'cfb.settle',
    entryId,
    attempt: failures + 1,
    failures,
    partition: 0,
  });
  const event = (targetGroup?: string) => ({
    id: '01J0000000000000000000000A',
    type: 'bet.opened',
    key: 'b1',
    occurredAt: new Date(T0).toISOString(),
    source: 'playhub',
    schemaVersion: 1,
    data: {},
    ...(targetGroup === undefined ? {} : { targetGroup }),
  });

  it('times handler calls by what they returned or threw, and measures lateness of fired timers only', async () => {
    const registry = new Registry();
    const clock = new ManualClock(T0 + 250);
    const results = [outcome.ack(), outcome.retry('busy')];
    const job: JobDefinition = {
      name: 'cfb.settle',
      domain: 'playhub',
      types: ['bet.opened'],
      handler: async () => {
        clock.advance(100);
        const next = results.shift();
        if (next === undefined) throw new Error('boom');
        return next;
      },
    };
    const timed = createHandlerMetrics(registry, clock).instrument(job);
    expect(timed.name).toBe('cfb.settle');

    await timed.handler(event('cfb.settle'), ctx(`${T0}-0`)); // a fired timer, first attempt: 250 ms late
    await timed.handler(event('cfb.settle'), ctx(`${T0}-0`, 1)); // its retry: not lateness
    await expect(timed.handler(event(), ctx(`${T0}-1`))).rejects.toThrow('boom'); // an original event

    const parsed = await read(registry);
    const labels = (result: string) => ({ job: 'cfb.settle', result });
    expect(sumOf(parsed, 'fuze_job_handler_duration_seconds_count', labels('ack'))).toBe(1);
    expect(sumOf(parsed, 'fuze_job_handler_duration_seconds_count', labels('retry'))).toBe(1);
    expect(sumOf(parsed, 'fuze_job_handler_duration_seconds_count', labels('error'))).toBe(1);
    expect(sumOf(parsed, 'fuze_job_handler_duration_seconds_sum', labels('ack'))).toBeCloseTo(0.1);
    expect(sumOf(parsed, 'fuze_timer_lateness_seconds_count', { job: 'cfb.settle' })).toBe(1);
    expect(sumOf(parsed, 'fuze_timer_lateness_seconds_sum', { job: 'cfb.settle' })).toBeCloseTo(0.25);
  });
});

describe('sink, signals, rate limits, timers and retention', () => {
  it('counts HTTP calls per target, method, status and outcome, keeping statuses bounded', async () => {
    const registry = new Registry();
    const http = createHttpMetrics(registry);
    const call = { target: 'playhub POST /x', idempotencyKey: 'k' };
    http.observe({
      ...call,
      service: 'playhub',
      method: 'POST',
      status: 200,
      outcome: 'ack',
      durationMs: 20,
    });
    http.observe({
      ...call,
      service: 'playhub',
      method: 'POST',
      status: 503,
      outcome: 'retry',
      durationMs: 5,
    });
    http.observe({
      ...call,
      service: 'playhub',
      method: 'POST',
      status: undefined,
      outcome: 'retry',
      durationMs: 400,
    });
    http.observe({
      ...call,
      service: 'escrow',
      method: 'POST',
      status: 1234,
      outcome: 'dead',
      durationMs: 1,
    });
    const parsed = await read(registry);
    const statuses = samplesOf(parsed, 'fuze_http_client_requests_total').map((s) => s.labels['status']);
    expect(statuses.sort()).toEqual(['200', '503', 'none', 'other']);
    expect(sumOf(parsed, 'fuze_http_client_request_duration_seconds_count', { target: 'playhub' })).toBe(3);
    expect(sumOf(parsed, 'fuze_http_client_request_duration_seconds_sum', { target: 'playhub' })).toBeCloseTo(
      0.425,
    );
  });

  it('reports provider health and raised alerts as JobSignals', async () => {
    const registry = new Registry();
    const signals = createJobSignalsMetrics(registry);
    signals.providerPolled('coingecko', true, 0.2);
    signals.providerPolled('coingecko', false, 1.5);
    signals.providerPolled('binance', true, 0.1);
    signals.providerPolled('not a label {value}', true, 0.1);
    signals.alertRaised('payhub.ledger.mismatch');
    signals.alertRaised('payhub.ledger.mismatch');
    const parsed = await read(registry);
    expect(sumOf(parsed, 'fuze_provider_up', { provider: 'coingecko' })).toBe(0);
    expect(sumOf(parsed, 'fuze_provider_up', { provider: 'binance' })).toBe(1);
    expect(sumOf(parsed, 'fuze_provider_up', { provider: 'invalid' })).toBe(1);
    expect(sumOf(parsed, 'fuze_provider_polls_total', { provider: 'coingecko', result: 'down' })).toBe(1);
    expect(sumOf(parsed, 'fuze_provider_poll_duration_seconds_count', { provider: 'coingecko' })).toBe(2);
    expect(sumOf(parsed, 'fuze_alerts_raised_total', { alert: 'payhub.ledger.mismatch' })).toBe(2);
  });

  it('observes rate-limit waits per limit, counts aborted ones, and counts a limiter watched twice once', async () => {
    const registry = new Registry();
    const metrics = createRateLimitMetrics(registry);
    const limiter = Object.assign(new EventEmitter<RateLimiterEvents>(), { name: 'coingecko.prices' });
    metrics.watch(limiter);
    metrics.watch(limiter);
    let parsed = await read(registry);
    expect(sumOf(parsed, 'fuze_rate_limit_wait_seconds_count', { limit: 'coingecko.prices' })).toBe(0);
    limiter.emit('wait', { name: 'coingecko.prices', waitedMs: 500, sleeps: 1, granted: 3 });
    limiter.emit('wait', { name: 'coingecko.prices', waitedMs: 100, sleeps: 1, granted: 0 });
    parsed = await read(registry);
    expect(sumOf(parsed, 'fuze_rate_limit_wait_seconds_count', { limit: 'coingecko.prices' })).toBe(2);
    expect(sumOf(parsed, 'fuze_rate_limit_wait_seconds_sum', { limit: 'coingecko.prices' })).toBeCloseTo(0.6);
    expect(sumOf(parsed, 'fuze_rate_limit_waits_aborted_total', { limit: 'coingecko.prices' })).toBe(1);
  });

  it("counts the mover's moved and dead-lettered timers per domain, and retention's trims", async () => {
    const registry = new Registry();
    const keys = createKeyBuilder({ prefix: 'tg' });
    const partition: PartitionKeys = keys.partition('escrow', 1);
    const mover = new EventEmitter<TimerMoverEvents>();
    createTimerMetrics(registry).watch(mover);
    mover.emit('moved', { partition, count: 5, nextDelayMs: 0 });
    mover.emit('deadLettered', { partition, count: 1 });
    mover.emit('error', { partition, error: new Error('x') });

    const retention = new EventEmitter<RetentionEvents>();
    createRetentionMetrics(registry).watch(retention);
    retention.emit('trimmed', {
      domain: 'escrow',
      partition: 1,
      result: {
        trimmed: 7,
        safeId: '1-0',
        length: 3,
        overCap: true,
        pinningGroups: ['x'],
        droppedUnacked: 2,
      },
      dlqTrimmed: 4,
    });
    retention.emit('error', { domain: 'escrow', partition: 1, error: new Error('y') });

    const parsed = await read(registry);
    expect(sumOf(parsed, 'fuze_timers_moved_total', { domain: 'escrow' })).toBe(5);
    expect(sumOf(parsed, 'fuze_timers_dead_lettered_total', { domain: 'escrow' })).toBe(1);
    expect(sumOf(parsed, 'fuze_timer_mover_errors_total')).toBe(1);
    expect(sumOf(parsed, 'fuze_stream_trimmed_entries_total', { domain: 'escrow' })).toBe(7);
    expect(sumOf(parsed, 'fuze_stream_dropped_unacked_entries_total', { domain: 'escrow' })).toBe(2);
    expect(sumOf(parsed, 'fuze_dlq_trimmed_entries_total', { domain: 'escrow' })).toBe(4);
    expect(sumOf(parsed, 'fuze_stream_over_cap', { domain: 'escrow', partition: '1' })).toBe(1);
    expect(sumOf(parsed, 'fuze_retention_errors_total', { domain: 'escrow' })).toBe(1);
  });
});

describe('registry', () => {
  it('adds process metrics unless turned off, and default labels to every series', async () => {
    const withProcess = await read(createMetricsRegistry({ defaultLabels: { service: 'workers' } }));
    expect(samplesOf(withProcess, 'process_cpu_user_seconds_total')[0]?.labels).toEqual({
      service: 'workers',
    });
    const without = await read(createMetricsRegistry({ processMetrics: false }));
    expect(without.samples).toEqual([]);
  });

  it('reads the Redis time of an entry id', () => {
    expect(entryTimeMs('1700000000123-7')).toBe(1_700_000_000_123);
    expect(entryTimeMs('garbage-1')).toBeNaN();
  });
});
