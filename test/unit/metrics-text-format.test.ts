// The Prometheus text parser against prom-client's own output: names, escaped labels, histograms, special values.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { parseMetricsText, samplesOf, sumOf } from '../../src/ops/metrics/text-format.js';

describe('parseMetricsText', () => {
  it('reads back what prom-client writes: counters, gauges with odd label values, histograms, HELP and TYPE', async () => {
    const registry = new Registry();
    const counter = new Counter({
      name: 'c_total',
      help: 'a "counter"\nwith a newline',
      labelNames: ['job'],
      registers: [registry],
    });
    const gauge = new Gauge({ name: 'g', help: 'gauge', labelNames: ['path'], registers: [registry] });
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'h',
      buckets: [0.1, 1],
      registers: [registry],
    });
    counter.inc({ job: 'cfb.settle' }, 3);
    counter.inc({ job: 'escrow.expire' });
    gauge.set({ path: 'a "quoted" \\ back\nslash' }, -2.5);
    histogram.observe(0.05);
    histogram.observe(0.5);
    histogram.observe(7);

    const parsed = parseMetricsText(await registry.metrics());

    expect(samplesOf(parsed, 'c_total', { job: 'cfb.settle' })).toEqual([
      { name: 'c_total', labels: { job: 'cfb.settle' }, value: 3 },
    ]);
    expect(sumOf(parsed, 'c_total')).toBe(4);
    expect(samplesOf(parsed, 'g')[0]?.labels['path']).toBe('a "quoted" \\ back\nslash');
    expect(samplesOf(parsed, 'g')[0]?.value).toBe(-2.5);
    expect(sumOf(parsed, 'h_seconds_bucket', { le: '0.1' })).toBe(1);
    expect(sumOf(parsed, 'h_seconds_bucket', { le: '1' })).toBe(2);
    expect(sumOf(parsed, 'h_seconds_bucket', { le: '+Inf' })).toBe(3);
    expect(sumOf(parsed, 'h_seconds_count')).toBe(3);
    expect(sumOf(parsed, 'h_seconds_sum')).toBeCloseTo(7.55);
    expect(parsed.families.get('c_total')).toEqual({
      name: 'c_total',
      type: 'counter',
      help: 'a "counter"\nwith a newline',
    });
    expect(parsed.families.get('h_seconds')?.type).toBe('histogram');
  });

  it('reads NaN, +Inf, -Inf, timestamps and ignores plain comments', () => {
    const parsed = parseMetricsText(
      ['# just a comment', 'a NaN', 'b{x="1",} +Inf 1700000000000', 'c -Inf', 'd 1e3'].join('\n'),
    );
    expect(parsed.samples.map((s) => [s.name, s.value])).toEqual([
      ['a', Number.NaN],
      ['b', Number.POSITIVE_INFINITY],
      ['c', Number.NEGATIVE_INFINITY],
      ['d', 1000],
    ]);
    expect(parsed.samples[1]?.labels).toEqual({ x: '1' });
  });

  it.each([
    ['a value that is not a number', 'metric abc'],
    ['an unterminated label value', 'metric{a="x} 1'],
    ['a label without quotes', 'metric{a=x} 1'],
    ['a missing value', 'metric{a="x"}'],
    ['no metric name', '{a="x"} 1'],
  ])('rejects %s with a ValidationError naming the line', (_, line) => {
    expect(() => parseMetricsText(`ok 1\n${line}`)).toThrow(ValidationError);
    expect(() => parseMetricsText(`ok 1\n${line}`)).toThrow(/line 2/);
  });
});
