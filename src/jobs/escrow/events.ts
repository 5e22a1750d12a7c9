// Escrow's event contracts (created, released, moderator decision; the workers' expiry backlog alert) on the
// `escrow` streams.
import { z } from 'zod';
import type { EventRegistry } from '../../events/registry.js';
import { amountMinor, assetCode, entityId, isoTimestamp } from '../contract-fields.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts, EventDataMap } from '../event-contract.js';

export const ESCROW_DOMAIN = 'escrow';

/** An escrow was funded: escrow.expire schedules its expiry timer at `expiresAt`. */
export const escrowCreatedData = z.strictObject({
  escrowId: entityId,
  amount: amountMinor,
  asset: assetCode,
  expiresAt: isoTimestamp,
});

/** An escrow was released to the payee: escrow.expire cancels its timer. */
export const escrowReleasedData = z.strictObject({ escrowId: entityId });

/** How a moderator resolved a disputed escrow. */
// not in the seeds: chosen here
export const escrowResolution = z.enum(['release', 'refund', 'split']);

/** A moderator decided a dispute: escrow.adjudicate applies it through Escrow. */
// not in the seeds: chosen here (001 §7 says only "moderator decision")
export const escrowDecisionMadeData = z
  .strictObject({
    escrowId: entityId,
    decisionId: entityId,
    resolution: escrowResolution,
    /** Minor units to the payee and back to the payer; together the escrowed amount. */
    payeeAmount: amountMinor,
    payerAmount: amountMinor,
    moderatorId: entityId,
  })
  .refine(
    (d) =>
      (d.resolution === 'release' && d.payerAmount === '0') ||
      (d.resolution === 'refund' && d.payeeAmount === '0') ||
      (d.resolution === 'split' && d.payeeAmount !== '0' && d.payerAmount !== '0'),
    {
      message: 'expected release: payerAmount 0; refund: payeeAmount 0; split: both non-zero',
      path: ['resolution'],
    },
  );

/**
 * Expiries pile up: the escrow sweeper found at least `threshold` open escrows whose `expiresAt` passed more than
 * `graceMs` ago (their expiry timers should have fired by then); admin is notified (seed 000 §3.4).
 */
// not in the seeds: chosen here (000 §3.4 says only "Notify Admin if backlog builds")
export const escrowExpiryBacklogData = z.strictObject({
  /** The sweeper tick that saw the backlog; one alert per tick. */
  observedAt: isoTimestamp,
  overdue: z.number().int().min(1),
  threshold: z.number().int().min(1),
  graceMs: z.number().int().min(0),
  oldestExpiresAt: isoTimestamp,
  /** The scan stopped at its page limit: at least `overdue` are overdue. */
  truncated: z.boolean(),
});

export const escrowEvents = {
  'escrow.created': {
    schema: escrowCreatedData,
    producer: 'escrow',
    key: 'escrowId',
    seed: '000 §3.4; 001 §7 escrow.expire ("at expiresAt")',
  },
  'escrow.released': {
    schema: escrowReleasedData,
    producer: 'escrow',
    key: 'escrowId',
    seed: 'not in the seeds: chosen here (issue 6: escrow.released cancels the expiry)',
  },
  'escrow.decision_made': {
    schema: escrowDecisionMadeData,
    producer: 'escrow',
    key: 'escrowId',
    seed: '001 §7 escrow.adjudicate ("moderator decision")',
  },
  'escrow.expiry_backlog': {
    schema: escrowExpiryBacklogData,
    producer: 'workers',
    key: 'observedAt',
    seed: '000 §3.4 ("Notify Admin if backlog builds"); fields chosen here',
  },
} as const satisfies EventContracts;

export type EscrowEventMap = EventDataMap<typeof escrowEvents>;

export function registerEscrowEvents(registry: EventRegistry): void {
  registerEventContracts(registry, ESCROW_DOMAIN, escrowEvents);
}
