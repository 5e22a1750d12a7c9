// Funding's event contracts (vesting epochs scheduled) on the `funding` streams.
import { z } from 'zod';
import type { EventRegistry } from '../../events/registry.js';
import { amountMinor, assetCode, entityId, isoTimestamp } from '../contract-fields.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts, EventDataMap } from '../event-contract.js';

export const FUNDING_DOMAIN = 'funding';

/** A vesting epoch is scheduled: vesting.release schedules a timer at `nextReleaseAt` for (vestingId, epoch). */
export const vestingScheduledData = z.strictObject({
  vestingId: entityId,
  // not in the seeds: chosen here (000 §3.3 keys releases by vestingId plus epoch; epochs count from 0)
  epoch: z.number().int().min(0),
  nextReleaseAt: isoTimestamp,
  /** Units scheduled for this epoch; Funding decides what is releasable (partial releases). */
  amount: amountMinor,
  asset: assetCode,
});

export const fundingEvents = {
  'vesting.scheduled': {
    schema: vestingScheduledData,
    producer: 'funding',
    key: 'vestingId',
    seed: '000 §3.3 (VestingSchedule nextReleaseAt, vestingId plus epoch)',
  },
} as const satisfies EventContracts;

export type FundingEventMap = EventDataMap<typeof fundingEvents>;

export function registerFundingEvents(registry: EventRegistry): void {
  registerEventContracts(registry, FUNDING_DOMAIN, fundingEvents);
}
