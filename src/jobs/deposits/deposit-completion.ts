// deposit.completion: completes an M-Pesa deposit once M-Pesa confirmed the payment (seed 004's deposit-completion
// queue): the Deposits service writes it on chain and credits the portfolio; 5 attempts with backoff, then the DLQ.
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { depositsMpesaComplete, mpesaCompleteResponse } from './api.js';
import type { DepositsEventMap } from './events.js';

export const DEPOSIT_COMPLETION = 'deposit.completion';

/** Seed 004: "If blockchain RPC fails, job retries automatically (5 attempts)". */
export const DEPOSIT_COMPLETION_MAX_ATTEMPTS = 5;

type MpesaPaid = DepositsEventMap['deposit.mpesa_paid'];

/** One deposit, one key, whatever the attempt: the service completes it once. */
export function depositCompletionKey(payment: MpesaPaid): string {
  return idempotencyKey(depositsMpesaComplete.idempotencyKey.scope, payment.transactionId);
}

export function depositCompletionJob(context: PackContext): JobDefinition<MpesaPaid> {
  const sink = serviceSinkFor(context, DEPOSIT_COMPLETION, 'deposits');
  return {
    name: DEPOSIT_COMPLETION,
    domain: 'deposits',
    types: ['deposit.mpesa_paid'],
    // seed 004: DEPOSIT_COMPLETION_QUEUE.process(5, processor)
    concurrency: 5,
    // the backoff is the worker's (BACKOFF_DEFAULT_MS 2 s, doubling): seed 004's `exponential, delay 2000`
    retry: { maxAttempts: DEPOSIT_COMPLETION_MAX_ATTEMPTS },
    handler: (event, ctx) =>
      sink.outcomeOf(
        {
          service: 'deposits',
          path: depositsMpesaComplete.path,
          body: { transactionId: event.data.transactionId, chain: event.data.chain },
          idempotencyKey: depositCompletionKey(event.data),
          responseSchema: mpesaCompleteResponse,
        },
        { event, signal: ctx.signal },
      ),
  };
}
