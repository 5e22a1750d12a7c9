// exchange.deposits.credit (seed 002 §4 Deposit Crediting): every 10 s, each CONFIRMED deposit is credited to its
// wallet (once per deposit and credit attempt), deposit.credited and balance.credited are published, and it is marked
// CREDITED last. A refusal (4xx, e.g. "Insufficient gas") marks it FAILED with the reason for a manual retry; a
// transient failure leaves it CONFIRMED for the next run (the seed marks those FAILED too).
import { errorMessage } from '../../errors.js';
import { DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CallScope, SinkResult } from '../../sinks/http-sink.js';
import type { PackJob } from '../catalog.js';
import { errorEnvelope } from '../contract-fields.js';
import type { PackContext } from '../pack-context.js';
import { failuresOf, settleBounded } from './bounded-parallel.js';
import { depositConfirmedEvent, depositCreditedEvents, depositFailedEvent } from './deposit-events.js';
import { eachDepositPage } from './deposit-pages.js';
import type { Deposit, ExchangeClient } from './exchange-client.js';
import type { ExchangeSettings } from './exchange-settings.js';
import { exchangeSchedule, exchangeTickJob } from './exchange-tick-job.js';
import { WORKER_TYPES } from './modules-set.js';

export const DEPOSIT_CREDIT_JOB = 'exchange.deposits.credit';
/** 002 §4 `@Cron(CronExpression.EVERY_10_SECONDS)`. */
export const DEPOSIT_CREDIT_DEFAULT_SPEC = '*/10 * * * * *';

export type CreditResult = 'credited' | 'failed' | 'later';

/** The exchange's own words for a refusal (its error envelope's message), else the mapped reason. */
function refusalReason(result: SinkResult): string {
  const envelope = errorEnvelope.safeParse(result.raw);
  const reason = envelope.success
    ? envelope.data.error.message
    : result.outcome.kind === 'dead'
      ? (result.outcome.error ?? result.outcome.reason)
      : 'refused';
  return (reason.trim() || 'refused').slice(0, 500);
}

export async function creditDeposit(
  context: PackContext,
  exchange: ExchangeClient,
  deposit: Deposit,
  required: number,
  observedAt: string,
  scope: CallScope,
): Promise<{ readonly result: CreditResult; readonly reason?: string }> {
  const source = context.config.service.id;
  // a confirmation run that stopped between CONFIRMED and its event leaves it unannounced: same id, written once
  await context.publisher.publish(
    depositConfirmedEvent(deposit, deposit.confirmations, required, observedAt, source),
  );
  const { depositId, userId, asset, amount, creditAttempt } = deposit;
  const credit = await exchange.creditBalance({ userId, asset, amount, depositId }, creditAttempt, scope);
  switch (credit.outcome.kind) {
    case 'ack':
      await context.publisher.publishBatch(depositCreditedEvents(deposit, observedAt, source));
      // last: CREDITED takes it off the confirmed list once everything above is done
      await exchange.markCredited(depositId, creditAttempt, scope);
      return { result: 'credited' };
    case 'dead': {
      const reason = refusalReason(credit);
      await context.publisher.publish(depositFailedEvent(deposit, reason, observedAt, source));
      await exchange.markFailed({ depositId, creditAttempt, reason }, scope);
      return { result: 'failed', reason };
    }
    default:
      return { result: 'later', reason: credit.outcome.reason };
  }
}

export function depositCreditingJob(settings: ExchangeSettings): PackJob {
  const { requiredConfirmations, batch, maxBatches, concurrency } = settings.deposits;
  return {
    catalog: {
      name: DEPOSIT_CREDIT_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: [WORKER_TYPES.deposits],
      enableFlag: 'ENABLE_EXCHANGE_DEPOSITS',
      enabledByDefault: false,
    },
    schedules: [exchangeSchedule(DEPOSIT_CREDIT_JOB, DEPOSIT_CREDIT_DEFAULT_SPEC, 'once')],
    definition: (context) =>
      exchangeTickJob(context, {
        name: DEPOSIT_CREDIT_JOB,
        run: async ({ event, scope, exchange, logger, job }) => {
          const started = context.clock.now();
          let credited = 0;
          let later = 0;
          let errors = 0;
          const walked = await eachDepositPage(
            exchange,
            { statuses: ['CONFIRMED'], limit: batch },
            { maxBatches, signal: job.signal, scope },
            async (deposits) => {
              const results = await settleBounded(
                deposits,
                concurrency,
                (deposit) =>
                  creditDeposit(
                    context,
                    exchange,
                    deposit,
                    requiredConfirmations(deposit.chain),
                    event.data.tick,
                    scope,
                  ),
                job.signal,
              );
              results.forEach((result, i) => {
                const deposit = deposits[i];
                if (result.status !== 'fulfilled' || deposit === undefined) return;
                const { amount, asset, txHash, depositId } = deposit;
                if (result.value.result === 'credited') {
                  credited += 1;
                  logger.debug({ depositId, amount, asset, txHash }, `credited deposit ${depositId}`);
                } else if (result.value.result === 'failed') {
                  errors += 1;
                  logger.error(
                    { depositId, txHash, reason: result.value.reason },
                    `failed to credit deposit ${depositId}: ${result.value.reason ?? ''} (marked FAILED)`,
                  );
                } else later += 1;
              });
              const failures = failuresOf(
                results,
                (i, reason) => `${deposits[i]?.depositId ?? '?'}: ${errorMessage(reason)}`,
              );
              errors += failures.failed;
              if (failures.failed > 0) {
                logger.warn(
                  { failed: failures.failed, sample: failures.sample },
                  `${failures.failed} deposits not credited this run (retried next run)`,
                );
              }
            },
          );
          const ms = context.clock.now() - started;
          const fields = { credited, later, errors, ms };
          const line = `credited ${credited} deposits, ${errors} errors, ${later} left for the next run`;
          if (walked.cutShort !== undefined || later > 0) {
            const cutShort = walked.cutShort === undefined ? undefined : errorMessage(walked.cutShort);
            logger.warn({ ...fields, cutShort }, line);
          } else if (credited + errors > 0) logger.debug(fields, line);
          return undefined;
        },
      }),
  };
}
