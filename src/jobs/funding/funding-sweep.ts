// funding.sweep: each tick asks Funding for vesting schedules with nextReleaseAt <= now and republishes their
// `vesting.scheduled` (the ids vesting.release uses too), so epochs whose event never came are released.
import type { JobDefinition } from '../../pipelines/job-definition.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { dueSweeperJob } from '../due-sweeper.js';
import type { DueSweep, SweepOptions } from '../due-sweeper.js';
import type { PackContext } from '../pack-context.js';
import { vestingDue, vestingDueResponse } from './api.js';
import type { FundingEventMap } from './events.js';
import { vestingIdentity } from './vesting-release.js';

export const FUNDING_SWEEP = 'funding.sweep';

type VestingScheduled = FundingEventMap['vesting.scheduled'];

export function fundingSweep(options: SweepOptions): DueSweep<VestingScheduled> {
  return {
    name: FUNDING_SWEEP,
    service: 'funding',
    path: vestingDue.path,
    responseSchema: vestingDueResponse,
    eventType: 'vesting.scheduled',
    keyOf: (vesting) => vesting.vestingId,
    dueMsOf: (vesting) => Date.parse(vesting.nextReleaseAt),
    identityOf: vestingIdentity,
    ...options,
  };
}

export function fundingSweepJob(context: PackContext, options: SweepOptions): JobDefinition<CronTickData> {
  return dueSweeperJob(context, fundingSweep(options));
}
