// playhub.sweep: each tick asks PlayHub for open bets past T_end and republishes their `bet.opened` (deterministic
// ids), so bets whose event never came (created before go-live, a producer crash) are settled by cfb.settle too.
import type { JobDefinition } from '../../pipelines/job-definition.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { dueSweeperJob } from '../due-sweeper.js';
import type { DueSweep, SweepOptions } from '../due-sweeper.js';
import type { PackContext } from '../pack-context.js';
import { cfbDueBets, cfbDueBetsResponse } from './api.js';
import type { PlayhubEventMap } from './events.js';

export const PLAYHUB_SWEEP = 'playhub.sweep';

type BetOpened = PlayhubEventMap['bet.opened'];

export function playhubSweep(options: SweepOptions): DueSweep<BetOpened> {
  return {
    name: PLAYHUB_SWEEP,
    service: 'playhub',
    path: cfbDueBets.path,
    responseSchema: cfbDueBetsResponse,
    eventType: 'bet.opened',
    keyOf: (bet) => bet.betId,
    dueMsOf: (bet) => Date.parse(bet.tEnd),
    // cfb.settle's timer id and version: the same bet and T_end is the same fact
    identityOf: (bet) => [bet.betId, String(Date.parse(bet.tEnd))],
    ...options,
  };
}

export function playhubSweepJob(context: PackContext, options: SweepOptions): JobDefinition<CronTickData> {
  return dueSweeperJob(context, playhubSweep(options));
}
