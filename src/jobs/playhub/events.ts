// PlayHub's event contracts (CFB bets, head-to-head games) on the `playhub` streams.
import { z } from 'zod';
import type { EventRegistry } from '../../events/registry.js';
import { amountMinor, assetCode, entityId, isoTimestamp } from '../contract-fields.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts, EventDataMap } from '../event-contract.js';

export const PLAYHUB_DOMAIN = 'playhub';

/** A CFB bet was opened: cfb.settle schedules its settlement timer at `tEnd`. */
export const betOpenedData = z
  .strictObject({
    betId: entityId,
    stake: amountMinor,
    asset: assetCode,
    /** The seeds' `T_end`: when the bet can be settled. */
    tEnd: isoTimestamp,
    // not in the seeds: chosen here (PlayHub owns the window policy of 000 §3.2, so it states the end)
    windowEndsAt: isoTimestamp,
  })
  .refine((bet) => Date.parse(bet.windowEndsAt) >= Date.parse(bet.tEnd), {
    message: 'expected windowEndsAt at or after tEnd',
    path: ['windowEndsAt'],
  });

/** A CFB bet was cancelled before `tEnd`: cfb.settle cancels its timer. */
export const betCancelledData = z.strictObject({
  betId: entityId,
  // not in the seeds: chosen here
  reason: z.string().min(1).max(200).optional(),
});

/** A game server's result callback failed: games.settlement finalizes the match from PlayHub state. */
export const gameCallbackFailedData = z.strictObject({
  matchId: entityId,
  // not in the seeds: chosen here
  reason: z.string().min(1).max(500),
});

export const playhubEvents = {
  'bet.opened': {
    schema: betOpenedData,
    producer: 'playhub',
    key: 'betId',
    seed: '000 §3.2 (settlement at T_end for each open bet); 001 §7 cfb.settle',
  },
  'bet.cancelled': {
    schema: betCancelledData,
    producer: 'playhub',
    key: 'betId',
    seed: 'not in the seeds: chosen here (issue 6: bet.cancelled cancels the timer)',
  },
  'game.callback_failed': {
    schema: gameCallbackFailedData,
    producer: 'playhub',
    key: 'matchId',
    seed: '001 §7 games.settlement ("on callback failure from a game server")',
  },
} as const satisfies EventContracts;

export type PlayhubEventMap = EventDataMap<typeof playhubEvents>;

export function registerPlayhubEvents(registry: EventRegistry): void {
  registerEventContracts(registry, PLAYHUB_DOMAIN, playhubEvents);
}
