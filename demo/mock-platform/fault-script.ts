// Scripted faults of a mock service: per route (or `*`), a status with Retry-After, a hang or a reset, for the
// next N calls or a share of calls, before the effect (nothing applied) or after it (applied, answer lost).
import type { Random } from './seeded-random.js';

export interface FaultRule {
  /** Answer this status with the error envelope (or `body`); 202 gets a "not yet" body with `retryAt`. */
  readonly status?: number;
  /** `error.code` of the envelope; defaults by status (409: IN_PROGRESS, 429: RATE_LIMITED, 503: UNAVAILABLE...). */
  readonly code?: string;
  /** Replaces the envelope. */
  readonly body?: unknown;
  /** Retry-After header, in seconds. */
  readonly retryAfterS?: number;
  /** Never answer: the connection stays open until the client gives up or the service closes. */
  readonly hang?: boolean;
  /** Destroy the socket without an answer. */
  readonly reset?: boolean;
  /** Wait this long before answering (a slow service). */
  readonly delayMs?: number;
  /** How many calls this rule hits; default 1, or unlimited when `share` is set. */
  readonly times?: number;
  /** Hit this share (0-1) of the calls it sees, drawn from the service's seeded PRNG; default every call. */
  readonly share?: number;
  /**
   * `before` (default): the fault replaces the call, nothing is applied or cached. `after`: the call is applied and
   * its answer cached, then the client gets the fault instead (a lost answer: the retry must be a replay).
   */
  readonly phase?: 'before' | 'after';
}

export type FaultPhase = 'before' | 'after';

interface ActiveRule {
  readonly rule: FaultRule;
  remaining: number;
}

export interface FaultScript {
  /** Appends rules to a route (`POST /internal/v1/cfb/settle`, `GET /feeds/*`, or `*` for every route). */
  add(route: string, rules: FaultRule | readonly FaultRule[]): void;
  /** Removes the rules of one route, or all of them. */
  clear(route?: string): void;
  /** The first rule of these routes (most specific first) that hits this call in this phase, if any. */
  take(routes: readonly string[], phase: FaultPhase): FaultRule | undefined;
}

export function createFaultScript(random: Random): FaultScript {
  const rules = new Map<string, ActiveRule[]>();
  return {
    add(route, added) {
      const list = rules.get(route) ?? [];
      for (const rule of Array.isArray(added) ? (added as readonly FaultRule[]) : [added as FaultRule]) {
        if (rule.share !== undefined && !(rule.share >= 0 && rule.share <= 1))
          throw new RangeError(`fault share ${rule.share} is not within 0-1`);
        const remaining = rule.times ?? (rule.share === undefined ? 1 : Number.POSITIVE_INFINITY);
        list.push({ rule, remaining });
      }
      rules.set(route, list);
    },
    clear(route) {
      if (route === undefined) rules.clear();
      else rules.delete(route);
    },
    take(routes, phase) {
      for (const route of [...routes, '*']) {
        const list = rules.get(route);
        if (!list) continue;
        for (const active of list) {
          if ((active.rule.phase ?? 'before') !== phase || active.remaining <= 0) continue;
          if (active.rule.share !== undefined && random() >= active.rule.share) continue;
          active.remaining -= 1;
          if (active.remaining <= 0) list.splice(list.indexOf(active), 1);
          return active.rule;
        }
      }
      return undefined;
    },
  };
}
