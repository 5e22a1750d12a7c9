// One circuit breaker per webhook endpoint (in this process), bounded in number: an endpoint that keeps failing is
// short-circuited while the others keep being delivered. The job-level breaker would stop the whole job instead.
import type { SchedulerLike } from 'rxjs';
import { createCircuitBreaker } from '../../pipelines/circuit-breaker.js';
import type {
  CircuitBreaker,
  CircuitBreakerOptions,
  CircuitPermit,
} from '../../pipelines/circuit-breaker.js';

export interface EndpointBreakers {
  /** The endpoint's breaker, created closed on first use. */
  of(endpoint: string): CircuitBreaker;
  readonly size: number;
  dispose(): void;
}

/** Least recently used breakers beyond `maxEndpoints` are dropped (an idle endpoint starts closed again). */
export function createEndpointBreakers(
  options: CircuitBreakerOptions,
  maxEndpoints = 10_000,
  scheduler?: SchedulerLike,
): EndpointBreakers {
  const breakers = new Map<string, CircuitBreaker>();
  return {
    of(endpoint) {
      let breaker = breakers.get(endpoint);
      if (breaker === undefined) {
        breaker = createCircuitBreaker(options, scheduler);
        if (breakers.size >= maxEndpoints) {
          const [oldest, dropped] = breakers.entries().next().value ?? [];
          if (oldest !== undefined) breakers.delete(oldest);
          dropped?.dispose();
        }
      } else breakers.delete(endpoint);
      breakers.set(endpoint, breaker);
      return breaker;
    },
    get size() {
      return breakers.size;
    },
    dispose() {
      for (const breaker of breakers.values()) breaker.dispose();
      breakers.clear();
    },
  };
}

/**
 * A permit now, or undefined when the caller would have to wait (open, or a half-open probe is out): a delivery
 * never holds a handler slot waiting for its endpoint; it is deferred instead.
 */
export function admitNow(breaker: CircuitBreaker): CircuitPermit | undefined {
  let permit: CircuitPermit | undefined;
  breaker
    .admit()
    .subscribe((given) => {
      permit = given;
    })
    .unsubscribe();
  return permit;
}
