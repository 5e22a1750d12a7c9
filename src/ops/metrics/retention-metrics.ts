// Retention metrics from the retention loop's events: entries trimmed per domain, unacked entries dropped over the
// hard cap (an explicit policy, but still lost work: part of the data-loss alarm), DLQ entries trimmed, streams over
// their cap, and failed trims.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { RetentionEvents } from '../../streams/retention-loop.js';
import type { EventSource } from './event-source.js';
import { METRICS_PREFIX } from './metrics-registry.js';

export type ObservedRetention = EventSource<RetentionEvents>;

export interface RetentionMetrics {
  watch(retention: ObservedRetention): () => void;
}

export function createRetentionMetrics(registry: Registry): RetentionMetrics {
  const trimmed = new Counter({
    name: `${METRICS_PREFIX}stream_trimmed_entries_total`,
    help: 'Entries the retention trimmer removed from partition streams (all groups were past them).',
    labelNames: ['domain'],
    registers: [registry],
  });
  const droppedUnacked = new Counter({
    name: `${METRICS_PREFIX}stream_dropped_unacked_entries_total`,
    help: 'Entries not yet handled by every group, dropped over the hard cap under the dropUnacked policy.',
    labelNames: ['domain'],
    registers: [registry],
  });
  const dlqTrimmed = new Counter({
    name: `${METRICS_PREFIX}dlq_trimmed_entries_total`,
    help: 'Dead letters removed by the DLQ retention (count and age).',
    labelNames: ['domain'],
    registers: [registry],
  });
  const overCap = new Gauge({
    name: `${METRICS_PREFIX}stream_over_cap`,
    help: '1 when the partition stream was over its hard cap at its last trim (a group is holding retention back).',
    labelNames: ['domain', 'partition'],
    registers: [registry],
  });
  const errors = new Counter({
    name: `${METRICS_PREFIX}retention_errors_total`,
    help: 'Failed trims of a partition stream or its DLQ.',
    labelNames: ['domain'],
    registers: [registry],
  });

  return {
    watch(retention) {
      const onTrimmed = ({
        domain,
        partition,
        result,
        dlqTrimmed: dlq,
      }: RetentionEvents['trimmed'][0]): void => {
        trimmed.inc({ domain }, result.trimmed);
        droppedUnacked.inc({ domain }, result.droppedUnacked);
        dlqTrimmed.inc({ domain }, dlq);
        overCap.set({ domain, partition: String(partition) }, result.overCap ? 1 : 0);
      };
      const onError = ({ domain }: RetentionEvents['error'][0]): void => errors.inc({ domain });
      retention.on('trimmed', onTrimmed);
      retention.on('error', onError);
      return () => {
        retention.off('trimmed', onTrimmed);
        retention.off('error', onError);
      };
    },
  };
}
