// exchange.deposits.scan (seed 002 §4 Blockchain Monitoring, every minute): checks the blockchain monitor is active
// and re-initialises it when it is not (an alert: deposits are not detected meanwhile), then asks for the backup scan
// of recent blocks, which creates the deposits real-time detection missed (PENDING, then tracked as usual).
import { DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { PackJob } from '../catalog.js';
import { exchangeSchedule, exchangeTickJob } from './exchange-tick-job.js';
import { WORKER_TYPES } from './modules-set.js';

export const DEPOSIT_SCAN_JOB = 'exchange.deposits.scan';
/** 002 §4 `@Cron(CronExpression.EVERY_MINUTE)`. */
export const DEPOSIT_SCAN_DEFAULT_SPEC = '0 * * * * *';
/** JobSignals.alertRaised name when the monitor is found down. */
export const MONITOR_DOWN_ALERT = 'exchange.blockchain_monitor_down';

export function depositScanJob(): PackJob {
  return {
    catalog: {
      name: DEPOSIT_SCAN_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: [WORKER_TYPES.deposits],
      enableFlag: 'ENABLE_EXCHANGE_DEPOSITS',
      enabledByDefault: false,
    },
    schedules: [exchangeSchedule(DEPOSIT_SCAN_JOB, DEPOSIT_SCAN_DEFAULT_SPEC, 'once')],
    definition: (context) =>
      exchangeTickJob(context, {
        name: DEPOSIT_SCAN_JOB,
        run: async ({ event, scope, exchange, logger }) => {
          const status = await exchange.blockchainStatus(scope);
          const chains = status.chains.map((chain) => chain.chain);
          if (!status.active) {
            context.signals.alertRaised(MONITOR_DOWN_ALERT);
            logger.error({ chains }, 'blockchain monitoring is not active! re-initialising');
            // keyed by the tick: a retry of this run does not re-initialise twice
            const active = await exchange.reinitializeMonitor(event.data.tick, scope);
            if (active) logger.warn({ chains }, 'blockchain monitor re-initialised');
            else logger.error({ chains }, 'blockchain monitor still not active after re-initialisation');
          } else logger.debug({ chains }, `monitoring ${chains.length} chains`);
          const scan = await exchange.scan(event.data.tick, scope);
          const found = scan.chains.reduce((total, chain) => total + chain.found, 0);
          if (found > 0) {
            logger.info(
              { found, chains: scan.chains.filter((chain) => chain.found > 0) },
              `backup scan found ${found} deposits missed by real-time detection`,
            );
          }
          return undefined;
        },
      }),
  };
}
