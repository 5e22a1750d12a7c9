// The one payload every system carries: a 200-byte JSON bet (fixed-width fields) and its zod schema.
import { monotonicFactory } from 'ulid';
import { z } from 'zod';
import { minorUnits } from '../src/events/envelope.js';

export const PAYLOAD_BYTES = 200;
export const EVENT_TYPE = 'bet.opened';
export const DOMAIN = 'playhub';

export interface BetPayload {
  readonly betId: string;
  readonly userId: string;
  readonly market: string;
  readonly side: 'home' | 'away';
  readonly stake: string;
  readonly currency: string;
  readonly odds: string;
  /** performance.now() of the intended publish, fixed width; latency runs read it back in the handler. */
  readonly sentAt: string;
  readonly pad: string;
}

const SENT_AT_WIDTH = 16;

/** Full-pipeline validation: what a real job would check about a bet before calling its service. */
export const betPayloadSchema = z.strictObject({
  betId: z.string().regex(/^bet-\d{10}$/),
  userId: z.string().regex(/^user-\d{8}$/),
  market: z.string().min(1).max(64),
  side: z.enum(['home', 'away']),
  stake: minorUnits,
  currency: z.string().length(4),
  odds: z.string().regex(/^\d+\.\d{2}$/),
  sentAt: z.string().length(SENT_AT_WIDTH),
  pad: z.string(),
});

function fields(i: number, sentAt: number): Omit<BetPayload, 'pad'> {
  return {
    betId: `bet-${String(i % 1e10).padStart(10, '0')}`,
    userId: `user-${String(i % 1e8).padStart(8, '0')}`,
    market: 'cfb.total.points',
    side: i % 2 === 0 ? 'home' : 'away',
    stake: String(10_000 + (i % 90_000)),
    currency: 'USDT',
    odds: '1.95',
    sentAt: sentAt.toFixed(3).padStart(SENT_AT_WIDTH, '0'),
  };
}

// Every field above has a fixed width, so one pad length makes every payload exactly PAYLOAD_BYTES.
const PAD = 'x'.repeat(PAYLOAD_BYTES - JSON.stringify({ ...fields(0, 0), pad: '' }).length);

export function betPayload(i: number, sentAt = 0): BetPayload {
  return { ...fields(i, sentAt), pad: PAD };
}

export function sentAtOf(payload: { sentAt: string }): number {
  return Number(payload.sentAt);
}

/** Event ids: ULIDs for every system, so each carries the same identity to dedupe on. */
export function eventIds(): () => string {
  return monotonicFactory();
}

/** Fails loudly if the payload drifts from its advertised size (a benchmark claim depends on it). */
export function assertPayloadSize(): void {
  for (const [i, sentAt] of [
    [0, 0],
    [123_456_789, 98_765.4321],
    [9_999_999_999, 1e9],
  ] as const) {
    const bytes = Buffer.byteLength(JSON.stringify(betPayload(i, sentAt)));
    if (bytes !== PAYLOAD_BYTES) throw new Error(`payload ${i} is ${bytes} bytes, expected ${PAYLOAD_BYTES}`);
  }
}

/** Calls the no-op sink received (read at the end of a run only as a sanity check). */
export const sinkCalls = { count: 0 };

/** Stands in for an HTTP call to the bet's service: an async function that only counts the call. */
export async function noopSink(payload: BetPayload, idempotencyKey: string): Promise<void> {
  if (payload.betId === '' || idempotencyKey === '') throw new Error('sink called without a bet or a key');
  sinkCalls.count += 1;
}
