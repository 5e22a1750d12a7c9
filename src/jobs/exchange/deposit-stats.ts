// exchange.deposits.stats (seed 002 §4 Statistics & Alerts, every 5 minutes): logs the deposit counts by status,
// warns about deposits waiting long to be credited and about FAILED ones awaiting a manual retry, and caches the counts.
import { DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { PackJob } from '../catalog.js';
import { DEPOSIT_REPORT_NAMESPACE } from './deposit-stuck.js';
import { exchangeSchedule, exchangeTickJob } from './exchange-tick-job.js';
import { WORKER_TYPES } from './modules-set.js';

export const DEPOSIT_STATS_JOB = 'exchange.deposits.stats';
/** 002 §4 `@Cron('0 *\/5 * * * *')`. */
export const DEPOSIT_STATS_DEFAULT_SPEC = '0 */5 * * * *';
/** `<prefix>:cache:exchange.deposits:stats`, kept until two runs have been missed. */
export const STATS_REPORT_ID = 'stats';
const STATS_TTL_MS = 15 * 60_000;
/** Confirmed deposits waiting longer than this are worth a warning (crediting runs every 10 s). */
// not in the seeds: chosen here (002: "Warns about deposits waiting to be credited")
export const CREDIT_WAIT_WARN_MS = 5 * 60_000;

export function depositStatsJob(): PackJob {
  return {
    catalog: {
      name: DEPOSIT_STATS_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: [WORKER_TYPES.deposits],
      enableFlag: 'ENABLE_EXCHANGE_DEPOSITS',
      enabledByDefault: false,
    },
    schedules: [exchangeSchedule(DEPOSIT_STATS_JOB, DEPOSIT_STATS_DEFAULT_SPEC, 'skip')],
    definition: (context) =>
      exchangeTickJob(context, {
        name: DEPOSIT_STATS_JOB,
        run: async ({ event, scope, exchange, logger }) => {
          const stats = await exchange.depositStats(scope);
          const { counts } = stats;
          const count = (status: keyof typeof counts): number => counts[status] ?? 0;
          await context.cache.put(
            DEPOSIT_REPORT_NAMESPACE,
            STATS_REPORT_ID,
            { ...stats, checkedAt: event.data.tick },
            STATS_TTL_MS,
          );
          logger.info(
            { counts },
            `deposit stats - pending: ${count('PENDING')}, confirming: ${count('CONFIRMING')}, ` +
              `confirmed: ${count('CONFIRMED')}, credited: ${count('CREDITED')}, failed: ${count('FAILED')}`,
          );
          const waitingSince =
            stats.oldestConfirmedAt === null ? undefined : Date.parse(stats.oldestConfirmedAt);
          if (
            waitingSince !== undefined &&
            Date.parse(event.data.tick) - waitingSince > CREDIT_WAIT_WARN_MS
          ) {
            logger.warn(
              { confirmed: count('CONFIRMED'), oldestConfirmedAt: stats.oldestConfirmedAt },
              `${count('CONFIRMED')} deposits waiting to be credited, the oldest since ${stats.oldestConfirmedAt}`,
            );
          }
          if (count('FAILED') > 0) {
            logger.warn(
              { failed: count('FAILED') },
              `${count('FAILED')} deposits FAILED: retry each with deposit.retry_requested once its cause is fixed`,
            );
          }
          return undefined;
        },
      }),
  };
}
