// Cron schedules as jobs declare them (name, overlap and missed-tick policies in code) resolved against the CRON_*
// variables (expression and zone from the environment); every bad variable is reported at start-up.
import { ConfigError, errorMessage } from '../errors.js';
import { assertKeyName } from '../streams/keys.js';
import { parseCronSpec, parseTimeZone } from './cron-spec.js';
import type { CronSpec } from './cron-spec.js';

/** What a tick does while the previous run of its schedule is still running. */
export type OverlapPolicy = 'skip' | 'allow';

/**
 * What ticks missed during a downtime become: `skip` none, `once` only the latest one, `all` every one not older
 * than `withinMs` (counted back from now).
 */
export type MissedPolicy = 'skip' | 'once' | { readonly all: { readonly withinMs: number } };

export interface CronScheduleDeclaration {
  /** Schedule name: in timer ids, the tick event's key and data, Redis keys; e.g. `cfb.price.sample`. */
  readonly name: string;
  /** Variable holding the expression; default `CRON_` + the name upper-cased with `.` and `-` as `_`. */
  readonly variable?: string;
  /** Used when the variable is unset; without one, an unset variable is a ConfigError. */
  readonly defaultSpec?: string;
  /** Default `skip` (seed 002's "skips execution if previous run still running"). */
  readonly overlap?: OverlapPolicy;
  /** Default `once`: after a downtime the latest missed tick runs, then the schedule is back on its rhythm. */
  readonly missed?: MissedPolicy;
  /** Consumer group the ticks are for (the event's targetGroup); default: every group handling cron.tick. */
  readonly targetGroup?: string;
}

/** A declaration with its parsed spec. */
export interface CronSchedule {
  readonly name: string;
  readonly variable: string;
  readonly spec: CronSpec;
  readonly overlap: OverlapPolicy;
  readonly missed: MissedPolicy;
  readonly targetGroup: string | undefined;
}

export interface ResolveCronOptions {
  /** Zone of expressions without a `TZ=` prefix; default UTC. */
  readonly defaultZone?: string;
  /** Variable the default zone came from, named when it is invalid. */
  readonly defaultZoneVariable?: string;
}

/** `cfb.price.sample` -> `CRON_CFB_PRICE_SAMPLE`. */
export function cronVariableOf(name: string): string {
  return `CRON_${name.toUpperCase().replace(/[.-]/g, '_')}`;
}

function checkMissed(name: string, missed: MissedPolicy): void {
  if (missed === 'skip' || missed === 'once') return;
  const withinMs = (missed as { all?: { withinMs?: unknown } }).all?.withinMs;
  if (typeof withinMs !== 'number' || !Number.isSafeInteger(withinMs) || withinMs < 1) {
    throw new ConfigError(
      `cron schedule ${name}: missed policy must be 'skip', 'once' or { all: { withinMs: <positive integer> } }, ` +
        `got ${JSON.stringify(missed)}`,
      name,
    );
  }
}

/** Checks one declaration's code-side parts (name, policies, target group); throws ConfigError. */
export function checkCronDeclaration(declaration: CronScheduleDeclaration): void {
  const { name } = declaration;
  try {
    assertKeyName('schedule', name);
    if (declaration.targetGroup !== undefined) assertKeyName('group', declaration.targetGroup);
  } catch (error) {
    throw new ConfigError(`cron schedule ${name}: ${errorMessage(error)}`, name, { cause: error });
  }
  if (
    declaration.overlap !== undefined &&
    declaration.overlap !== 'skip' &&
    declaration.overlap !== 'allow'
  ) {
    throw new ConfigError(
      `cron schedule ${name}: overlap must be 'skip' or 'allow', got ${String(declaration.overlap)}`,
      name,
    );
  }
  checkMissed(name, declaration.missed ?? 'once');
}

/**
 * Parses the schedule of every declaration from the CRON_* variables (WorkerConfig.jobs.cronSchedules).
 * Throws one ConfigError listing every problem, `VARIABLE: what was wrong (expected ...)`, naming the first.
 */
export function resolveCronSchedules(
  declarations: readonly CronScheduleDeclaration[],
  cronSchedules: Readonly<Record<string, string>>,
  options: ResolveCronOptions = {},
): CronSchedule[] {
  const defaultZoneVariable = options.defaultZoneVariable ?? 'defaultZone';
  const defaultZone =
    options.defaultZone === undefined ? 'UTC' : parseTimeZone(defaultZoneVariable, options.defaultZone);
  const problems: ConfigError[] = [];
  const schedules: CronSchedule[] = [];
  const seen = new Set<string>();
  for (const declaration of declarations) {
    const variable = declaration.variable ?? cronVariableOf(declaration.name);
    try {
      checkCronDeclaration(declaration);
      if (seen.has(declaration.name)) {
        throw new ConfigError(`cron schedule ${declaration.name} is declared twice`, declaration.name);
      }
      seen.add(declaration.name);
      const value = cronSchedules[variable] ?? declaration.defaultSpec;
      if (value === undefined) {
        throw new ConfigError(
          `${variable}: is not set (expected the schedule of ${declaration.name}, e.g. "*/10 * * * *" or "30s")`,
          variable,
        );
      }
      schedules.push({
        name: declaration.name,
        variable,
        spec: parseCronSpec(variable, value, { defaultZone, hashSeed: declaration.name }),
        overlap: declaration.overlap ?? 'skip',
        missed: declaration.missed ?? 'once',
        targetGroup: declaration.targetGroup,
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error);
    }
  }
  if (problems.length === 1 && problems[0]) throw problems[0];
  if (problems.length > 1) {
    throw new ConfigError(
      `invalid cron schedules (${problems.length} problems):\n  ${problems.map((p) => p.message).join('\n  ')}`,
      problems[0]?.variable,
    );
  }
  return schedules;
}

/** CRON_* variables present that no declaration reads: likely typos, worth a warning at start-up. */
export function unusedCronVariables(
  declarations: readonly CronScheduleDeclaration[],
  cronSchedules: Readonly<Record<string, string>>,
): string[] {
  const used = new Set(declarations.map((d) => d.variable ?? cronVariableOf(d.name)));
  return Object.keys(cronSchedules)
    .filter((variable) => !used.has(variable))
    .sort();
}
