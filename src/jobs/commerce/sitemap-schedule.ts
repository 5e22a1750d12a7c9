// sitemap.generate.schedule (seed 003 sitemap-generation "Daily at 3 AM UTC"): each tick lists the tenants with a
// storefront and publishes one sitemap.generation_requested per tenant (all types, the tenant's locales, stored).
import { createHash } from 'node:crypto';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import type { CronScheduleDeclaration } from '../../scheduler/cron-schedules.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { commerceSitemapTenants, sitemapTenantsResponse } from './api.js';
import type { CommerceEventMap } from './events.js';
import { listingPages, requestFeederJob, tickRequest } from './request-feeder.js';

export const SITEMAP_SCHEDULE = 'sitemap.generate.schedule';

/** CRON_SITEMAP_GENERATION; seed 003 "Daily at 3 AM UTC", pinned to UTC whatever SCHEDULER_TIME_ZONE says. */
export const sitemapSchedule: CronScheduleDeclaration = {
  name: 'sitemap.generation',
  variable: 'CRON_SITEMAP_GENERATION',
  defaultSpec: 'TZ=UTC 0 3 * * *',
  overlap: 'skip',
  missed: 'once',
};

/** `sitemap_<hash>`: one job id per (tick, tenant). */
export function scheduledSitemapJobId(tick: string, tenantId: string): string {
  return `sitemap_${createHash('sha256')
    .update(JSON.stringify([tick, tenantId]))
    .digest('hex')
    .slice(0, 32)}`;
}

export function sitemapScheduleJob(
  context: PackContext,
  paging: { readonly pageSize: number; readonly maxPages: number },
): JobDefinition<CronTickData> {
  const sink = serviceSinkFor(context, SITEMAP_SCHEDULE, 'commerce');
  return requestFeederJob(context, {
    name: SITEMAP_SCHEDULE,
    async *events(tick, scope) {
      for await (const tenants of listingPages(
        sink,
        commerceSitemapTenants.path,
        sitemapTenantsResponse,
        scope,
        paging,
      )) {
        yield tenants.map(({ tenantId }) => {
          const data: CommerceEventMap['sitemap.generation_requested'] = {
            jobId: scheduledSitemapJobId(tick.data.tick, tenantId),
            tenantId,
            pingSearchEngines: true,
          };
          return tickRequest(context, tick, 'sitemap.generation_requested', tenantId, data, [tenantId]);
        });
      }
    },
  });
}
