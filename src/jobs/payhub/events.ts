// Payhub reconciliation's event contracts on the `payhub` streams: none yet, its jobs run on cron ticks.
import type { EventRegistry } from '../../events/registry.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts } from '../event-contract.js';

export const PAYHUB_DOMAIN = 'payhub';

/**
 * payhub.orphan_holds.gc and payhub.ledger.recalc read the scheduler's `cron.tick` (schedules
 * `payhub.orphan_holds.gc` from CRON_RECON_ORPHAN_HOLDS, seed 001 §4, and `payhub.ledger.recalc`), so no type here.
 */
export const payhubEvents = {} as const satisfies EventContracts;

export function registerPayhubEvents(registry: EventRegistry): void {
  registerEventContracts(registry, PAYHUB_DOMAIN, payhubEvents);
}
