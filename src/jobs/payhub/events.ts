// Payhub reconciliation's event contracts on the `payhub` streams: the alert the ledger recalc raises. Its jobs run
// on cron ticks, so nothing here is read by a job of this pack.
import { z } from 'zod';
import type { EventRegistry } from '../../events/registry.js';
import { assetCode, isoTimestamp } from '../contract-fields.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts, EventDataMap } from '../event-contract.js';

export const PAYHUB_DOMAIN = 'payhub';

/** Most accounts one alert names; `violations` still counts them all. */
export const LEDGER_ALERT_MAX_ACCOUNTS = 100;

/**
 * payhub.ledger.recalc found ledger invariants that do not hold as of `asOf` (its cron tick). Amounts stay in the
 * worker's log and in Payhub; the alert names the accounts for whoever follows up (Admin, on-call).
 */
// not in the seeds: chosen here (001 §2 says "verify invariants & emit alerts")
export const ledgerViolationsFoundData = z.strictObject({
  asOf: isoTimestamp,
  checkedAccounts: z.number().int().min(0),
  violations: z.number().int().min(1),
  accounts: z
    .array(z.strictObject({ account: z.string().min(1).max(256), asset: assetCode }))
    .min(1)
    .max(LEDGER_ALERT_MAX_ACCOUNTS),
});

/**
 * payhub.orphan_holds.gc and payhub.ledger.recalc read the scheduler's `cron.tick` (schedules
 * `payhub.orphan_holds.gc` from CRON_RECON_ORPHAN_HOLDS, seed 001 §4, and `payhub.ledger.recalc`).
 */
export const payhubEvents = {
  'ledger.violations_found': {
    schema: ledgerViolationsFoundData,
    producer: 'workers',
    key: 'asOf',
    seed: '001 §2 payhub.ledger.recalc ("verify invariants & emit alerts"); fields chosen here',
  },
} as const satisfies EventContracts;

export type PayhubEventMap = EventDataMap<typeof payhubEvents>;

export function registerPayhubEvents(registry: EventRegistry): void {
  registerEventContracts(registry, PAYHUB_DOMAIN, payhubEvents);
}
