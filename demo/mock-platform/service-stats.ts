// Counters of a mock service for tests and the demo report: requests, applied, replays, faults..., per route.

export interface RouteStats {
  requests: number;
  /** Calls that changed the service's state (an effect applied). */
  applied: number;
  /** Repeated Idempotency-Keys answered with the stored answer. */
  replays: number;
  /** 409 IN_PROGRESS: the same key was still being applied. */
  inProgress: number;
  /** 409 IDEMPOTENCY_KEY_MISMATCH: a key reused with another body or route. */
  keyMismatches: number;
  /** Keys that differ from the one the contract derives from the body (a job's key derivation is off). */
  contractKeyMismatches: number;
  /** 401: missing or refused service JWT. */
  unauthorized: number;
  /** 400 for a body or query that failed the contract's schema. */
  invalid: number;
  /** Scripted faults used. */
  faults: number;
  /** Answers that did not match the contract (a bug in the mock; answered 500). */
  contractViolations: number;
  /** Answers by status; hangs and resets count as `hang` and `reset`. */
  statuses: Record<string, number>;
}

export interface ServiceStats extends RouteStats {
  readonly service: string;
  readonly byRoute: Record<string, RouteStats>;
  /** Keys applied more than once: must stay 0. */
  readonly appliedTwice: number;
}

export type RouteCounter = Exclude<keyof RouteStats, 'statuses'>;

export function emptyRouteStats(): RouteStats {
  return {
    requests: 0,
    applied: 0,
    replays: 0,
    inProgress: 0,
    keyMismatches: 0,
    contractKeyMismatches: 0,
    unauthorized: 0,
    invalid: 0,
    faults: 0,
    contractViolations: 0,
    statuses: {},
  };
}

export interface StatsRecorder {
  count(route: string, counter: RouteCounter): void;
  answered(route: string, status: number | 'hang' | 'reset'): void;
  snapshot(service: string, appliedTwice: number): ServiceStats;
}

export function createStatsRecorder(): StatsRecorder {
  const total = emptyRouteStats();
  const byRoute = new Map<string, RouteStats>();
  const routeStats = (route: string): RouteStats => {
    let stats = byRoute.get(route);
    if (!stats) byRoute.set(route, (stats = emptyRouteStats()));
    return stats;
  };
  return {
    count(route, counter) {
      total[counter] += 1;
      routeStats(route)[counter] += 1;
    },
    answered(route, status) {
      const name = String(status);
      total.statuses[name] = (total.statuses[name] ?? 0) + 1;
      const stats = routeStats(route);
      stats.statuses[name] = (stats.statuses[name] ?? 0) + 1;
    },
    snapshot(service, appliedTwice) {
      const copy = (s: RouteStats): RouteStats => ({ ...s, statuses: { ...s.statuses } });
      return {
        ...copy(total),
        service,
        byRoute: Object.fromEntries([...byRoute].map(([route, s]) => [route, copy(s)])),
        appliedTwice,
      };
    },
  };
}
