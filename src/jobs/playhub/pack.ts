// The PlayHub pack: CFB settlement at T_end (cfb.settle), head-to-head match finalization (games.settlement) and the
// sweeper that finds bets whose bet.opened never came (playhub.sweep).
import type { JobPack } from '../catalog.js';
import type { SweepOptions } from '../due-sweeper.js';
import { sweepSchedule } from '../due-sweeper.js';
import { CFB_SETTLE, cfbSettleJob } from './cfb-settle.js';
import type { CfbSettleOptions } from './cfb-settle.js';
import { registerPlayhubEvents } from './events.js';
import { GAMES_SETTLEMENT, gamesSettlementJob } from './games-settlement.js';
import type { GamesSettlementOptions } from './games-settlement.js';
import { PLAYHUB_SWEEP, playhubSweepJob } from './playhub-sweep.js';

export interface PlayhubPackOptions {
  readonly cfbSettle: CfbSettleOptions;
  readonly gamesSettlement: GamesSettlementOptions;
  readonly sweep: SweepOptions;
}

// not in the seeds: chosen here
export const defaultPlayhubPackOptions: PlayhubPackOptions = {
  cfbSettle: { jitterMs: 5_000, oracleRetryMs: 15_000 },
  gamesSettlement: { pollMs: 30_000, pollLimit: 60 },
  sweep: { pageSize: 500, maxPages: 20 },
};

/**
 * Jobs run only when their ENABLE_* flag is true (seed 001 §4: ENABLE_CFB_SETTLE, ENABLE_GAMES_SETTLEMENT) or
 * PROCESSORS names them: they need SVC_*_URL and SERVICE_JWT_PRIVATE_JWK, which a bare environment lacks.
 */
export function createPlayhubPack(options: Partial<PlayhubPackOptions> = {}): JobPack {
  const settings = { ...defaultPlayhubPackOptions, ...options };
  return {
    name: 'playhub',
    register: registerPlayhubEvents,
    jobs: [
      {
        catalog: {
          name: CFB_SETTLE,
          domain: 'playhub',
          enableFlag: 'ENABLE_CFB_SETTLE',
          enabledByDefault: false,
        },
        definition: (context) => cfbSettleJob(context, settings.cfbSettle),
      },
      {
        catalog: {
          name: GAMES_SETTLEMENT,
          domain: 'playhub',
          enableFlag: 'ENABLE_GAMES_SETTLEMENT',
          enabledByDefault: false,
        },
        definition: (context) => gamesSettlementJob(context, settings.gamesSettlement),
      },
      {
        // the sweeper feeds cfb.settle, so the same flag turns both on or off (PROCESSORS can still split them)
        catalog: {
          name: PLAYHUB_SWEEP,
          domain: 'cron',
          enableFlag: 'ENABLE_CFB_SETTLE',
          enabledByDefault: false,
          aliases: ['cfb'],
        },
        // not in the seeds: chosen here (bets are short-lived: every minute, CRON_PLAYHUB_SWEEP overrides)
        schedules: [sweepSchedule(PLAYHUB_SWEEP, '*/1 * * * *')],
        definition: (context) => playhubSweepJob(context, settings.sweep),
      },
    ],
  };
}

export const playhubPack: JobPack = createPlayhubPack();
