// The dashboard's Burrow-style status rules (OK / WARN / STALL from a lag history), the lag history's sampling and
// retention, and the histogram quantiles of the job page.
import { describe, expect, it } from 'vitest';
import type { GroupStats } from '../../src/ops/control/group-stats.js';
import { thin } from '../../src/ops/admin/api-jobs-routes.js';
import { latency } from '../../src/ops/admin/job-metrics-summary.js';
import { evaluateJobStatus, type LagSample } from '../../src/ops/admin/job-status.js';
import { createLagHistory } from '../../src/ops/admin/lag-history.js';

/** Samples every 10 s from t=0 with these lags; the position moves unless `stuck`, consumers default 1. */
function series(lags: readonly number[], options: { stuck?: boolean; consumers?: number } = {}): LagSample[] {
  return lags.map((lag, i) => ({
    at: i * 10_000,
    lag,
    pending: 0,
    timeLagMs: lag * 100,
    consumers: options.consumers ?? 1,
    position: options.stuck ? '0:1-0' : `0:${i + 1}-0`,
  }));
}

describe('evaluateJobStatus', () => {
  it('is OK with no samples, with lag 0 anywhere in the window, or with too little history', () => {
    expect(evaluateJobStatus([], 'running')).toEqual({ status: 'OK', reason: 'no figures yet' });
    expect(evaluateJobStatus(series([5, 9, 0, 14, 20]), 'running').status).toBe('OK');
    // stuck and growing, but only two samples 10 s apart
    expect(evaluateJobStatus(series([5, 9], { stuck: true }), 'running')).toEqual({
      status: 'OK',
      reason: 'not enough history yet',
    });
  });

  it('says STALL when consumers are present but the position does not move while lag > 0', () => {
    const verdict = evaluateJobStatus(series([7, 7, 8, 9], { stuck: true }), 'running');
    expect(verdict.status).toBe('STALL');
    expect(verdict.reason).toMatch(/no progress for 30 s while lag is 9/);
  });

  it('says STALL when no consumer reads while lag > 0', () => {
    expect(evaluateJobStatus(series([3, 3, 3], { consumers: 0 }), 'running')).toMatchObject({
      status: 'STALL',
      reason: 'no consumers while lag is 3',
    });
  });

  it('says WARN when the lag never shrinks and grows over the window while consumers read', () => {
    expect(evaluateJobStatus(series([10, 12, 12, 15]), 'running')).toMatchObject({
      status: 'WARN',
      reason: 'lag growing over the window (10 -> 15)',
    });
  });

  it('is OK when the lag shrinks or holds while consumers read', () => {
    expect(evaluateJobStatus(series([20, 15, 18, 9]), 'running')).toEqual({
      status: 'OK',
      reason: 'lag shrinking',
    });
    expect(evaluateJobStatus(series([10, 10, 10]), 'running')).toEqual({
      status: 'OK',
      reason: 'consumers keeping up',
    });
  });

  it('only looks at the window: an old zero or an old stall no longer counts', () => {
    const samples = series([0, 4, 4, 4, 4, 4, 4, 4, 4, 4], { stuck: true });
    // the 0 at t=0 is 90 s before the newest sample, outside a 60 s window
    expect(evaluateJobStatus(samples, 'running').status).toBe('STALL');
    expect(
      evaluateJobStatus(samples, 'running', { windowMs: 120_000, minSamples: 3, minSpanMs: 20_000 }).status,
    ).toBe('OK');
  });

  it('does not call a paused or draining job stalled: growing lag is a WARN, otherwise OK', () => {
    expect(evaluateJobStatus(series([3, 5, 8], { stuck: true }), 'paused')).toMatchObject({
      status: 'WARN',
      reason: 'paused: lag growing (3 -> 8)',
    });
    expect(evaluateJobStatus(series([3, 3, 3], { stuck: true }), 'draining')).toEqual({
      status: 'OK',
      reason: 'draining',
    });
  });
});

describe('createLagHistory', () => {
  const group = (lag: number, lastDeliveredId: string): GroupStats => ({
    domain: 'escrow',
    group: 'escrow.expire',
    state: 'running',
    partitionsWithGroup: 1,
    partitions: 1,
    length: lag,
    lag,
    pending: 1,
    oldestPendingAgeMs: 0,
    timeLagMs: 50,
    retryHintsDue: 0,
    retryHintsTotal: 0,
    dlqLength: 0,
    consumers: 2,
    byPartition: [
      {
        domain: 'escrow',
        partition: 0,
        stream: 's',
        group: 'escrow.expire',
        exists: true,
        length: lag,
        lag,
        pending: 1,
        oldestPendingAgeMs: 0,
        timeLagMs: 50,
        retryHintsDue: 0,
        retryHintsTotal: 0,
        dlqLength: 0,
        consumers: 2,
        lastDeliveredId,
      },
    ],
  });

  it('keeps one sample per job per interval, drops old ones and forgets deleted groups', () => {
    const history = createLagHistory({ sampleEveryMs: 1000, historyMs: 5000 });
    history.record([group(1, '1-0')], 0);
    history.record([group(2, '2-0')], 500); // too soon: skipped
    history.record([group(3, '3-0')], 1000);
    expect(history.samples('escrow', 'escrow.expire')).toEqual([
      { at: 0, lag: 1, pending: 1, timeLagMs: 50, consumers: 2, position: '0:1-0' },
      { at: 1000, lag: 3, pending: 1, timeLagMs: 50, consumers: 2, position: '0:3-0' },
    ]);
    history.record([group(4, '4-0')], 6000);
    expect(history.samples('escrow', 'escrow.expire').map((s) => s.at)).toEqual([1000, 6000]);
    history.record([], 7000);
    expect(history.samples('escrow', 'escrow.expire')).toEqual([]);
  });
});

describe('latency summary from histogram buckets', () => {
  it('interpolates quantiles inside buckets like histogram_quantile and merges label sets', () => {
    const bucket = (le: string, value: number, result = 'ack') => ({
      metricName: 'x_bucket',
      labels: { job: 'j', result, le },
      value,
    });
    const values = [
      bucket('0.1', 50),
      bucket('1', 90),
      bucket('+Inf', 100),
      { metricName: 'x_count', labels: { job: 'j', result: 'ack' }, value: 100 },
      { metricName: 'x_sum', labels: { job: 'j', result: 'ack' }, value: 20 },
      bucket('0.1', 0, 'dead'),
      bucket('1', 0, 'dead'),
      bucket('+Inf', 0, 'dead'),
      { metricName: 'x_count', labels: { job: 'other' }, value: 5 },
    ];
    expect(latency(values, 'j')).toEqual({ count: 100, meanMs: 200, p50Ms: 100, p95Ms: 1000, p99Ms: 1000 });
    expect(latency(values, 'nobody')).toBeUndefined();
  });
});

describe('thin (history points sent to the sparklines)', () => {
  it('keeps at most max samples, evenly spread, the first and the newest included', () => {
    const samples = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(thin(samples, 4)).toEqual([1, 4, 7, 10]);
    expect(thin(samples, 10)).toBe(samples);
    expect(thin(samples, 1)).toEqual([10]);
    expect(thin(samples, 0)).toEqual([]);
  });
});
