// The event one cron tick fires: type `cron.tick`, key = schedule name, and an id derived from (schedule, tick) so
// every replica builds the same event for the same tick (plus the timer version for a forced re-run).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EventEnvelope } from '../events/envelope.js';
import { occurredAtSchema } from '../events/envelope.js';
import type { EventRegistry } from '../events/registry.js';
import { tickIso } from './cron-ticks.js';

export const CRON_TICK_TYPE = 'cron.tick';
export const DEFAULT_CRON_DOMAIN = 'cron';

/** Why a tick is on the wheel: its schedule, a missed-tick policy after downtime, or a backfill command. */
export const CRON_TICK_CAUSES = ['schedule', 'missed', 'backfill'] as const;
export type CronTickCause = (typeof CRON_TICK_CAUSES)[number];

export const cronTickDataSchema = z.object({
  /** The schedule name. */
  schedule: z.string().min(1),
  /** The tick instant (ISO-8601 UTC): what the run is for. */
  tick: occurredAtSchema,
  /** When the tick was put on the timer wheel (the first replica to do so). */
  scheduledAt: occurredAtSchema,
  cause: z.enum(CRON_TICK_CAUSES),
});
export type CronTickData = z.infer<typeof cronTickDataSchema>;

/** Registers `cron.tick` in the domain whose partitions carry the ticks (default `cron`). */
export function registerCronTick(registry: EventRegistry, domain = DEFAULT_CRON_DOMAIN): void {
  registry.register({ type: CRON_TICK_TYPE, domain, schema: cronTickDataSchema });
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID whose time part is the tick and whose 80 "random" bits hash (schedule, tick): the same on every replica.
 * A forced re-run (timer version > 0) hashes the version too, so the group's dedupe marks of the tick's earlier
 * run do not ack it unrun; version 0 keeps the plain (schedule, tick) id.
 */
export function cronTickEventId(schedule: string, tickMs: number, version = 0): string {
  let time = '';
  for (let rest = tickMs, i = 0; i < 10; i++, rest = Math.floor(rest / 32))
    time = CROCKFORD.charAt(rest % 32) + time;
  const identity = `${CRON_TICK_TYPE}\n${schedule}\n${tickMs}` + (version > 0 ? `\n${version}` : '');
  const digest = createHash('sha256').update(identity).digest();
  let bits = 0n;
  for (let i = 0; i < 10; i++) bits = (bits << 8n) | BigInt(digest[i] ?? 0);
  let random = '';
  for (let i = 0; i < 16; i++, bits >>= 5n) random = CROCKFORD.charAt(Number(bits & 31n)) + random;
  return time + random;
}

export interface CronTickEventInput {
  readonly schedule: string;
  readonly tickMs: number;
  readonly scheduledAtMs: number;
  readonly cause: CronTickCause;
  /** Service id (SERVICE_ID). */
  readonly source: string;
  readonly targetGroup?: string | undefined;
  /** The timer version (a forced backfill's); > 0 gives the event an id of its own. Default 0. */
  readonly version?: number | undefined;
}

export function cronTickEvent(input: CronTickEventInput): EventEnvelope<CronTickData> {
  const tick = tickIso(input.tickMs);
  return {
    id: cronTickEventId(input.schedule, input.tickMs, input.version),
    type: CRON_TICK_TYPE,
    key: input.schedule,
    occurredAt: tick,
    source: input.source,
    schemaVersion: 1,
    data: { schedule: input.schedule, tick, scheduledAt: tickIso(input.scheduledAtMs), cause: input.cause },
    ...(input.targetGroup === undefined ? {} : { targetGroup: input.targetGroup }),
  };
}
