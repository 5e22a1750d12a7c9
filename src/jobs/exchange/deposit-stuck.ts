// exchange.deposits.stuck (seed 002 §4 Stuck Deposits, hourly): deposits still PENDING, CONFIRMING or CONFIRMED more
// than 24 h after creation are logged with id, txHash, status, confirmations and age, raised as an alert and cached
// for the dashboard; they need an operator (the seed: "may indicate blockchain issues").
import { DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { PackJob } from '../catalog.js';
import { eachDepositPage } from './deposit-pages.js';
import type { ExchangeSettings } from './exchange-settings.js';
import { exchangeSchedule, exchangeTickJob } from './exchange-tick-job.js';
import { WORKER_TYPES } from './modules-set.js';

export const DEPOSIT_STUCK_JOB = 'exchange.deposits.stuck';
/** 002 §4 `@Cron(CronExpression.EVERY_HOUR)`. */
export const DEPOSIT_STUCK_DEFAULT_SPEC = '0 0 * * * *';
export const DEPOSIT_STUCK_ALERT = 'exchange.deposits_stuck';
/** `<prefix>:cache:exchange.deposits:stuck`: the last report, kept two hours. */
export const DEPOSIT_REPORT_NAMESPACE = 'exchange.deposits';
export const STUCK_REPORT_ID = 'stuck';
const REPORT_TTL_MS = 2 * 3_600_000;
/** Deposits listed in the log line and the cached report; the count covers them all. */
const LISTED = 100;

export interface StuckDeposit {
  readonly depositId: string;
  readonly txHash: string;
  readonly status: string;
  readonly confirmations: number;
  readonly ageHours: number;
}

export interface StuckReport {
  readonly checkedAt: string;
  readonly count: number;
  readonly deposits: readonly StuckDeposit[];
}

export function depositStuckJob(settings: ExchangeSettings): PackJob {
  const { stuckAfterMs, batch, maxBatches } = settings.deposits;
  return {
    catalog: {
      name: DEPOSIT_STUCK_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: [WORKER_TYPES.deposits],
      enableFlag: 'ENABLE_EXCHANGE_DEPOSITS',
      enabledByDefault: false,
    },
    schedules: [exchangeSchedule(DEPOSIT_STUCK_JOB, DEPOSIT_STUCK_DEFAULT_SPEC, 'once')],
    definition: (context) =>
      exchangeTickJob(context, {
        name: DEPOSIT_STUCK_JOB,
        run: async ({ event, scope, exchange, logger, job }) => {
          const checkedMs = Date.parse(event.data.tick);
          const stuck: StuckDeposit[] = [];
          let count = 0;
          await eachDepositPage(
            exchange,
            {
              statuses: ['PENDING', 'CONFIRMING', 'CONFIRMED'],
              createdBefore: new Date(checkedMs - stuckAfterMs).toISOString(),
              limit: batch,
            },
            { maxBatches, signal: job.signal, scope },
            async (deposits) => {
              count += deposits.length;
              for (const deposit of deposits) {
                if (stuck.length >= LISTED) break;
                stuck.push({
                  depositId: deposit.depositId,
                  txHash: deposit.txHash,
                  status: deposit.status,
                  confirmations: deposit.confirmations,
                  ageHours: Math.floor((checkedMs - Date.parse(deposit.createdAt)) / 3_600_000),
                });
              }
              return Promise.resolve();
            },
          );
          const report: StuckReport = { checkedAt: event.data.tick, count, deposits: stuck };
          await context.cache.put(DEPOSIT_REPORT_NAMESPACE, STUCK_REPORT_ID, report, REPORT_TTL_MS);
          if (count > 0) {
            context.signals.alertRaised(DEPOSIT_STUCK_ALERT);
            const hours = Math.round(stuckAfterMs / 3_600_000);
            logger.warn({ count, deposits: stuck }, `found ${count} deposits stuck for >${hours}h`);
          }
          return undefined;
        },
      }),
  };
}
