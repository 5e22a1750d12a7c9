// Parses one schedule value from the environment (CRON_*): a 5- or 6-field cron expression or a plain interval,
// with an optional IANA time zone prefix; anything wrong is a ConfigError naming the variable.
import { CronExpressionParser } from 'cron-parser';
import type { CronFieldCollection } from 'cron-parser';
import { IANAZone } from 'luxon';
import { ConfigError, errorMessage } from '../errors.js';

/** A cron expression evaluated on the wall clock of `zone`. */
export interface CronExpressionSpec {
  readonly kind: 'cron';
  /** The variable the value came from, for messages. */
  readonly variable: string;
  /** The expression as written (after the zone prefix). */
  readonly expression: string;
  /** IANA zone name whose wall clock the expression reads, e.g. `Europe/Berlin`. */
  readonly zone: string;
  /** Parsed fields; `H` fields are already resolved with the schedule's hash seed. */
  readonly fields: CronFieldCollection;
  /**
   * The hour field names every hour (`*`, `*\/1`, `0-23`): such a schedule also fires in the repeated hour
   * when clocks go back; one with fixed hours fires once, at the first occurrence (Vixie cron's rule).
   */
  readonly everyHour: boolean;
}

/** A fixed period, ticks aligned to the Unix epoch (multiples of everyMs) so every replica agrees. */
export interface IntervalSpec {
  readonly kind: 'interval';
  readonly variable: string;
  readonly everyMs: number;
}

export type CronSpec = CronExpressionSpec | IntervalSpec;

export interface ParseCronSpecOptions {
  /** Zone of expressions without a `TZ=` prefix; default `UTC`. */
  readonly defaultZone?: string;
  /** Seed of `H` fields, so every replica resolves them alike; default the variable name. */
  readonly hashSeed?: string;
}

const EXAMPLES =
  '"*/10 * * * *", "0 */5 * * * *", "TZ=Europe/Berlin 0 2 * * *", "30s", "5m" or "30" (seconds)';
const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_INTERVAL_MS = 366 * 86_400_000;
const INTERVAL = /^(\d{1,12})\s*([smhd]?)$/;
const ZONE_PREFIX = /^(?:CRON_)?TZ=(\S*)(?:\s+([\s\S]*))?$/;
// Area/Location names (Etc/GMT+5 included); rejects offsets like +02:00 that Intl would also accept.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;
const MACROS = new Set([
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@hourly',
  '@minutely',
  '@secondly',
  '@weekdays',
  '@weekends',
]);
/** A fixed date from which the "does it ever fire" check looks ahead, so the check is deterministic. */
const PROBE_FROM = Date.UTC(2000, 0, 1);

/** Checks an IANA zone name; returns it unchanged. */
export function parseTimeZone(variable: string, zone: string): string {
  if (!ZONE_NAME.test(zone) || !IANAZone.isValidZone(zone)) {
    throw new ConfigError(
      `${variable}: unknown time zone "${zone}" (expected an IANA zone name, e.g. Europe/Berlin, America/New_York or UTC)`,
      variable,
    );
  }
  return zone;
}

/**
 * Parses a schedule value. Accepted forms (an inline ` # comment` is ignored):
 * - cron, 5 fields `min hour dom month dow` or 6 with seconds first; `@hourly`-style macros;
 * - an optional zone prefix `TZ=Europe/Berlin ` or `CRON_TZ=Europe/Berlin ` (default UTC);
 * - a plain interval `30` (seconds), `30s`, `5m`, `1h`, `1d`, aligned to the epoch (no zone).
 */
export function parseCronSpec(variable: string, value: string, options: ParseCronSpecOptions = {}): CronSpec {
  const fail = (what: string): never => {
    throw new ConfigError(`${variable}: ${what} (expected e.g. ${EXAMPLES}), got "${value}"`, variable);
  };
  let text = value.replace(/\s+#.*$/s, '').trim();
  if (text === '' || text.startsWith('#')) fail('is empty');

  let zone: string | undefined;
  const prefixed = ZONE_PREFIX.exec(text);
  if (prefixed) {
    zone = parseTimeZone(variable, prefixed[1] ?? '');
    text = (prefixed[2] ?? '').trim();
    if (text === '') fail(`names the zone ${zone} but no expression`);
  }

  const interval = INTERVAL.exec(text);
  if (interval) {
    if (zone !== undefined) {
      fail(
        `gives a time zone for the plain interval "${text}" (intervals are aligned to UTC; use a cron expression)`,
      );
    }
    const everyMs = Number(interval[1]) * (UNITS[interval[2] || 's'] ?? 1000);
    if (everyMs < 1000 || everyMs > MAX_INTERVAL_MS) fail(`interval "${text}" is outside 1s..366d`);
    return { kind: 'interval', variable, everyMs };
  }

  if (text.startsWith('@')) {
    if (!MACROS.has(text)) fail(`"${text}" is not a known macro (expected one of ${[...MACROS].join(', ')})`);
  } else {
    const count = text.split(/\s+/).length;
    if (count !== 5 && count !== 6) {
      fail(`has ${count} field${count === 1 ? '' : 's'} (a cron expression has 5, or 6 with seconds first)`);
    }
  }

  let fields: CronFieldCollection;
  try {
    const parsed = CronExpressionParser.parse(text, {
      tz: 'UTC',
      currentDate: PROBE_FROM,
      hashSeed: options.hashSeed ?? variable,
    });
    fields = parsed.fields;
    // Expressions such as `0 0 30 2 *` parse in some forms yet never match a date.
    parsed.next();
  } catch (error) {
    return fail(`is not a valid cron expression: ${errorMessage(error)}`);
  }
  return {
    kind: 'cron',
    variable,
    expression: text,
    zone: zone ?? parseTimeZone(variable, options.defaultZone ?? 'UTC'),
    fields,
    everyHour: fields.hour.values.length === 24,
  };
}

/** The value as an operator would write it back (zone prefix included), for logs and `workers timers`. */
export function describeCronSpec(spec: CronSpec): string {
  if (spec.kind === 'interval') return `every ${spec.everyMs / 1000}s`;
  return spec.zone === 'UTC' ? spec.expression : `TZ=${spec.zone} ${spec.expression}`;
}
