// Settings of a job pack read from environment variables (provider lists, TTLs, symbols) through one zod schema per
// pack; every bad variable is reported at once as a ConfigError naming it, and values are never echoed.
import { z } from 'zod';
import { SERVICE_URL_VARIABLES } from '../config/index.js';
import type { ServiceName, WorkerConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { EventRegistry } from '../events/registry.js';
import type { JobPack, PackJob } from './catalog.js';

/** Variables as the process (or a test) has them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Parses `env` with a schema whose keys are variable names. Throws one ConfigError listing every problem as
 * `VARIABLE: message`, naming the first variable; values are left out (provider lists may carry API keys).
 */
export function parsePackSettings<S extends z.ZodType>(
  schema: S,
  env: Environment,
  pack: string,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.') || '(environment)';
    return `${name}: ${issue.message}`;
  });
  const variable = result.error.issues[0]?.path[0];
  throw new ConfigError(
    `invalid ${pack} settings (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n  ${lines.join('\n  ')}`,
    typeof variable === 'string' ? variable : undefined,
  );
}

/** A variable holding JSON (e.g. a provider list): absent -> `fallback`, malformed JSON -> an issue. */
export function jsonVariable<S extends z.ZodType>(schema: S, fallback: z.input<S>) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): unknown => {
      if (raw === undefined || raw.trim() === '') return fallback;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** A comma-separated list variable, each item checked by `item`; absent or empty -> []. */
export function listVariable<S extends z.ZodType<unknown, string>>(item: S) {
  return z
    .string()
    .optional()
    .transform((raw) =>
      raw === undefined
        ? []
        : raw
            .split(',')
            .map((part) => part.trim())
            .filter((part) => part !== ''),
    )
    .pipe(z.array(item));
}

/** A whole-number variable with bounds: absent -> `fallback`. */
export function integerVariable(fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): number => {
      if (raw === undefined) return fallback;
      const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return value;
    });
}

/**
 * The pack the catalog ships: its jobs are built from the environment the worker was loaded from (process
 * environment + .env, see loadEnvironment) when it collects them (start-up, not import), so a bad variable fails
 * the start with a ConfigError instead of the import. `jobs` reads the process environment alone.
 */
export function environmentPack(
  name: string,
  register: (registry: EventRegistry) => void,
  jobsFrom: (env: Environment) => readonly PackJob[],
): JobPack {
  return {
    name,
    register,
    get jobs() {
      return jobsFrom(process.env);
    },
    jobsFor: jobsFrom,
  };
}

/** Refuses to build a job whose services have no SVC_*_URL: a missing URL would otherwise fail every attempt. */
export function requireServices(config: WorkerConfig, job: string, ...services: ServiceName[]): void {
  const missing = services.filter((service) => config.services[service] === undefined);
  const first = missing[0];
  if (first === undefined) return;
  const variables = missing.map((service) => SERVICE_URL_VARIABLES[service]);
  throw new ConfigError(
    `${variables.join(', ')}: ${missing.length === 1 ? 'is' : 'are'} not set (job ${job} calls ${missing.join(', ')})`,
    SERVICE_URL_VARIABLES[first],
  );
}
