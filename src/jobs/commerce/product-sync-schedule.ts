// product.sync.schedule (seed 003 product-sync "Every 6 hours (delta)"): each tick lists the connected sources from
// Commerce and publishes one delta product.sync_requested per tenant source, with the tenant's conflict strategy.
import { createHash } from 'node:crypto';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import type { CronScheduleDeclaration } from '../../scheduler/cron-schedules.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { commerceProductSources, productSourcesResponse } from './api.js';
import type { CommerceEventMap } from './events.js';
import { listingPages, requestFeederJob, tickRequest } from './request-feeder.js';

export const PRODUCT_SYNC_SCHEDULE = 'product.sync.schedule';

/** CRON_PRODUCT_SYNC; seed 003 "Every 6 hours (delta)". */
export const productSyncSchedule: CronScheduleDeclaration = {
  name: 'product.sync',
  variable: 'CRON_PRODUCT_SYNC',
  defaultSpec: '0 */6 * * *',
  overlap: 'skip',
  missed: 'once',
};

/** `delta_<hash>`: one sync id per (tick, tenant, source), the same on every replica and every retry of the tick. */
export function scheduledSyncId(tick: string, tenantId: string, source: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([tick, tenantId, source]))
    .digest('hex');
  return `delta_${hash.slice(0, 32)}`;
}

export function productSyncScheduleJob(
  context: PackContext,
  paging: { readonly pageSize: number; readonly maxPages: number },
): JobDefinition<CronTickData> {
  const sink = serviceSinkFor(context, PRODUCT_SYNC_SCHEDULE, 'commerce');
  return requestFeederJob(context, {
    name: PRODUCT_SYNC_SCHEDULE,
    async *events(tick, scope) {
      for await (const sources of listingPages(
        sink,
        commerceProductSources.path,
        productSourcesResponse,
        scope,
        paging,
      )) {
        yield sources.map(({ tenantId, source, conflictResolution }) => {
          const data: CommerceEventMap['product.sync_requested'] = {
            syncId: scheduledSyncId(tick.data.tick, tenantId, source),
            tenantId,
            source,
            mode: 'delta',
            ...(conflictResolution === undefined ? {} : { conflictResolution }),
          };
          return tickRequest(context, tick, 'product.sync_requested', tenantId, data, [tenantId, source]);
        });
      }
    },
  });
}
