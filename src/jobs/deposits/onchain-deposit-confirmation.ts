// deposit.onchain_confirmation: seed 004's repeating job as a repeat (every 30 s, limit 120): each poll reads the
// Base head and the USDC Transfer logs to the session's address; confirmed -> credit once and stop; not yet -> later;
// session expired or polls used up -> the timeout path (a last look at the chain, then the expiry call).
import type { EventEnvelope } from '../../events/envelope.js';
import type { DeferCause } from '../../pipelines/deferral.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, type Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import {
  depositsOnchainCredit,
  depositsOnchainExpire,
  onchainCreditResponse,
  onchainExpireResponse,
} from './api.js';
import { confirmationsOf, createBaseChain, findDepositTransfer } from './base-chain.js';
import type { TokenTransfer } from './base-chain.js';
import { requireBaseChain } from './deposits-settings.js';
import type { DepositsSettings } from './deposits-settings.js';
import type { DepositsEventMap } from './events.js';

export const ONCHAIN_DEPOSIT_CONFIRMATION = 'deposit.onchain_confirmation';

/** The provider name of the RPC in provider-health signals. */
export const BASE_RPC_PROVIDER = 'base-rpc';

type DepositIntent = DepositsEventMap['deposit.intent_created'];

/** When the session expires: its start plus the session length (seed 004: 60 minutes). */
export function sessionExpiryOf(intent: DepositIntent, sessionTtlMs: number): number {
  return Date.parse(intent.createdAt) + sessionTtlMs;
}

/** One credit per session, whatever the poll or attempt that found the transfer. */
export function onchainCreditKey(intent: DepositIntent): string {
  return idempotencyKey(depositsOnchainCredit.idempotencyKey.scope, intent.depositSessionId);
}

export function onchainExpiryKey(intent: DepositIntent): string {
  return idempotencyKey(depositsOnchainExpire.idempotencyKey.scope, intent.depositSessionId);
}

/**
 * Polls are counted by re-emissions (`outcome.later`), so RPC failures are not polls: a failed read saw nothing, it
 * is retried after the backoff (never longer than one poll interval) without using up the limit, and the session's
 * deadline, checked before every attempt, still ends the watch on time.
 */
export function onchainDepositConfirmationJob(
  context: PackContext,
  settings: DepositsSettings,
): JobDefinition<DepositIntent> {
  const sink = serviceSinkFor(context, ONCHAIN_DEPOSIT_CONFIRMATION, 'deposits');
  const { rpcUrl, usdcAddress } = requireBaseChain(settings, ONCHAIN_DEPOSIT_CONFIRMATION);
  const base = createBaseChain(context.external(), rpcUrl);
  const required = BigInt(settings.confirmationsRequired);

  /** Reads the chain, reporting the RPC's health; a failure throws (a retry), never counts as a poll. */
  async function observe(intent: DepositIntent, signal: AbortSignal) {
    const started = context.clock.now();
    const seconds = (): number => (context.clock.now() - started) / 1000;
    try {
      const head = await base.headBlock(signal);
      const fromBlock = BigInt(intent.fromBlock);
      // a lagging node behind the session's first block has nothing to show yet
      const transfers =
        head < fromBlock
          ? []
          : await base.transfersTo(
              { token: usdcAddress, to: intent.depositAddress, fromBlock, toBlock: head },
              signal,
            );
      context.signals.providerPolled(BASE_RPC_PROVIDER, true, seconds());
      return { head, transfers };
    } catch (error) {
      context.signals.providerPolled(BASE_RPC_PROVIDER, false, seconds());
      throw error;
    }
  }

  /** The session's transfer once it has the confirmations required, else why it is still waited for. */
  async function confirmedTransfer(
    intent: DepositIntent,
    signal: AbortSignal,
  ): Promise<{ readonly transfer: TokenTransfer } | { readonly waiting: string }> {
    const { head, transfers } = await observe(intent, signal);
    const transfer = findDepositTransfer(transfers, {
      token: usdcAddress,
      to: intent.depositAddress,
      amount: BigInt(intent.amount),
    });
    if (transfer === undefined) return { waiting: 'no matching USDC transfer yet' };
    const confirmations = confirmationsOf(head, transfer.blockNumber);
    return confirmations < required
      ? { waiting: `${confirmations} of ${required} confirmations` }
      : { transfer };
  }

  function credit(
    event: EventEnvelope<DepositIntent>,
    transfer: TokenTransfer,
    signal: AbortSignal,
  ): Promise<Outcome> {
    return sink.outcomeOf(
      {
        service: 'deposits',
        path: depositsOnchainCredit.path,
        body: {
          depositSessionId: event.data.depositSessionId,
          txHash: transfer.txHash,
          logIndex: transfer.logIndex,
          blockNumber: transfer.blockNumber.toString(),
          amount: transfer.amount.toString(),
        },
        idempotencyKey: onchainCreditKey(event.data),
        responseSchema: onchainCreditResponse,
      },
      { event, signal },
    );
  }

  async function poll(event: EventEnvelope<DepositIntent>, signal: AbortSignal): Promise<Outcome> {
    const found = await confirmedTransfer(event.data, signal);
    return 'transfer' in found ? credit(event, found.transfer, signal) : outcome.later(found.waiting);
  }

  /**
   * The timeout path: one last read of the chain, so a transfer confirmed after the last poll (or one whose credit
   * call was still being retried at the deadline) is credited; otherwise the session is expired at the service.
   */
  async function expire(
    event: EventEnvelope<DepositIntent>,
    cause: DeferCause,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const found = await confirmedTransfer(event.data, signal);
    if ('transfer' in found) return credit(event, found.transfer, signal);
    return sink.outcomeOf(
      {
        service: 'deposits',
        path: depositsOnchainExpire.path,
        body: {
          depositSessionId: event.data.depositSessionId,
          reason: cause === 'limit' ? 'poll_limit_reached' : 'session_expired',
        },
        idempotencyKey: onchainExpiryKey(event.data),
        responseSchema: onchainExpireResponse,
      },
      { event, signal },
    );
  }

  return {
    name: ONCHAIN_DEPOSIT_CONFIRMATION,
    domain: 'deposits',
    types: ['deposit.intent_created'],
    // seed 004: "heavy blockchain operations: ONCHAIN_QUEUE.process(3, processor)"
    concurrency: 3,
    retry: {
      // RPC outages are bounded by the session, not by a count: up to one failure per poll the limit allows
      maxAttempts: settings.pollLimit,
      backoff: { maxMs: Math.min(settings.pollEveryMs, context.config.retry.backoffMaxMs) },
    },
    handler: (event, ctx) => poll(event, ctx.signal),
    defer: {
      everyMs: settings.pollEveryMs,
      limit: settings.pollLimit,
      // not in the seeds: chosen here (spreads the polls of sessions opened together)
      jitterMs: Math.floor(settings.pollEveryMs / 10),
      // the first poll always reads the chain, even for a session announced late; its repeats end at the expiry
      deadline: (event) =>
        event.repetition === undefined ? undefined : sessionExpiryOf(event.data, settings.sessionTtlMs),
      onTimeout: expire,
    },
  };
}
