// HTTP client metrics from the HTTP sink's `observe` hook: calls per target service, method, status and outcome,
// and their duration. `status` is the response code, or `none` when no response came (timeout, reset, refused).
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { CallObservation } from '../../sinks/http-sink.js';
import { CALL_SECONDS_BUCKETS, METRICS_PREFIX } from './metrics-registry.js';

export interface HttpMetrics {
  /** Pass as the sink's `observe` option (createServiceSink deps.observe); needs no `this`. */
  readonly observe: (observation: CallObservation) => void;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  const requests = new Counter({
    name: `${METRICS_PREFIX}http_client_requests_total`,
    help: 'Calls to internal services by target service, method, response status (`none`: no response) and outcome.',
    labelNames: ['target', 'method', 'status', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRICS_PREFIX}http_client_request_duration_seconds`,
    help: 'Duration of calls to internal services, from sending to the body read (or the failure).',
    labelNames: ['target', 'method'],
    buckets: [...CALL_SECONDS_BUCKETS],
    registers: [registry],
  });
  return {
    observe: ({ service, method, status, outcome, durationMs }) => {
      requests.inc({ target: service, method, status: statusLabel(status), outcome });
      duration.observe({ target: service, method }, Math.max(0, durationMs) / 1000);
    },
  };
}

/** Three digits or `none`: anything else a server sent is folded into `other`, keeping the label set bounded. */
function statusLabel(status: number | undefined): string {
  if (status === undefined) return 'none';
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}
