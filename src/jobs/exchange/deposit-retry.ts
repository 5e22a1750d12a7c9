// exchange.deposits.retry (seed 002 §4 "Can be manually retried"): an operator's deposit.retry_requested moves a
// FAILED deposit back to CONFIRMED with a new credit attempt, and the next crediting run (10 s) credits it.
// requestDepositRetry is the library side of the command (`workers exchange deposits retry <depositId>`).
import { ulid } from 'ulid';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { Publisher, PublishResult } from '../../events/publisher.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { errorCodeOf } from '../../sinks/status-mapping.js';
import { outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { depositResponse } from './api.js';
import { createExchangeClient } from './exchange-client.js';
import { EXCHANGE_DOMAIN } from './events.js';
import type { ExchangeEventMap } from './events.js';
import { WORKER_TYPES } from './modules-set.js';

export const DEPOSIT_RETRY_JOB = 'exchange.deposits.retry';
export const DEPOSIT_RETRY_TYPE = 'deposit.retry_requested';
/** The exchange's 409 code for a deposit that is not FAILED: nothing to retry. */
export const NOT_FAILED_CODE = 'NOT_FAILED';

type RetryRequested = ExchangeEventMap['deposit.retry_requested'];

export interface DepositRetryInput {
  readonly depositId: string;
  /** The operator asking (audited by the exchange). */
  readonly requestedBy: string;
  readonly reason?: string;
  /** The envelope's source (SERVICE_ID of the CLI). */
  readonly source: string;
}

/** The request as an event: a new id per request (asking twice is two requests; the second finds it not FAILED). */
export function depositRetryEvent(
  input: DepositRetryInput,
  clock: Clock = systemClock,
): EventEnvelope<RetryRequested> {
  const now = clock.now();
  return {
    id: ulid(now),
    type: DEPOSIT_RETRY_TYPE,
    key: input.depositId,
    occurredAt: new Date(now).toISOString(),
    source: input.source,
    schemaVersion: 1,
    data: {
      depositId: input.depositId,
      requestedBy: input.requestedBy,
      ...(input.reason === undefined ? {} : { reason: input.reason }),
    },
  };
}

/** Publishes a retry request for a FAILED deposit (validated by the registry, like any publish). */
export async function requestDepositRetry(
  publisher: Publisher,
  input: DepositRetryInput,
  clock: Clock = systemClock,
): Promise<PublishResult & { readonly eventId: string }> {
  const event = depositRetryEvent(input, clock);
  return { ...(await publisher.publish(event)), eventId: event.id };
}

export function depositRetryDefinition(context: PackContext): JobDefinition<RetryRequested> {
  const exchange = createExchangeClient(serviceSinkFor(context, DEPOSIT_RETRY_JOB, 'exchange'));
  const logger = context.logger.child({ job: DEPOSIT_RETRY_JOB });
  return {
    name: DEPOSIT_RETRY_JOB,
    domain: EXCHANGE_DOMAIN,
    types: [DEPOSIT_RETRY_TYPE],
    concurrency: 4,
    handler: async (event, job) => {
      const { depositId, requestedBy } = event.data;
      const result = await exchange.retryDeposit(depositId, event.id, { event, signal: job.signal });
      if (result.status === 409 && errorCodeOf(result.raw) === NOT_FAILED_CODE) {
        logger.warn({ depositId, requestedBy }, `deposit ${depositId} is not FAILED: retry request ignored`);
        return outcome.ack();
      }
      if (result.outcome.kind === 'ack') {
        const answer = depositResponse.safeParse(result.body);
        logger.info(
          {
            depositId,
            requestedBy,
            status: answer.success ? answer.data.deposit.status : undefined,
            creditAttempt: answer.success ? answer.data.deposit.creditAttempt : undefined,
          },
          `deposit ${depositId} retried by ${requestedBy}: the next credit run credits it`,
        );
      }
      return result.outcome;
    },
  };
}

export function depositRetryJob(): PackJob {
  return {
    catalog: {
      name: DEPOSIT_RETRY_JOB,
      domain: EXCHANGE_DOMAIN,
      aliases: [WORKER_TYPES.deposits],
      enableFlag: 'ENABLE_EXCHANGE_DEPOSITS',
      enabledByDefault: false,
    },
    definition: depositRetryDefinition,
  };
}
