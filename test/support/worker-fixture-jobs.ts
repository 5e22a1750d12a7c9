// A tiny job pack for worker tests: one event type and one job, built by a config factory, that records what it handled.
import { ulid } from 'ulid';
import { z } from 'zod';
import type { EventEnvelope } from '../../src/events/envelope.js';
import type { JobPack } from '../../src/jobs/catalog.js';
import { outcome } from '../../src/streams/outcome.js';

export const FIXTURE_DOMAIN = 'fixture';
export const FIXTURE_JOB = 'fixture.record';
export const FIXTURE_TYPE = 'fixture.recorded';
export const fixtureRecorded = z.strictObject({ n: z.number().int() });
type FixtureData = z.infer<typeof fixtureRecorded>;

export interface FixturePack {
  readonly pack: JobPack;
  /** Events the job handled, in order, with the service id of the config that built the job. */
  readonly handled: { event: EventEnvelope<FixtureData>; serviceId: string }[];
}

export function createFixturePack(): FixturePack {
  const handled: FixturePack['handled'] = [];
  const pack: JobPack = {
    name: 'fixture',
    register(registry) {
      registry.register({ type: FIXTURE_TYPE, domain: FIXTURE_DOMAIN, schema: fixtureRecorded });
    },
    jobs: [
      {
        catalog: { name: FIXTURE_JOB, domain: FIXTURE_DOMAIN, enableFlag: 'ENABLE_FIXTURE_RECORD' },
        definition: ({ config }) => ({
          name: FIXTURE_JOB,
          domain: FIXTURE_DOMAIN,
          types: [FIXTURE_TYPE],
          handler: async (event: EventEnvelope<FixtureData>) => {
            handled.push({ event, serviceId: config.service.id });
            return outcome.ack();
          },
        }),
      },
    ],
  };
  return { pack, handled };
}

export function fixtureEvent(n: number): EventEnvelope<FixtureData> {
  return {
    id: ulid(),
    type: FIXTURE_TYPE,
    key: `item-${n}`,
    occurredAt: new Date().toISOString(),
    source: 'tests',
    schemaVersion: 1,
    data: { n },
  };
}

export const FIXTURE_CRON_JOB = 'fixture.sweep';

/** A cron job on the `cron` domain: schedule `fixture.sweep` (CRON_FIXTURE_SWEEP), recording the ticks it ran. */
export function createCronFixturePack(options: { runMs?: number } = {}): {
  pack: JobPack;
  ticks: string[];
} {
  const ticks: string[] = [];
  const pack: JobPack = {
    name: 'fixture-cron',
    register() {
      // cron.tick is registered by the worker itself
    },
    jobs: [
      {
        catalog: { name: FIXTURE_CRON_JOB, domain: 'cron', enableFlag: 'ENABLE_FIXTURE_SWEEP' },
        schedules: [{ name: 'fixture.sweep', overlap: 'skip', missed: 'skip' }],
        definition: {
          name: FIXTURE_CRON_JOB,
          domain: 'cron',
          types: ['cron.tick'],
          handler: async (event: EventEnvelope<{ tick: string }>) => {
            ticks.push(event.data.tick);
            if (options.runMs !== undefined) await new Promise((r) => setTimeout(r, options.runMs));
            return outcome.ack();
          },
        },
      },
    ],
  };
  return { pack, ticks };
}
