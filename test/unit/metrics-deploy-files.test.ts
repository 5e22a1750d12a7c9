// The example alert rules and the Grafana dashboard use only metrics the worker exports, and every metric name
// follows the Prometheus conventions (prefix, _total on counters, base units in the name).
import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../src/ops/metrics/metrics-registry.js';
import { createWorkerMetrics } from '../../src/ops/metrics/worker-metrics.js';
import { createKeyBuilder } from '../../src/streams/keys.js';

// never connected: the metrics are only registered here, not scraped
const redis = new Redis({ lazyConnect: true });
afterAll(() => redis.disconnect());

const metrics = createWorkerMetrics({
  redis,
  keys: createKeyBuilder(),
  streams: [],
  registry: createMetricsRegistry({ processMetrics: false }),
});
const exported = metrics.registry.getMetricsAsArray();

/** Names a PromQL expression may use: each metric, plus the series names of histograms. */
function queryableNames(): Set<string> {
  const names = new Set<string>();
  for (const metric of exported) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

async function referencedNames(path: string): Promise<string[]> {
  const text = await readFile(new URL(`../../${path}`, import.meta.url), 'utf8');
  return [...new Set(text.match(/\bfuze_[a-z_]+\b/g) ?? [])].sort();
}

describe('deploy files', () => {
  it.each(['deploy/prometheus/alerts.yml', 'deploy/grafana/fuze-workers.json'])(
    '%s uses only exported metrics',
    async (path) => {
      const names = await referencedNames(path);
      expect(names.length).toBeGreaterThan(10);
      const known = queryableNames();
      expect(names.filter((name) => !known.has(name))).toEqual([]);
    },
  );

  it('the dashboard is valid JSON with a target per panel', async () => {
    const text = await readFile(new URL('../../deploy/grafana/fuze-workers.json', import.meta.url), 'utf8');
    const dashboard = JSON.parse(text) as { uid: string; panels: { type: string; targets?: unknown[] }[] };
    expect(dashboard.uid).toBe('fuze-workers');
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length).toBeGreaterThan(0);
    }
  });
});

describe('metric names', () => {
  it('are prefixed, counters end in _total, durations are in seconds, and label names are bounded words', () => {
    for (const metric of exported) {
      const { name, type, labelNames } = metric as unknown as {
        name: string;
        type: string;
        labelNames: string[];
      };
      expect(name).toMatch(/^fuze_[a-z_]+$/);
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
      if (type !== 'counter' && /duration|latency|lateness|age|lag_seconds|backoff|delay|wait/.test(name))
        expect(name).toMatch(/_seconds$/);
      for (const label of labelNames) {
        expect(
          [
            'job',
            'outcome',
            'result',
            'where',
            'state',
            'to',
            'domain',
            'partition',
            'group',
            'stream',
          ].concat(['target', 'method', 'status', 'limit', 'provider', 'alert']),
        ).toContain(label);
      }
    }
  });
});
