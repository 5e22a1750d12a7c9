// Schedule values from CRON_*: every accepted form (seed 001 and 002 schedules included) and the errors that
// name the variable.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { describeCronSpec, parseCronSpec } from '../../src/scheduler/cron-spec.js';
import { ticksBetween } from '../../src/scheduler/cron-ticks.js';

const T0 = Date.UTC(2025, 0, 6, 0, 0, 0); // a Monday

function firstTicks(value: string, count = 3): string[] {
  const spec = parseCronSpec('CRON_TEST', value);
  return ticksBetween(spec, T0 - 1, T0 + 40 * 86_400_000, count).map((tick) => new Date(tick).toISOString());
}

function configError(value: string): ConfigError {
  try {
    parseCronSpec('CRON_RECON_ORPHAN_HOLDS', value);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected "${value}" to be refused`);
}

describe('parseCronSpec', () => {
  it('accepts the seed 001 schedules, inline comment included', () => {
    expect(firstTicks('*/1 * * * *')).toEqual([
      '2025-01-06T00:00:00.000Z',
      '2025-01-06T00:01:00.000Z',
      '2025-01-06T00:02:00.000Z',
    ]);
    expect(firstTicks('*/10 * * * *   # every 10 minutes', 2)).toEqual([
      '2025-01-06T00:00:00.000Z',
      '2025-01-06T00:10:00.000Z',
    ]);
  });

  it('accepts the seed 002 six-field expressions (seconds first) and their NestJS equivalents', () => {
    expect(firstTicks('*/5 * * * * *', 2)).toEqual(['2025-01-06T00:00:00.000Z', '2025-01-06T00:00:05.000Z']);
    expect(firstTicks('0 */5 * * * *', 2)).toEqual(['2025-01-06T00:00:00.000Z', '2025-01-06T00:05:00.000Z']);
    expect(firstTicks('0 0 */4 * * *', 2)).toEqual(['2025-01-06T00:00:00.000Z', '2025-01-06T04:00:00.000Z']);
    expect(firstTicks('0 0 0 * * 1', 2)).toEqual(['2025-01-06T00:00:00.000Z', '2025-01-13T00:00:00.000Z']);
    expect(firstTicks('0 0 0 1 * *', 1)).toEqual(['2025-02-01T00:00:00.000Z']);
    expect(firstTicks('@hourly', 2)).toEqual(['2025-01-06T00:00:00.000Z', '2025-01-06T01:00:00.000Z']);
  });

  it('accepts plain intervals in seconds (seed 001 "cron or seconds") and with units, aligned to the epoch', () => {
    expect(parseCronSpec('CRON_A', '30')).toEqual({ kind: 'interval', variable: 'CRON_A', everyMs: 30_000 });
    expect(parseCronSpec('CRON_A', '30s')).toMatchObject({ everyMs: 30_000 });
    expect(parseCronSpec('CRON_A', '5m')).toMatchObject({ everyMs: 300_000 });
    expect(parseCronSpec('CRON_A', '1h')).toMatchObject({ everyMs: 3_600_000 });
    expect(parseCronSpec('CRON_A', '1d')).toMatchObject({ everyMs: 86_400_000 });
    const spec = parseCronSpec('CRON_A', '7m');
    expect(ticksBetween(spec, 1000, 900_000)).toEqual([420_000, 840_000]);
  });

  it('reads a TZ= or CRON_TZ= prefix; the default zone is UTC', () => {
    expect(parseCronSpec('CRON_A', 'TZ=Europe/Berlin 0 2 * * *')).toMatchObject({
      kind: 'cron',
      zone: 'Europe/Berlin',
      expression: '0 2 * * *',
    });
    expect(parseCronSpec('CRON_A', 'CRON_TZ=America/New_York 30 1 * * *')).toMatchObject({
      zone: 'America/New_York',
    });
    expect(parseCronSpec('CRON_A', '0 2 * * *')).toMatchObject({ zone: 'UTC' });
    expect(parseCronSpec('CRON_A', '0 2 * * *', { defaultZone: 'Asia/Tokyo' })).toMatchObject({
      zone: 'Asia/Tokyo',
    });
    expect(firstTicks('TZ=Europe/Berlin 0 2 * * *', 1)).toEqual(['2025-01-06T01:00:00.000Z']);
    expect(describeCronSpec(parseCronSpec('CRON_A', 'TZ=Europe/Berlin 0 2 * * *'))).toBe(
      'TZ=Europe/Berlin 0 2 * * *',
    );
    expect(describeCronSpec(parseCronSpec('CRON_A', '90'))).toBe('every 90s');
  });

  it('marks expressions whose hour field names every hour (they fire twice in a DST fold)', () => {
    expect(parseCronSpec('CRON_A', '*/15 * * * *')).toMatchObject({ everyHour: true });
    expect(parseCronSpec('CRON_A', '0 0-23 * * *')).toMatchObject({ everyHour: true });
    expect(parseCronSpec('CRON_A', '30 1 * * *')).toMatchObject({ everyHour: false });
  });

  it('resolves H fields from the hash seed, so every replica gets the same minute', () => {
    const a = parseCronSpec('CRON_A', 'H * * * *', { hashSeed: 'recon.orphan_holds' });
    const b = parseCronSpec('CRON_A', 'H * * * *', { hashSeed: 'recon.orphan_holds' });
    expect(ticksBetween(a, T0, T0 + 7_200_000)).toEqual(ticksBetween(b, T0, T0 + 7_200_000));
  });

  it.each([
    ['', 'is empty'],
    ['   # only a comment', 'is empty'],
    ['* * * *', 'has 4 fields'],
    ['* * * * * * *', 'has 7 fields'],
    ['61 * * * *', 'is not a valid cron expression'],
    ['0 0 30 2 *', 'is not a valid cron expression'],
    ['@midnight', 'is not a known macro'],
    ['every minute', 'has 2 fields'],
    ['0s', 'outside 1s..366d'],
    ['400d', 'outside 1s..366d'],
    ['TZ=Europe/Berlin 30s', 'gives a time zone for the plain interval'],
    ['TZ=Europe/Berlin', 'names the zone Europe/Berlin but no expression'],
  ])('refuses %j naming the variable, what is wrong and an example', (value, what) => {
    const error = configError(value);
    expect(error.variable).toBe('CRON_RECON_ORPHAN_HOLDS');
    expect(error.message).toMatch(/^CRON_RECON_ORPHAN_HOLDS: /);
    expect(error.message).toContain(what);
    expect(error.message).toContain('expected e.g.');
  });

  it.each(['TZ=Europe/Berln 0 2 * * *', 'TZ=+02:00 0 2 * * *', 'CRON_TZ=Mars/Olympus 0 2 * * *'])(
    'refuses the unknown zone in %j',
    (value) => {
      const error = configError(value);
      expect(error.variable).toBe('CRON_RECON_ORPHAN_HOLDS');
      expect(error.message).toMatch(/^CRON_RECON_ORPHAN_HOLDS: unknown time zone/);
      expect(error.message).toContain('Europe/Berlin');
    },
  );
});
