// Funding's internal endpoints the jobs call: release one vesting epoch, and the scan of due schedules.
import { z } from 'zod';
import { amountMinor, dueQuery, entityId, isoTimestamp, nextCursor } from '../contract-fields.js';
import { commonStatuses, mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';
import { vestingScheduledData } from './events.js';

// not in the seeds: chosen here (Funding computes the releasable units: it owns the schedule, 001 §1)
export const vestingReleaseRequest = z.strictObject({
  vestingId: entityId,
  epoch: z.number().int().min(0),
  releaseAt: isoTimestamp,
});

/**
 * What was released for the epoch; `remainingAmount` > 0 is a partial release. `next` is the epoch to schedule
 * next, with the units scheduled for it (the remainder included): vesting.release publishes it as the next
 * `vesting.scheduled` fact, whose `amount` it becomes. Null when the schedule is complete.
 */
// not in the seeds: chosen here
export const vestingReleaseResponse = z.object({
  vestingId: entityId,
  epoch: z.number().int().min(0),
  releasedAmount: amountMinor,
  remainingAmount: amountMinor,
  next: z.object({ epoch: z.number().int().min(0), releaseAt: isoTimestamp, amount: amountMinor }).nullable(),
});

export const vestingRelease = {
  service: 'funding',
  method: 'POST',
  path: '/internal/v1/vesting/release',
  seed: '000 §3.3, §4.3 ("200 released or 204 nothing"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'vesting.release', parts: ['vestingId', 'epoch'] },
  request: vestingReleaseRequest,
  response: vestingReleaseResponse,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning:
        'released (fully or partially); publish `next` as the next vesting.scheduled when it is not null. A repeated ' +
        'key should replay this answer: a 409 ALREADY_DONE says nothing of `next`, which is left to the sweeper',
      body: vestingReleaseResponse,
    },
    204: { outcome: 'ack', meaning: 'nothing to release for this epoch; the sweeper finds later epochs' },
  },
} as const satisfies InternalEndpoint;

/** Schedules with nextReleaseAt <= before: the sweeper republishes `vesting.scheduled` for each. */
// not in the seeds: chosen here
export const vestingDueResponse = z.object({ items: z.array(vestingScheduledData).max(500), nextCursor });

export const vestingDue = {
  service: 'funding',
  method: 'GET',
  path: '/internal/v1/vesting/due',
  seed: '000 §3.3; DESIGN.md §3 sweepers; path not in the seeds: chosen here',
  query: dueQuery,
  response: vestingDueResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'a page of due vesting epochs', body: vestingDueResponse },
  },
} as const satisfies InternalEndpoint;
