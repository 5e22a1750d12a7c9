// The deposits event contracts (seed 004) on the `deposits` streams: an M-Pesa payment to complete, and an on-chain
// USDC deposit session to watch until its transfer is confirmed or the session expires.
import { z } from 'zod';
import type { EventRegistry } from '../../events/registry.js';
import { amountMinor, entityId, isoTimestamp } from '../contract-fields.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts, EventDataMap } from '../event-contract.js';

export const DEPOSITS_DOMAIN = 'deposits';

/** An EVM address: 0x and 20 bytes of hex, any case (checksummed or not); compared lower-cased. */
export const evmAddress = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte hex address');

/** M-Pesa confirmed a deposit's payment (its callback): deposit.completion completes the deposit. */
export const mpesaPaidData = z.strictObject({
  /** The deposit transaction the Deposits service created at initiation (seed 004 job data `transactionId`). */
  transactionId: entityId,
  /** The chain the deposit is written to (seed 004 job data `blockchainData.chain`, `base`). */
  chain: z.string().regex(/^[a-z0-9-]{1,32}$/, 'expected a chain id like base'),
});

/** A user opened an on-chain USDC deposit session: deposit.onchain_confirmation watches Base for its transfer. */
export const depositIntentCreatedData = z.strictObject({
  depositSessionId: entityId,
  userId: entityId,
  /** Where the user sends USDC; a Transfer log to this address of exactly `amount` is the deposit. */
  depositAddress: evmAddress,
  /** USDC in integer minor units (6 decimals): `"25000000"` = 25 USDC. */
  // amountMinor has no leading zeros, so '0' is the only zero (and a failed format check cannot make this throw)
  amount: amountMinor.refine((amount) => amount !== '0', 'expected an amount above 0'),
  // not in the seeds: chosen here (workers own no business data, so the fact states where the scan starts)
  /** The chain head when the session was created: Transfer logs are looked for from this block on. */
  fromBlock: z.number().int().min(0),
  /** Session start: it expires DEPOSIT_SESSION_TTL_MS (seed 004: 60 minutes) later. */
  createdAt: isoTimestamp,
});

export const depositsEvents = {
  'deposit.mpesa_paid': {
    schema: mpesaPaidData,
    producer: 'deposits',
    key: 'transactionId',
    seed: '004 M-Pesa Deposit Flow (callback adds a deposit-completion job); type name chosen here',
  },
  'deposit.intent_created': {
    schema: depositIntentCreatedData,
    producer: 'deposits',
    key: 'depositSessionId',
    seed: '004 Onchain USDC Deposit Flow (createDepositIntent adds the repeating job); fields chosen here',
  },
} as const satisfies EventContracts;

export type DepositsEventMap = EventDataMap<typeof depositsEvents>;

export function registerDepositsEvents(registry: EventRegistry): void {
  registerEventContracts(registry, DEPOSITS_DOMAIN, depositsEvents);
}
