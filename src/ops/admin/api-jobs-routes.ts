// JSON API of the dashboard's jobs: the overview (figures, lag history, OK/WARN/STALL status and threshold level per
// job), one job's detail (partitions, consumers, pending entries, recent outcomes, latency) and pause/resume.
import { z } from 'zod';
import type { GroupStats, OperatorStats } from '../control/group-stats.js';
import { createJobControl } from '../control/job-control.js';
import type { JobState } from '../control/job-control.js';
import type { AdminRoute, AdminServices, RouteContext } from './admin-context.js';
import { audited, principalOf } from './admin-context.js';
import type { AdminReply } from './http-io.js';
import { json, pathPattern, problem, queryText, readJsonBody } from './http-io.js';
import { readJobDetail } from './job-detail.js';
import { summariseJobMetrics } from './job-metrics-summary.js';
import { evaluateJobStatus } from './job-status.js';
import { queueHealth } from './queue-health.js';

const controlBody = z.strictObject({
  reason: z.string().max(500).optional(),
  /** Only needed when two domains have a group of this name. */
  domain: z.string().max(64).optional(),
});

/** History points per job in the overview (sparklines). */
const OVERVIEW_POINTS = 90;

/** At most `max` samples, evenly spread, always keeping the newest. */
export function thin<T>(samples: readonly T[], max: number): readonly T[] {
  if (samples.length <= max) return samples;
  if (max < 2) return max < 1 ? [] : samples.slice(-1);
  const step = (samples.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => samples[Math.round(i * step)] as T);
}

export function jobsApiRoutes(services: AdminServices): AdminRoute[] {
  const control = createJobControl({ redis: services.redis, keys: services.keys, clock: services.clock });

  /** `maxPoints` bounds the history sent (the overview's sparklines need few points, the job chart all). */
  function summary(group: GroupStats, maxPoints = OVERVIEW_POINTS) {
    const all = services.history.samples(group.domain, group.group);
    const samples = thin(all, maxPoints);
    const verdict = evaluateJobStatus(all, group.state, services.statusRules);
    const health = queueHealth(group, services.config.admin.health, verdict);
    return {
      job: group.group,
      domain: group.domain,
      state: group.state,
      status: verdict.status,
      statusReason: verdict.reason,
      level: health.level,
      reasons: health.reasons,
      lag: group.lag,
      pending: group.pending,
      timeLagMs: group.timeLagMs,
      oldestPendingAgeMs: group.oldestPendingAgeMs,
      consumers: group.consumers,
      dlqLength: group.dlqLength,
      retryHintsDue: group.retryHintsDue,
      retryHintsTotal: group.retryHintsTotal,
      partitions: group.partitions,
      partitionsWithGroup: group.partitionsWithGroup,
      // columns, as uPlot takes them: seconds, then one array per series
      history: {
        t: samples.map((s) => s.at / 1000),
        lag: samples.map((s) => s.lag),
        timeLagMs: samples.map((s) => s.timeLagMs),
        pending: samples.map((s) => s.pending),
      },
    };
  }

  /** The group of the job named in the path; a reply when there is none or the name is ambiguous. */
  function findJob(stats: OperatorStats, ctx: RouteContext, domain?: string): GroupStats | AdminReply {
    const job = ctx.params['job'] ?? '';
    const wanted = domain ?? queryText(ctx.url, 'domain', 64);
    const matches = stats.groups.filter(
      (g) => g.group === job && (wanted === undefined || g.domain === wanted),
    );
    const [only] = matches;
    if (only === undefined)
      return problem(404, 'not-found', `no job (consumer group) named "${job}" in Redis`);
    if (matches.length > 1)
      return problem(
        409,
        'ambiguous',
        `job "${job}" has groups in domains ${matches.map((m) => m.domain).join(', ')}: name the domain`,
      );
    return only;
  }

  async function setState(ctx: RouteContext, state: JobState, action: string): Promise<AdminReply> {
    const body = await readJsonBody(ctx.req, controlBody);
    const { stats } = await services.sampler.read();
    const group = findJob(stats, ctx, body.domain);
    if (!('group' in group)) return group;
    const principal = principalOf(ctx);
    const changed = await audited(
      services,
      ctx,
      {
        name: action,
        target: group.group,
        detail: { domain: group.domain, from: group.state, to: state, reason: body.reason },
      },
      () =>
        control.set(group.group, state, {
          by: `${principal.name} (admin http)`,
          ...(body.reason === undefined ? {} : { reason: body.reason }),
        }),
      (result) => ({ state: result.state, version: result.version }),
    );
    services.sampler.invalidate();
    return json(200, changed);
  }

  return [
    {
      method: 'GET',
      path: pathPattern('/api/overview'),
      access: 'read',
      async handle() {
        const { at, stats } = await services.sampler.read();
        return json(200, {
          at: new Date(at).toISOString(),
          thresholds: services.config.admin.health,
          jobs: stats.groups.map((group) => summary(group)),
          domains: stats.domains.map((d) => ({
            domain: d.domain,
            partitions: d.partitions,
            length: d.length,
            dlqLength: d.dlqLength,
            groups: d.groups,
          })),
        });
      },
    },
    {
      method: 'GET',
      path: pathPattern('/api/jobs/:job'),
      access: 'read',
      async handle(ctx) {
        const { at, stats } = await services.sampler.read();
        const group = findJob(stats, ctx);
        if (!('group' in group)) return group;
        const target = { domain: group.domain, partitions: group.partitions, group: group.group };
        const registry = services.metrics()?.registry;
        const [detail, controlState, metrics] = await Promise.all([
          readJobDetail(services.redis, services.keys, target),
          control.get(group.group),
          registry === undefined ? undefined : summariseJobMetrics(registry, group.group),
        ]);
        return json(200, {
          at: new Date(at).toISOString(),
          ...summary(group, Number.MAX_SAFE_INTEGER),
          control: controlState,
          byPartition: group.byPartition.map((p) => ({
            partition: p.partition,
            exists: p.exists,
            length: p.length,
            lag: p.lag,
            pending: p.pending,
            timeLagMs: p.timeLagMs,
            oldestPendingAgeMs: p.oldestPendingAgeMs,
            retryHintsDue: p.retryHintsDue,
            consumers: p.consumers,
            dlqLength: p.dlqLength,
            lastDeliveredId: p.lastDeliveredId,
          })),
          // `consumers` is the count (of the overview); these are the consumers themselves
          consumerList: detail.consumers,
          pendingEntries: detail.pendingEntries,
          recentOutcomes: services.outcomes.of(group.group),
          metrics: metrics ?? null,
        });
      },
    },
    {
      method: 'POST',
      path: pathPattern('/api/jobs/:job/pause'),
      access: 'change',
      handle: (ctx) => setState(ctx, 'paused', 'job.pause'),
    },
    {
      method: 'POST',
      path: pathPattern('/api/jobs/:job/resume'),
      access: 'change',
      handle: (ctx) => setState(ctx, 'running', 'job.resume'),
    },
  ];
}
