// `/health/queues` in seed 003's shape (totalQueues, healthyQueues, totalWaiting, totalActive, totalFailed, and per
// queue waiting/active/failed/healthy), a queue being a job: levels from the warning/critical thresholds.
import type { QueueHealthThresholds } from '../../config/index.js';
import type { GroupStats, OperatorStats } from '../control/group-stats.js';
import type { StatusVerdict } from './job-status.js';

export type HealthLevel = 'ok' | 'warning' | 'critical';

export interface QueueHealth {
  /** Entries not yet delivered to the job (stream lag). */
  readonly waiting: number;
  /** Entries delivered and not yet acked (pending, retries waiting included). */
  readonly active: number;
  /** Dead letters of the job's domain: a partition's DLQ holds the dead letters of every job of the domain. */
  readonly failed: number;
  /** True at level ok. */
  readonly healthy: boolean;
  readonly level: HealthLevel;
  /** Each threshold passed, e.g. `waiting 1200 > 1000 (warning)`. */
  readonly reasons: readonly string[];
  readonly domain: string;
  /** Operator control: running, paused, draining. */
  readonly state: string;
  /** The lag-history status (OK / WARN / STALL) and why. */
  readonly status: StatusVerdict['status'];
  readonly statusReason: string;
  readonly consumers: number;
  /** Age of the oldest waiting entry (ms). */
  readonly timeLagMs: number;
  /** Age of the oldest pending entry (ms). */
  readonly oldestPendingAgeMs: number;
  readonly retryHintsDue: number;
}

export interface QueuesHealth {
  readonly totalQueues: number;
  readonly healthyQueues: number;
  readonly totalWaiting: number;
  readonly totalActive: number;
  /** Dead letters over the domains of the queues (each domain counted once). */
  readonly totalFailed: number;
  /** The worst level of any queue. */
  readonly status: HealthLevel;
  readonly thresholds: QueueHealthThresholds;
  readonly queues: Readonly<Record<string, QueueHealth>>;
}

const RANK: Record<HealthLevel, number> = { ok: 0, warning: 1, critical: 2 };

function worst(levels: readonly HealthLevel[]): HealthLevel {
  return levels.reduce<HealthLevel>((a, b) => (RANK[b] > RANK[a] ? b : a), 'ok');
}

export function queueHealth(
  group: GroupStats,
  thresholds: QueueHealthThresholds,
  verdict: StatusVerdict,
): QueueHealth {
  const reasons: string[] = [];
  const levels: HealthLevel[] = [];
  const check = (what: string, value: number, warning: number, critical: number, unit = ''): void => {
    if (value > critical) {
      levels.push('critical');
      reasons.push(`${what} ${value}${unit} > ${critical}${unit} (critical)`);
    } else if (value > warning) {
      levels.push('warning');
      reasons.push(`${what} ${value}${unit} > ${warning}${unit} (warning)`);
    }
  };
  check('waiting', group.lag, thresholds.waitingWarning, thresholds.waitingCritical);
  check('failed', group.dlqLength, thresholds.failedWarning, thresholds.failedCritical);
  const ageMs = Math.max(group.timeLagMs, group.oldestPendingAgeMs);
  check('age', ageMs, thresholds.ageWarningMs, thresholds.ageCriticalMs, ' ms');
  // seed 003: "No workers | With jobs waiting" is a warning
  if (group.consumers === 0 && group.lag > 0) {
    levels.push('warning');
    reasons.push(`no consumers with ${group.lag} waiting (warning)`);
  }
  const level = worst(levels);
  return {
    waiting: group.lag,
    active: group.pending,
    failed: group.dlqLength,
    healthy: level === 'ok',
    level,
    reasons,
    domain: group.domain,
    state: group.state,
    status: verdict.status,
    statusReason: verdict.reason,
    consumers: group.consumers,
    timeLagMs: group.timeLagMs,
    oldestPendingAgeMs: group.oldestPendingAgeMs,
    retryHintsDue: group.retryHintsDue,
  };
}

/** The name a job goes by in `queues`: its own, or `<domain>:<job>` when two domains have a group of that name. */
export function queueNames(groups: readonly GroupStats[]): string[] {
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g.group, (counts.get(g.group) ?? 0) + 1);
  return groups.map((g) => ((counts.get(g.group) ?? 0) > 1 ? `${g.domain}:${g.group}` : g.group));
}

export function queuesHealth(
  stats: OperatorStats,
  thresholds: QueueHealthThresholds,
  verdictOf: (group: GroupStats) => StatusVerdict,
): QueuesHealth {
  const names = queueNames(stats.groups);
  const queues: Record<string, QueueHealth> = {};
  stats.groups.forEach((group, i) => {
    queues[names[i] ?? group.group] = queueHealth(group, thresholds, verdictOf(group));
  });
  const all = Object.values(queues);
  const domains = new Set(stats.groups.map((g) => g.domain));
  return {
    totalQueues: all.length,
    healthyQueues: all.filter((q) => q.healthy).length,
    totalWaiting: all.reduce((n, q) => n + q.waiting, 0),
    totalActive: all.reduce((n, q) => n + q.active, 0),
    totalFailed: stats.domains.filter((d) => domains.has(d.domain)).reduce((n, d) => n + d.dlqLength, 0),
    status: worst(all.map((q) => q.level)),
    thresholds,
    queues,
  };
}
