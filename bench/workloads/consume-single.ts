// Workload 2b, consume no-op with one consumer doing one event at a time (concurrency 1, raw COUNT 1).
import type { Workload } from '../workload.js';
import { consumeRunners } from './consume.js';

export const workload: Workload = {
  name: 'consume-1',
  title: 'consume no-op, pre-filled, 1 consumer (concurrency 1)',
  order: 3,
  kind: 'throughput',
  events: (base) => Math.max(100, Math.round(base / 20)),
  concurrency: { kind: 'fixed', values: { fuze: 1, bullmq: 1, raw: 1 } },
  systems: consumeRunners,
};
