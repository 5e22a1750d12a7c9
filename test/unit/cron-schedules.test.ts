// Schedules resolved from job declarations and CRON_* variables (every problem reported at once, naming the
// variable), and the cron.tick event: deterministic id, valid envelope, registered data schema.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseEnvelope, ULID_PATTERN } from '../../src/events/envelope.js';
import { createEventRegistry } from '../../src/events/registry.js';
import {
  cronVariableOf,
  resolveCronSchedules,
  unusedCronVariables,
} from '../../src/scheduler/cron-schedules.js';
import { cronTickEvent, cronTickEventId, registerCronTick } from '../../src/scheduler/cron-tick-event.js';

const seedEnv = {
  CRON_CFB_PRICE_SAMPLE: '*/1 * * * *',
  CRON_RECON_ORPHAN_HOLDS: '*/10 * * * *',
};

describe('resolveCronSchedules', () => {
  it('reads the seed 001 variables, with policies from the declarations and their defaults', () => {
    const schedules = resolveCronSchedules(
      [
        { name: 'cfb.price.sample', overlap: 'skip', missed: 'skip', targetGroup: 'cfb.price.sample' },
        { name: 'payhub.orphan_holds.gc', variable: 'CRON_RECON_ORPHAN_HOLDS' },
      ],
      seedEnv,
    );
    expect(schedules.map(({ spec, ...rest }) => ({ ...rest, kind: spec.kind }))).toEqual([
      {
        name: 'cfb.price.sample',
        variable: 'CRON_CFB_PRICE_SAMPLE',
        overlap: 'skip',
        missed: 'skip',
        targetGroup: 'cfb.price.sample',
        kind: 'cron',
      },
      {
        name: 'payhub.orphan_holds.gc',
        variable: 'CRON_RECON_ORPHAN_HOLDS',
        overlap: 'skip',
        missed: 'once',
        targetGroup: undefined,
        kind: 'cron',
      },
    ]);
    expect(cronVariableOf('cfb.price-sample')).toBe('CRON_CFB_PRICE_SAMPLE');
  });

  it('uses the declared default when the variable is unset, and the default zone', () => {
    const [schedule] = resolveCronSchedules(
      [{ name: 'ticker.update', defaultSpec: '*/5 * * * * *' }],
      {},
      {
        defaultZone: 'Europe/Berlin',
      },
    );
    expect(schedule?.spec).toMatchObject({
      kind: 'cron',
      zone: 'Europe/Berlin',
      expression: '*/5 * * * * *',
    });
  });

  it('reports every bad variable at once, naming each', () => {
    let error: unknown;
    try {
      resolveCronSchedules(
        [
          { name: 'a.one' },
          { name: 'b.two', variable: 'CRON_B' },
          { name: 'c.three', variable: 'CRON_C' },
          { name: 'd.four', variable: 'CRON_D', missed: { all: { withinMs: 0 } } },
        ],
        { CRON_B: '*/0 * * * *', CRON_C: 'TZ=Europe/Berln 0 2 * * *', CRON_D: '30' },
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect((error as ConfigError).variable).toBe('CRON_A_ONE');
    expect(message).toContain('4 problems');
    expect(message).toContain('CRON_A_ONE: is not set');
    expect(message).toContain('CRON_B: is not a valid cron expression');
    expect(message).toContain('CRON_C: unknown time zone "Europe/Berln"');
    expect(message).toContain('d.four: missed policy must be');
  });

  it('refuses an invalid default zone naming its variable, and duplicate or badly named schedules', () => {
    expect(() =>
      resolveCronSchedules([], {}, { defaultZone: 'Mars/Base', defaultZoneVariable: 'SCHEDULER_TIME_ZONE' }),
    ).toThrow(/^SCHEDULER_TIME_ZONE: unknown time zone "Mars\/Base"/);
    expect(() => resolveCronSchedules([{ name: 'x.y' }, { name: 'x.y' }], { CRON_X_Y: '30s' })).toThrow(
      /declared twice/,
    );
    expect(() => resolveCronSchedules([{ name: 'bad name' }], { CRON_BAD_NAME: '30s' })).toThrow(ConfigError);
    expect(() =>
      resolveCronSchedules([{ name: 'x.z', overlap: 'queue' as never }], { CRON_X_Z: '30s' }),
    ).toThrow(/overlap must be 'skip' or 'allow'/);
  });

  it('lists CRON_* variables nothing reads', () => {
    expect(unusedCronVariables([{ name: 'cfb.price.sample' }], { ...seedEnv, CRON_TYPO: '30' })).toEqual([
      'CRON_RECON_ORPHAN_HOLDS',
      'CRON_TYPO',
    ]);
  });
});

describe('cron.tick event', () => {
  const tickMs = Date.parse('2031-03-30T01:00:00Z');

  it('has an id that is a ULID of the tick, the same for the same schedule and tick only', () => {
    const id = cronTickEventId('cfb.price.sample', tickMs);
    expect(id).toMatch(ULID_PATTERN);
    expect(cronTickEventId('cfb.price.sample', tickMs)).toBe(id);
    expect(cronTickEventId('cfb.price.sample', tickMs + 1000)).not.toBe(id);
    expect(cronTickEventId('recon.orphan_holds', tickMs)).not.toBe(id);
    // the time part decodes back to the tick
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const time = Array.from(id.slice(0, 10)).reduce((ms, c) => ms * 32 + alphabet.indexOf(c), 0);
    expect(time).toBe(tickMs);
  });

  it('has an id of its own per timer version > 0 (a forced re-run), and the plain id at version 0', () => {
    const plain = cronTickEventId('cfb.price.sample', tickMs);
    expect(cronTickEventId('cfb.price.sample', tickMs, 0)).toBe(plain);
    const forced = cronTickEventId('cfb.price.sample', tickMs, 1_900_000_000_000);
    expect(forced).toMatch(ULID_PATTERN);
    expect(forced).not.toBe(plain);
    expect(forced.slice(0, 10)).toBe(plain.slice(0, 10));
    expect(cronTickEventId('cfb.price.sample', tickMs, 1_900_000_000_001)).not.toBe(forced);
  });

  it('is a valid envelope whose data passes the registered schema', () => {
    const registry = createEventRegistry();
    registerCronTick(registry);
    const event = cronTickEvent({
      schedule: 'cfb.price.sample',
      tickMs,
      scheduledAtMs: tickMs - 10_000,
      cause: 'schedule',
      source: 'workers',
      targetGroup: 'cfb.price.sample',
    });
    expect(registry.validate(parseEnvelope(event))).toEqual({
      id: cronTickEventId('cfb.price.sample', tickMs),
      type: 'cron.tick',
      key: 'cfb.price.sample',
      occurredAt: '2031-03-30T01:00:00.000Z',
      source: 'workers',
      schemaVersion: 1,
      data: {
        schedule: 'cfb.price.sample',
        tick: '2031-03-30T01:00:00.000Z',
        scheduledAt: '2031-03-30T00:59:50.000Z',
        cause: 'schedule',
      },
      targetGroup: 'cfb.price.sample',
    });
    expect(registry.domainOf('cron.tick')).toBe('cron');
  });
});
