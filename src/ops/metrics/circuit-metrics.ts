// The circuit state gauge: per job with a breaker, 1 on its current state (closed, open, half-open) and 0 on the
// others, from the breaker's state when watched and the runner's `circuit` events after; plus transitions counted.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { CircuitState } from '../../pipelines/circuit-breaker.js';
import type { JobRunner, RunnerEvents } from '../../pipelines/job-runner.js';
import type { EventSource } from './event-source.js';
import { METRICS_PREFIX } from './metrics-registry.js';

export const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open'];

export interface CircuitRunner extends EventSource<RunnerEvents>, Pick<JobRunner, 'job' | 'breaker'> {}

export interface CircuitMetrics {
  /** Reports the runner's circuit (nothing for a job without a breaker); returns a function that stops. */
  watch(runner: CircuitRunner): () => void;
}

export function createCircuitMetrics(registry: Registry): CircuitMetrics {
  const state = new Gauge({
    name: `${METRICS_PREFIX}circuit_state`,
    help: 'Circuit breaker state per job: 1 on the current state (closed, open, half-open), 0 on the others.',
    labelNames: ['job', 'state'],
    registers: [registry],
  });
  const transitions = new Counter({
    name: `${METRICS_PREFIX}circuit_transitions_total`,
    help: 'Circuit breaker state changes per job, by the state entered.',
    labelNames: ['job', 'to'],
    registers: [registry],
  });

  function show(job: string, current: CircuitState): void {
    for (const candidate of CIRCUIT_STATES)
      state.set({ job, state: candidate }, candidate === current ? 1 : 0);
  }

  return {
    watch(runner) {
      if (runner.breaker === undefined) return () => undefined;
      show(runner.job, runner.breaker.state);
      for (const to of CIRCUIT_STATES) transitions.inc({ job: runner.job, to }, 0);
      const onCircuit = ({ job, to }: RunnerEvents['circuit'][0]): void => {
        show(job, to);
        transitions.inc({ job, to });
      };
      runner.on('circuit', onCircuit);
      return () => runner.off('circuit', onCircuit);
    },
  };
}
