// The deposit facts the exchange workers publish (seed 002 §4), with ids derived from the deposit, so the same fact
// published by a retried run, or by the crediting run re-announcing a confirmation, is written once.
import type { EventEnvelope } from '../../events/envelope.js';
import { derivedEventId } from '../due-sweeper.js';
import type { Deposit } from './exchange-client.js';
import type { ExchangeEventMap } from './events.js';

type Data = ExchangeEventMap;

function fieldsOf(deposit: Deposit) {
  const { depositId, userId, chain, asset, amount, txHash } = deposit;
  return { depositId, userId, chain, asset, amount, txHash };
}

function envelope<T extends keyof Data>(
  type: T,
  deposit: Deposit,
  key: string,
  data: Data[T],
  occurredAt: string,
  source: string,
  ...identity: string[]
): EventEnvelope<Data[T]> {
  return {
    id: derivedEventId(Date.parse(deposit.createdAt), type, deposit.depositId, ...identity),
    type,
    key,
    occurredAt,
    source,
    schemaVersion: 1,
    data,
  };
}

export function depositConfirmedEvent(
  deposit: Deposit,
  confirmations: number,
  requiredConfirmations: number,
  occurredAt: string,
  source: string,
): EventEnvelope<Data['deposit.confirmed']> {
  const data = { ...fieldsOf(deposit), confirmations, requiredConfirmations };
  return envelope('deposit.confirmed', deposit, deposit.depositId, data, occurredAt, source);
}

/** deposit.credited and balance.credited of one credited deposit. */
export function depositCreditedEvents(deposit: Deposit, occurredAt: string, source: string): EventEnvelope[] {
  const { depositId, userId, asset, amount } = deposit;
  return [
    envelope('deposit.credited', deposit, depositId, fieldsOf(deposit), occurredAt, source),
    envelope(
      'balance.credited',
      deposit,
      userId,
      { userId, asset, amount, reason: 'deposit', depositId },
      occurredAt,
      source,
    ),
  ];
}

export function depositFailedEvent(
  deposit: Deposit,
  reason: string,
  occurredAt: string,
  source: string,
): EventEnvelope<Data['deposit.failed']> {
  const data = { ...fieldsOf(deposit), reason, creditAttempt: deposit.creditAttempt };
  const attempt = String(deposit.creditAttempt);
  return envelope('deposit.failed', deposit, deposit.depositId, data, occurredAt, source, attempt);
}
