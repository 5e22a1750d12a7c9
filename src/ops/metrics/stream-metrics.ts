// Stream and group gauges computed at scrape time: one readStreamStats call per scrape (one pipelined round trip,
// plus one only when some group has undelivered entries) feeds every gauge: length, lag, pending, oldest pending
// age, time lag, retry hints, consumers and DLQ size per partition. A failed read drops the series and sets `up` 0.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { KeyBuilder } from '../../streams/keys.js';
import type { RedisClient } from '../../streams/scripts.js';
import { readStreamStats } from '../../streams/stream-stats.js';
import type { StreamStats, StreamStatsTarget } from '../../streams/stream-stats.js';
import { METRICS_PREFIX } from './metrics-registry.js';

export interface StreamMetricsOptions {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  /** Domains (partition count, groups to report) read at every scrape; a domain needs a group to be reported. */
  readonly targets: readonly StreamStatsTarget[] | (() => readonly StreamStatsTarget[]);
  readonly clock?: Clock;
  /** Longest wait for Redis during a scrape before the figures count as unreadable; default 5000 ms. */
  readonly readTimeoutMs?: number;
  /** Called when reading starts failing (with the error) and when it works again: one call per change. */
  readonly onReadStateChange?: (up: boolean, error?: unknown) => void;
}

export interface StreamMetrics {
  /** The figures of the last scrape (empty before the first one or after a failed read). */
  last(): readonly StreamStats[];
}

export const DEFAULT_READ_TIMEOUT_MS = 5000;

type Snapshot = { readonly ok: true; readonly stats: StreamStats[] } | { readonly ok: false };
type GroupFigure =
  'lag' | 'pending' | 'oldestPendingAgeMs' | 'timeLagMs' | 'retryHintsTotal' | 'retryHintsDue' | 'consumers';

export function createStreamMetrics(registry: Registry, options: StreamMetricsOptions): StreamMetrics {
  const clock = options.clock ?? systemClock;
  const readTimeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  let inflight: Promise<Snapshot> | undefined;
  let lastStats: StreamStats[] = [];
  let up: boolean | undefined;

  const readErrors = new Counter({
    name: `${METRICS_PREFIX}stream_stats_read_errors_total`,
    help: 'Scrapes whose stream figures could not be read from Redis (their series are left out).',
    registers: [registry],
    // counted by this scrape's read, not only the previous ones
    async collect() {
      await snapshot();
    },
  });
  const readSeconds = new Gauge({
    name: `${METRICS_PREFIX}stream_stats_read_seconds`,
    help: 'How long the last scrape took to read the stream figures from Redis.',
    registers: [registry],
    async collect() {
      await snapshot();
    },
  });

  async function read(): Promise<Snapshot> {
    const started = clock.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const targets = typeof options.targets === 'function' ? options.targets() : options.targets;
      // a Redis that does not answer (reconnecting, offline queue) must not hang the scrape: answer up=0 instead
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`stream figures not read within ${readTimeoutMs} ms`)),
          readTimeoutMs,
        );
      });
      const stats = await Promise.race([
        readStreamStats(options.redis, options.keys, targets, clock),
        timeout,
      ]);
      lastStats = stats;
      changeState(true);
      return { ok: true, stats };
    } catch (error) {
      lastStats = [];
      readErrors.inc();
      changeState(false, error);
      return { ok: false };
    } finally {
      clearTimeout(timer);
      readSeconds.set((clock.now() - started) / 1000);
    }
  }

  function changeState(now: boolean, error?: unknown): void {
    if (up === now) return;
    const first = up === undefined;
    up = now;
    // the first successful read is normal operation, not a change worth reporting
    if (!(first && now)) options.onReadStateChange?.(now, error);
  }

  /** Every gauge of one scrape awaits the same read: prom-client collects the metrics concurrently. */
  function snapshot(): Promise<Snapshot> {
    inflight ??= read().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  new Gauge({
    name: `${METRICS_PREFIX}stream_stats_up`,
    help: '1 when the last scrape read the stream figures from Redis, 0 when it failed.',
    registers: [registry],
    async collect() {
      this.set((await snapshot()).ok ? 1 : 0);
    },
  });

  function partitionGauge(name: string, help: string, figure: (s: StreamStats) => number): void {
    new Gauge({
      name: `${METRICS_PREFIX}${name}`,
      help,
      labelNames: ['domain', 'partition'],
      registers: [registry],
      async collect() {
        const result = await snapshot();
        this.reset();
        if (!result.ok) return;
        for (const s of result.stats)
          this.set({ domain: s.domain, partition: String(s.partition) }, figure(s));
      },
    });
  }

  function groupGauge(name: string, help: string, figure: GroupFigure, scale = 1): void {
    new Gauge({
      name: `${METRICS_PREFIX}${name}`,
      help,
      labelNames: ['domain', 'partition', 'group'],
      registers: [registry],
      async collect() {
        const result = await snapshot();
        this.reset();
        if (!result.ok) return;
        for (const s of result.stats) {
          // a group not (yet) on the stream has no figures: no series rather than zeros
          if (!s.exists) continue;
          this.set({ domain: s.domain, partition: String(s.partition), group: s.group }, s[figure] / scale);
        }
      },
    });
  }

  partitionGauge('stream_length', 'Entries in the partition stream (XLEN).', (s) => s.length);
  partitionGauge('dlq_entries', "Dead letters in the partition's DLQ stream (XLEN).", (s) => s.dlqLength);
  groupGauge('stream_lag', 'Entries of the partition stream not yet delivered to the group.', 'lag');
  groupGauge('stream_pending', 'Entries delivered to the group and not yet acked (XPENDING).', 'pending');
  groupGauge(
    'stream_oldest_pending_age_seconds',
    'Age of the oldest pending entry of the group (from its id, Redis time), 0 when none.',
    'oldestPendingAgeMs',
    1000,
  );
  groupGauge(
    'stream_time_lag_seconds',
    'Age of the oldest entry not yet delivered to the group (from its id, Redis time), 0 when none.',
    'timeLagMs',
    1000,
  );
  groupGauge(
    'stream_retry_hints',
    'Pending entries of the group waiting for a retry (retry hints).',
    'retryHintsTotal',
  );
  groupGauge(
    'stream_retry_hints_due',
    'Retry hints whose backoff has passed (due, not yet claimed).',
    'retryHintsDue',
  );
  groupGauge(
    'stream_consumers',
    'Consumers Redis knows in the group (including stopped ones it keeps until deleted).',
    'consumers',
  );

  return { last: () => lastStats };
}
