// The Escrow pack: expiry at expiresAt (escrow.expire), moderator decisions (escrow.adjudicate) and the sweeper that
// finds escrows whose escrow.created never came and raises the expiry backlog alert (escrow.sweep).
import type { JobPack } from '../catalog.js';
import type { SweepOptions } from '../due-sweeper.js';
import { sweepSchedule } from '../due-sweeper.js';
import { ESCROW_ADJUDICATE, escrowAdjudicateJob } from './escrow-adjudicate.js';
import { ESCROW_EXPIRE, escrowExpireJob } from './escrow-expire.js';
import type { EscrowExpireOptions } from './escrow-expire.js';
import { ESCROW_SWEEP, escrowSweepJob } from './escrow-sweep.js';
import type { ExpiryBacklogOptions } from './escrow-sweep.js';
import { registerEscrowEvents } from './events.js';

export interface EscrowPackOptions {
  readonly expire: EscrowExpireOptions;
  readonly sweep: SweepOptions;
  readonly backlog: ExpiryBacklogOptions;
}

// not in the seeds: chosen here
export const defaultEscrowPackOptions: EscrowPackOptions = {
  expire: { jitterMs: 1_000, notYetRetryMs: 60_000 },
  sweep: { pageSize: 500, maxPages: 20 },
  backlog: { threshold: 100, graceMs: 300_000 },
};

/**
 * Every job shares ENABLE_ESCROW (seed 001 §4) and runs only when it is true or PROCESSORS names the job: they need
 * SVC_ESCROW_URL and SERVICE_JWT_PRIVATE_JWK, which a bare environment lacks.
 */
export function createEscrowPack(options: Partial<EscrowPackOptions> = {}): JobPack {
  const settings = { ...defaultEscrowPackOptions, ...options };
  return {
    name: 'escrow',
    register: registerEscrowEvents,
    jobs: [
      {
        catalog: {
          name: ESCROW_EXPIRE,
          domain: 'escrow',
          enableFlag: 'ENABLE_ESCROW',
          enabledByDefault: false,
        },
        definition: (context) => escrowExpireJob(context, settings.expire),
      },
      {
        catalog: {
          name: ESCROW_ADJUDICATE,
          domain: 'escrow',
          enableFlag: 'ENABLE_ESCROW',
          enabledByDefault: false,
        },
        definition: (context) => escrowAdjudicateJob(context),
      },
      {
        catalog: { name: ESCROW_SWEEP, domain: 'cron', enableFlag: 'ENABLE_ESCROW', enabledByDefault: false },
        // not in the seeds: chosen here (every 5 minutes; CRON_ESCROW_SWEEP overrides)
        schedules: [sweepSchedule(ESCROW_SWEEP, '*/5 * * * *')],
        definition: (context) =>
          escrowSweepJob(context, { sweep: settings.sweep, backlog: settings.backlog }),
      },
    ],
  };
}

export const escrowPack: JobPack = createEscrowPack();
