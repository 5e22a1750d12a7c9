// The Funding pack: vesting epochs released at nextReleaseAt (vesting.release) and the sweeper that finds schedules
// whose vesting.scheduled never came (funding.sweep).
import type { JobPack } from '../catalog.js';
import type { SweepOptions } from '../due-sweeper.js';
import { sweepSchedule } from '../due-sweeper.js';
import { registerFundingEvents } from './events.js';
import { FUNDING_SWEEP, fundingSweepJob } from './funding-sweep.js';
import { VESTING_RELEASE, vestingReleaseJob } from './vesting-release.js';

export interface FundingPackOptions {
  readonly sweep: SweepOptions;
}

// not in the seeds: chosen here
export const defaultFundingPackOptions: FundingPackOptions = { sweep: { pageSize: 500, maxPages: 20 } };

/**
 * Both jobs share ENABLE_FUNDING (not in the seeds: chosen here, like ENABLE_ESCROW) and run only when it is true or
 * PROCESSORS names the job: they need SVC_FUNDING_URL and SERVICE_JWT_PRIVATE_JWK, which a bare environment lacks.
 */
export function createFundingPack(options: Partial<FundingPackOptions> = {}): JobPack {
  const settings = { ...defaultFundingPackOptions, ...options };
  return {
    name: 'funding',
    register: registerFundingEvents,
    jobs: [
      {
        catalog: {
          name: VESTING_RELEASE,
          domain: 'funding',
          enableFlag: 'ENABLE_FUNDING',
          enabledByDefault: false,
        },
        definition: (context) => vestingReleaseJob(context),
      },
      {
        catalog: {
          name: FUNDING_SWEEP,
          domain: 'cron',
          enableFlag: 'ENABLE_FUNDING',
          enabledByDefault: false,
          aliases: ['vesting'],
        },
        // not in the seeds: chosen here (every 10 minutes; CRON_FUNDING_SWEEP overrides)
        schedules: [sweepSchedule(FUNDING_SWEEP, '*/10 * * * *')],
        definition: (context) => fundingSweepJob(context, settings.sweep),
      },
    ],
  };
}

export const fundingPack: JobPack = createFundingPack();
