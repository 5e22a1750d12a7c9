// exchange.deposits.confirm (seed 002 §4 Confirmation Tracking): every 30 s, for each PENDING/CONFIRMING deposit,
// confirmations = current block - deposit block + 1 on its chain; the count is recorded while below the chain's
// required confirmations, and at or above it the deposit is CONFIRMED and deposit.confirmed published.
import { errorMessage } from '../../errors.js';
import { DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CallScope } from '../../sinks/http-sink.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { failuresOf, settleBounded } from './bounded-parallel.js';
import { depositConfirmedEvent } from './deposit-events.js';
import { eachDepositPage } from './deposit-pages.js';
import type { Deposit, ExchangeClient } from './exchange-client.js';
import type { ExchangeSettings } from './exchange-settings.js';
import { exchangeSchedule, exchangeTickJob } from './exchange-tick-job.js';
import { WORKER_TYPES } from './modules-set.js';

export const DEPOSIT_CONFIRM_JOB = 'exchange.deposits.confirm';
/** 002 §4 `@Cron(CronExpression.EVERY_30_SECONDS)`. */
export const DEPOSIT_CONFIRM_DEFAULT_SPEC = '*/30 * * * * *';

export type ConfirmResult = 'confirmed' | 'updated' | 'unchanged' | 'unmined' | 'unknown-chain';

/** 002 §4: "current block - deposit block + 1"; 0 before the block (a reorg, or a height not yet caught up). */
export function confirmationsOf(height: number, blockNumber: number): number {
  return height >= blockNumber ? height - blockNumber + 1 : 0;
}

export async function trackConfirmations(
  context: PackContext,
  exchange: ExchangeClient,
  deposit: Deposit,
  heights: ReadonlyMap<string, number>,
  required: number,
  observedAt: string,
  scope: CallScope,
): Promise<ConfirmResult> {
  const height = heights.get(deposit.chain);
  if (height === undefined) return 'unknown-chain';
  if (deposit.blockNumber === null) return 'unmined';
  const confirmations = confirmationsOf(height, deposit.blockNumber);
  if (confirmations >= required) {
    await exchange.confirmDeposit(deposit.depositId, confirmations, scope);
    await context.publisher.publish(
      depositConfirmedEvent(deposit, confirmations, required, observedAt, context.config.service.id),
    );
    return 'confirmed';
  }
  if (confirmations === deposit.confirmations) return 'unchanged';
  await exchange.updateConfirmations(deposit.depositId, confirmations, scope);
  return 'updated';
}

export function depositConfirmationsJob(settings: ExchangeSettings): PackJob {
  const { requiredConfirmations, batch, maxBatches, concurrency } = settings.deposits;
  return {
    catalog: {
      name: DEPOSIT_CONFIRM_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: [WORKER_TYPES.deposits],
      enableFlag: 'ENABLE_EXCHANGE_DEPOSITS',
      enabledByDefault: false,
    },
    schedules: [exchangeSchedule(DEPOSIT_CONFIRM_JOB, DEPOSIT_CONFIRM_DEFAULT_SPEC, 'once')],
    definition: (context) =>
      exchangeTickJob(context, {
        name: DEPOSIT_CONFIRM_JOB,
        run: async ({ event, scope, exchange, logger, job }) => {
          const started = context.clock.now();
          const status = await exchange.blockchainStatus(scope);
          const heights = new Map(status.chains.map((chain) => [chain.chain, chain.height]));
          const counts: Record<ConfirmResult, number> = {
            confirmed: 0,
            updated: 0,
            unchanged: 0,
            unmined: 0,
            'unknown-chain': 0,
          };
          let failed = 0;
          const sample: string[] = [];
          const walked = await eachDepositPage(
            exchange,
            { statuses: ['PENDING', 'CONFIRMING'], limit: batch },
            { maxBatches, signal: job.signal, scope },
            async (deposits) => {
              const results = await settleBounded(
                deposits,
                concurrency,
                (deposit) =>
                  trackConfirmations(
                    context,
                    exchange,
                    deposit,
                    heights,
                    requiredConfirmations(deposit.chain),
                    event.data.tick,
                    scope,
                  ),
                job.signal,
              );
              for (const result of results) if (result.status === 'fulfilled') counts[result.value] += 1;
              const failures = failuresOf(
                results,
                (i, reason) => `${deposits[i]?.depositId ?? '?'}: ${errorMessage(reason)}`,
              );
              failed += failures.failed;
              sample.push(...failures.sample.slice(0, 5 - sample.length));
            },
          );
          const checked = Object.values(counts).reduce((a, b) => a + b, 0) + failed;
          const ms = context.clock.now() - started;
          const fields = {
            ...counts,
            failed,
            sample,
            ms,
            cutShort: walked.cutShort && errorMessage(walked.cutShort),
          };
          const line = `checked ${checked} deposits: ${counts.updated} updated, ${counts.confirmed} confirmed, ${failed} errors`;
          if (failed > 0 || counts['unknown-chain'] > 0 || walked.cutShort !== undefined)
            logger.warn(fields, line);
          else if (checked > 0) logger.debug(fields, line);
          return undefined;
        },
      }),
  };
}
