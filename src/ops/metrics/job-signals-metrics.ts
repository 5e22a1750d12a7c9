// The JobSignals jobs report beside their outcomes, as metrics: provider health (seed 000: up or down, polls,
// poll duration) and invariant alerts raised (ledger recalc, budget reconcile, expiry backlog).
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { JobSignals } from '../../jobs/pack-context.js';
import { CALL_SECONDS_BUCKETS, METRICS_PREFIX } from './metrics-registry.js';

/** Provider and alert names become label values: a name outside this shape is reported as `invalid`. */
const LABEL_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;

export function createJobSignalsMetrics(registry: Registry): JobSignals {
  const providerUp = new Gauge({
    name: `${METRICS_PREFIX}provider_up`,
    help: 'External provider health from its last poll: 1 up, 0 down.',
    labelNames: ['provider'],
    registers: [registry],
  });
  const polls = new Counter({
    name: `${METRICS_PREFIX}provider_polls_total`,
    help: 'Polls of external providers by result (up, down).',
    labelNames: ['provider', 'result'],
    registers: [registry],
  });
  const pollDuration = new Histogram({
    name: `${METRICS_PREFIX}provider_poll_duration_seconds`,
    help: 'Duration of polls of external providers.',
    labelNames: ['provider'],
    buckets: [...CALL_SECONDS_BUCKETS],
    registers: [registry],
  });
  const alerts = new Counter({
    name: `${METRICS_PREFIX}alerts_raised_total`,
    help: 'Invariant checks that failed (the job also publishes the alert event), by alert name.',
    labelNames: ['alert'],
    registers: [registry],
  });

  return {
    providerPolled(provider, up, seconds) {
      const label = boundedName(provider);
      providerUp.set({ provider: label }, up ? 1 : 0);
      polls.inc({ provider: label, result: up ? 'up' : 'down' });
      if (Number.isFinite(seconds)) pollDuration.observe({ provider: label }, Math.max(0, seconds));
    },
    alertRaised(alert) {
      alerts.inc({ alert: boundedName(alert) });
    },
  };
}

function boundedName(name: string): string {
  return LABEL_VALUE.test(name) ? name : 'invalid';
}
