// Cron ticks across DST: two years of Europe/Berlin and America/New_York compared with ticks computed directly
// with luxon (property test over random windows, biased towards the transitions), plus sparse schedules.
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { parseCronSpec } from '../../src/scheduler/cron-spec.js';
import { cronTimerId, nextTick, previousTick, ticksBetween } from '../../src/scheduler/cron-ticks.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const FROM = Date.UTC(2025, 0, 1);
const UNTIL = Date.UTC(2027, 0, 1);
const ZONES = ['Europe/Berlin', 'America/New_York'] as const;
/** The DST changes of both zones in 2025 and 2026 (UTC). */
const TRANSITIONS = [
  '2025-03-09T07:00:00Z',
  '2025-03-30T01:00:00Z',
  '2025-10-26T01:00:00Z',
  '2025-11-02T06:00:00Z',
  '2026-03-08T07:00:00Z',
  '2026-03-29T01:00:00Z',
  '2026-10-25T01:00:00Z',
  '2026-11-01T06:00:00Z',
].map((iso) => Date.parse(iso));

/** A schedule and, written independently, which local wall times it names (weekday: 1 = Monday .. 7 = Sunday). */
interface Case {
  readonly expression: string;
  readonly seconds: readonly number[];
  readonly matches: (hour: number, minute: number, second: number, weekday: number) => boolean;
  /** Fires at both occurrences of a repeated wall time (hour field = every hour). */
  readonly everyHour: boolean;
}

const CASES: readonly Case[] = [
  { expression: '0 2 * * *', seconds: [0], matches: (h, m) => h === 2 && m === 0, everyHour: false },
  { expression: '30 1 * * *', seconds: [0], matches: (h, m) => h === 1 && m === 30, everyHour: false },
  { expression: '30 2 * * *', seconds: [0], matches: (h, m) => h === 2 && m === 30, everyHour: false },
  { expression: '*/15 * * * *', seconds: [0], matches: (_h, m) => m % 15 === 0, everyHour: true },
  { expression: '0 * * * *', seconds: [0], matches: (_h, m) => m === 0, everyHour: true },
  {
    expression: '0 1-3 * * *',
    seconds: [0],
    matches: (h, m) => h >= 1 && h <= 3 && m === 0,
    everyHour: false,
  },
  {
    expression: '45 2 * * 0',
    seconds: [0],
    matches: (h, m, _s, wd) => h === 2 && m === 45 && wd === 7,
    everyHour: false,
  },
  { expression: '*/30 0 * * * *', seconds: [0, 30], matches: (_h, m) => m === 0, everyHour: true },
];

function sameWall(a: DateTime, b: DateTime): boolean {
  return a.day === b.day && a.hour === b.hour && a.minute === b.minute && a.second === b.second;
}

/**
 * The reference: every local day, every matching wall time, resolved by luxon. A skipped wall time is where
 * luxon puts it (pushed forward by the gap); a repeated one fires at its first occurrence, and also at its
 * second when the hour field names every hour. Days whose offset luxon reports unchanged from 00:00 to 23:59:59
 * use that offset directly (DateTime.fromObject costs ~60 us).
 */
function referenceTicks(zone: string, c: Case, fromMs: number, untilMs: number): number[] {
  const ticks = new Set<number>();
  let day = DateTime.fromMillis(fromMs, { zone }).startOf('day').minus({ days: 1 });
  const lastDay = DateTime.fromMillis(untilMs, { zone }).plus({ days: 1 });
  for (; day <= lastDay; day = day.plus({ days: 1 })) {
    const date = { year: day.year, month: day.month, day: day.day };
    const startOffset = DateTime.fromObject({ ...date, hour: 0 }, { zone }).offset;
    const endOffset = DateTime.fromObject({ ...date, hour: 23, minute: 59, second: 59 }, { zone }).offset;
    for (let hour = 0; hour < 24; hour++) {
      for (let minute = 0; minute < 60; minute++) {
        for (const second of c.seconds) {
          if (!c.matches(hour, minute, second, day.weekday)) continue;
          if (startOffset === endOffset) {
            const wall = Date.UTC(date.year, date.month - 1, date.day, hour, minute, second);
            ticks.add(wall - startOffset * 60_000);
            continue;
          }
          const dt = DateTime.fromObject({ ...date, hour, minute, second }, { zone });
          if (dt.hour !== hour || dt.minute !== minute || dt.day !== date.day) {
            ticks.add(dt.toMillis()); // skipped by the clock change: luxon pushed it forward
            continue;
          }
          const other = [dt.minus({ hours: 1 }), dt.plus({ hours: 1 })].find((o) => sameWall(o, dt));
          if (!other) ticks.add(dt.toMillis());
          else {
            ticks.add(Math.min(dt.toMillis(), other.toMillis()));
            if (c.everyHour) ticks.add(Math.max(dt.toMillis(), other.toMillis()));
          }
        }
      }
    }
  }
  return [...ticks].filter((t) => t > fromMs && t <= untilMs).sort((a, b) => a - b);
}

const iso = (ticks: readonly number[]): string[] => ticks.map((t) => new Date(t).toISOString());

describe('cron ticks across DST', () => {
  it('fires at the documented instants on the transition days', () => {
    const berlin2am = parseCronSpec('CRON_A', 'TZ=Europe/Berlin 0 2 * * *');
    // spring forward: 02:00 does not exist, the tick is 03:00 CEST
    expect(
      iso(ticksBetween(berlin2am, Date.parse('2025-03-29T12:00Z'), Date.parse('2025-03-31T12:00Z'))),
    ).toEqual(['2025-03-30T01:00:00.000Z', '2025-03-31T00:00:00.000Z']);
    // fall back: 02:00 happens twice, a fixed-hour schedule fires once (first occurrence, CEST)
    expect(
      iso(ticksBetween(berlin2am, Date.parse('2025-10-25T12:00Z'), Date.parse('2025-10-26T12:00Z'))),
    ).toEqual(['2025-10-26T00:00:00.000Z']);
    const ny130 = parseCronSpec('CRON_A', 'TZ=America/New_York 30 1 * * *');
    expect(
      iso(ticksBetween(ny130, Date.parse('2025-11-01T12:00Z'), Date.parse('2025-11-02T12:00Z'))),
    ).toEqual(['2025-11-02T05:30:00.000Z']);
    const nyQuarter = parseCronSpec('CRON_A', 'TZ=America/New_York */15 * * * *');
    // every-hour schedules keep their rhythm through the repeated hour
    expect(
      ticksBetween(nyQuarter, Date.parse('2025-11-02T04:00Z'), Date.parse('2025-11-02T08:00Z')),
    ).toHaveLength(16);
    // and skip the missing hour
    expect(
      ticksBetween(nyQuarter, Date.parse('2025-03-09T04:00Z'), Date.parse('2025-03-09T08:00Z')),
    ).toHaveLength(16);
    expect(cronTimerId('recon.orphan_holds', Date.parse('2025-03-30T01:00Z'))).toBe(
      'cron:recon.orphan_holds:2025-03-30T01:00:00.000Z',
    );
  });

  describe.each(ZONES)('%s', (zone) => {
    const reference = new Map(CASES.map((c) => [c, referenceTicks(zone, c, FROM, UNTIL)]));
    const specOf = (c: Case) => parseCronSpec('CRON_A', `TZ=${zone} ${c.expression}`);

    it.each(CASES)('two years of "$expression" equal the luxon reference', (c) => {
      const expected = reference.get(c) ?? [];
      expect(expected.length).toBeGreaterThan(100);
      expect(iso(ticksBetween(specOf(c), FROM, UNTIL))).toEqual(iso(expected));
    });

    it('any window, next and previous tick agree with the reference (property)', () => {
      const nearTransition = fc
        .tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -36 * HOUR, max: 36 * HOUR }))
        .map(([t, d]) => t + d);
      const anywhere = fc.integer({ min: FROM + 5 * DAY, max: UNTIL - 5 * DAY });
      fc.assert(
        fc.property(
          fc.constantFrom(...CASES),
          fc.oneof(nearTransition, anywhere),
          fc.integer({ min: 1, max: 3 * DAY }),
          fc.integer({ min: 1, max: 20 }),
          (c, after, span, limit) => {
            const spec = specOf(c);
            const all = reference.get(c) ?? [];
            const expected = all.filter((t) => t > after && t <= after + span);
            expect(ticksBetween(spec, after, after + span)).toEqual(expected);
            expect(ticksBetween(spec, after, after + span, limit)).toEqual(expected.slice(0, limit));
            expect(nextTick(spec, after)).toBe(all.find((t) => t > after));
            expect(previousTick(spec, after, after - 4 * DAY)).toBe(
              all.findLast((t) => t <= after && t > after - 4 * DAY),
            );
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});

describe('sparse and interval schedules', () => {
  it('finds a Feb 29 tick years away in both directions', () => {
    const leap = parseCronSpec('CRON_A', 'TZ=Europe/Berlin 0 0 29 2 *');
    expect(iso([nextTick(leap, Date.parse('2025-01-01T00:00Z')) ?? 0])).toEqual(['2028-02-28T23:00:00.000Z']);
    expect(iso([previousTick(leap, Date.parse('2027-06-01T00:00Z'), 0) ?? 0])).toEqual([
      '2024-02-28T23:00:00.000Z',
    ]);
    expect(
      previousTick(leap, Date.parse('2027-06-01T00:00Z'), Date.parse('2025-01-01T00:00Z')),
    ).toBeUndefined();
    expect(iso(ticksBetween(leap, Date.parse('2020-01-01T00:00Z'), Date.parse('2030-01-01T00:00Z')))).toEqual(
      ['2020-02-28T23:00:00.000Z', '2024-02-28T23:00:00.000Z', '2028-02-28T23:00:00.000Z'],
    );
  });

  it('aligns intervals to the epoch whatever the start', () => {
    const every30 = parseCronSpec('CRON_A', '30');
    fc.assert(
      fc.property(
        fc.integer({ min: FROM, max: UNTIL }),
        fc.integer({ min: 1, max: 10 * 60_000 }),
        (after, span) => {
          const ticks = ticksBetween(every30, after, after + span);
          for (const tick of ticks) expect(tick % 30_000).toBe(0);
          if (ticks.length > 0) expect(ticks[0]).toBe(nextTick(every30, after));
          expect(ticks.length).toBe(Math.floor((after + span) / 30_000) - Math.floor(after / 30_000));
          const previous = previousTick(every30, after, after - 30_000);
          expect(previous).toBe(Math.floor(after / 30_000) * 30_000);
        },
      ),
    );
  });

  it('returns nothing for an empty or reversed range', () => {
    const spec = parseCronSpec('CRON_A', '*/5 * * * * *');
    expect(ticksBetween(spec, FROM, FROM)).toEqual([]);
    expect(ticksBetween(spec, FROM, FROM - 1)).toEqual([]);
    expect(() => ticksBetween(spec, Number.NaN, FROM)).toThrow(/finite/);
  });
});
