// The exchange's event contracts (seed 002) on the `exchange` streams: trades from the matching engine (candles), the
// facts the workers publish (order expired, balance unlocked, deposit confirmed/credited/failed) and operator requests.
import { z } from 'zod';
import type { EventRegistry } from '../../events/registry.js';
import { amountMinor, assetCode, entityId, isoTimestamp } from '../contract-fields.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts, EventDataMap } from '../event-contract.js';

export const EXCHANGE_DOMAIN = 'exchange';

/** A chain id as the exchange names it, e.g. `bitcoin`, `ethereum`, `bsc`, `polygon`, `solana`. */
// not in the seeds: chosen here (002 lists the chains by name only)
export const chainId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected a chain id like ethereum');

export const orderSide = z.enum(['BUY', 'SELL']);

/**
 * A trade executed by the matching engine: `exchange.candles` applies it to the pair's bar of every interval.
 * `price` is in minor units of the quote asset per one whole base unit, `quantity` in minor units of the base asset.
 */
// not in the seeds: chosen here (002 §2 aggregates "trades"; their event and fields are ours)
export const tradeExecutedData = z.strictObject({
  tradeId: entityId,
  pairId: entityId,
  price: amountMinor,
  quantity: amountMinor,
  executedAt: isoTimestamp,
  takerSide: orderSide.optional(),
});

/** 002 §3 `OrderExpiredEvent`: an order passed its `expiresAt`, left the book and its balance was unlocked. */
// fields not in the seeds: chosen here
export const orderExpiredData = z.strictObject({
  orderId: entityId,
  userId: entityId,
  pairId: entityId,
  side: orderSide,
  price: amountMinor,
  quantity: amountMinor,
  /** Quantity still open when the order left the book (minor units of the base asset). */
  remainingQuantity: amountMinor,
  expiresAt: isoTimestamp,
  /** The expiration run (its cron tick) that expired it. */
  expiredAt: isoTimestamp,
});

/** 002 §3 `BalanceUnlockedEvent`: the locked balance of an expired order went back to available. */
// fields not in the seeds: chosen here
export const balanceUnlockedData = z.strictObject({
  userId: entityId,
  asset: assetCode,
  /** Buy: remaining quantity x price + fee (quote asset); sell: remaining quantity (base asset). */
  amount: amountMinor,
  reason: z.literal('order_expired'),
  orderId: entityId,
});

const depositFields = {
  depositId: entityId,
  userId: entityId,
  chain: chainId,
  asset: assetCode,
  amount: amountMinor,
  txHash: z.string().min(1).max(128),
};

/** 002 §4 `DepositConfirmedEvent`: a deposit reached its chain's required confirmations. */
export const depositConfirmedData = z.strictObject({
  ...depositFields,
  confirmations: z.number().int().min(0),
  requiredConfirmations: z.number().int().min(1),
});

/** 002 §4 `DepositCreditedEvent`: a confirmed deposit was credited to the user's wallet. */
export const depositCreditedData = z.strictObject(depositFields);

/** 002 §4 `BalanceCreditedEvent`: the wallet balance credited for a deposit. */
export const balanceCreditedData = z.strictObject({
  userId: entityId,
  asset: assetCode,
  amount: amountMinor,
  reason: z.literal('deposit'),
  depositId: entityId,
});

/** 002 §4 "Failed to credit": the deposit was marked FAILED; an operator may retry it (deposit.retry_requested). */
// not in the seeds: chosen here (002 only logs it)
export const depositFailedData = z.strictObject({
  ...depositFields,
  reason: z.string().min(1).max(500),
  /** Which credit attempt failed (0 first, +1 per manual retry). */
  creditAttempt: z.number().int().min(0),
});

/** 002 §4 "Can be manually retried": an operator asks for a FAILED deposit to be credited again. */
// not in the seeds: chosen here (the seed names no command)
export const depositRetryRequestedData = z.strictObject({
  depositId: entityId,
  /** Who asked (operator id), for the exchange's audit. */
  requestedBy: z.string().min(1).max(128),
  reason: z.string().min(1).max(500).optional(),
});

export const exchangeEvents = {
  'trade.executed': {
    schema: tradeExecutedData,
    producer: 'exchange',
    key: 'pairId',
    seed: '002 §2 (candles aggregate trades); the event is not in the seeds: chosen here',
  },
  'order.expired': {
    schema: orderExpiredData,
    producer: 'workers',
    key: 'orderId',
    seed: '002 §3 OrderExpiredEvent',
  },
  'balance.unlocked': {
    schema: balanceUnlockedData,
    producer: 'workers',
    key: 'userId',
    seed: '002 §3 BalanceUnlockedEvent',
  },
  'deposit.confirmed': {
    schema: depositConfirmedData,
    producer: 'workers',
    key: 'depositId',
    seed: '002 §4 DepositConfirmedEvent',
  },
  'deposit.credited': {
    schema: depositCreditedData,
    producer: 'workers',
    key: 'depositId',
    seed: '002 §4 DepositCreditedEvent',
  },
  'balance.credited': {
    schema: balanceCreditedData,
    producer: 'workers',
    key: 'userId',
    seed: '002 §4 BalanceCreditedEvent',
  },
  'deposit.failed': {
    schema: depositFailedData,
    producer: 'workers',
    key: 'depositId',
    seed: '002 §4 "Deposit marked as FAILED"; the event is not in the seeds: chosen here',
  },
  'deposit.retry_requested': {
    schema: depositRetryRequestedData,
    producer: 'admin',
    key: 'depositId',
    seed: '002 §4 "Can be manually retried"; the event is not in the seeds: chosen here',
  },
} as const satisfies EventContracts;

export type ExchangeEventMap = EventDataMap<typeof exchangeEvents>;

export function registerExchangeEvents(registry: EventRegistry): void {
  registerEventContracts(registry, EXCHANGE_DOMAIN, exchangeEvents);
}
