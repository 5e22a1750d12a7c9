// fx.refresh.schedule (seed 003 fx-refresh "Every 15 minutes"): each tick publishes one fx.refresh_requested per base
// currency of FX_BASE_CURRENCIES, which fx.refresh handles like an on-demand request.
import type { JobDefinition } from '../../pipelines/job-definition.js';
import type { CronScheduleDeclaration } from '../../scheduler/cron-schedules.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import type { PackContext } from '../pack-context.js';
import type { CommerceSettings } from './commerce-settings.js';
import type { CommerceEventMap } from './events.js';
import { requestFeederJob, tickRequest } from './request-feeder.js';

export const FX_REFRESH_SCHEDULE = 'fx.refresh.schedule';

/** CRON_FX_REFRESH; seed 003 "Every 15 minutes". */
export const fxRefreshSchedule: CronScheduleDeclaration = {
  name: 'fx.refresh',
  variable: 'CRON_FX_REFRESH',
  defaultSpec: '*/15 * * * *',
  overlap: 'skip',
  missed: 'once',
};

export function fxRefreshScheduleJob(
  context: PackContext,
  settings: CommerceSettings,
): JobDefinition<CronTickData> {
  const targets = settings.FX_TARGET_CURRENCIES;
  return requestFeederJob(context, {
    name: FX_REFRESH_SCHEDULE,
    // eslint-disable-next-line @typescript-eslint/require-await
    async *events(tick) {
      yield settings.FX_BASE_CURRENCIES.map((baseCurrency) => {
        const data: CommerceEventMap['fx.refresh_requested'] = {
          baseCurrency,
          ...(targets.length === 0 ? {} : { targetCurrencies: targets }),
        };
        return tickRequest(context, tick, 'fx.refresh_requested', baseCurrency, data, [baseCurrency]);
      });
    },
  });
}
