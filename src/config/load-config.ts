// Loads the worker's configuration: optional .env file under the real environment, validated in one pass.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { z } from 'zod';
import { ConfigError, errorMessage } from '../errors.js';
import { workerEnvSchema } from './env-schema.js';
import type { WorkerConfig } from './env-schema.js';

export interface LoadConfigOptions {
  /** Path of a .env file, or false for none. Default: `.env` in the working directory when it exists. */
  envFile?: string | false;
}

type Environment = Readonly<Record<string, string | undefined>>;

const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD|JWK/i;
const MAX_ECHOED_CHARS = 80;

/** Variables whose values never appear in errors or logs. */
export function isSecretVariable(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * Validates the environment (real variables win over the .env file) and returns the typed config.
 * Throws one ConfigError listing every problem as `VARIABLE: what was wrong (expected ...)`.
 * Never mutates `process.env`.
 */
/** The environment the worker runs with: the .env file (if any) under the real variables, which win. */
export function loadEnvironment(
  env: Environment = process.env,
  options: LoadConfigOptions = {},
): Record<string, string> {
  const merged: Record<string, string> = { ...readEnvFile(options.envFile) };
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) merged[name] = value;
  }
  return merged;
}

export function loadConfig(env: Environment = process.env, options: LoadConfigOptions = {}): WorkerConfig {
  const merged = loadEnvironment(env, options);
  const result = workerEnvSchema.safeParse(merged);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => describeIssue(issue, merged));
  const variable = result.error.issues[0]?.path[0];
  throw new ConfigError(
    `invalid configuration (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n  ${lines.join('\n  ')}`,
    typeof variable === 'string' ? variable : undefined,
  );
}

function readEnvFile(envFile: string | false | undefined): Record<string, string> {
  if (envFile === false) return {};
  const path = resolve(envFile ?? '.env');
  // Only the default location is optional; a path someone named must exist.
  if (envFile === undefined && !existsSync(path)) return {};
  let contents: string;
  try {
    contents = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read env file ${path}: ${errorMessage(error)} (expected a readable dotenv file, or envFile: false)`,
      undefined,
      { cause: error },
    );
  }
  return parseDotenv(contents);
}

/** `NAME: message, got "value"`; the value is left out for secrets and credentials are masked in URLs. */
function describeIssue(issue: z.core.$ZodIssue, env: Readonly<Record<string, string>>): string {
  const name = issue.path.map(String).join('.') || '(environment)';
  const raw = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
  if (raw === undefined || raw === '' || isSecretVariable(name)) return `${name}: ${issue.message}`;
  return `${name}: ${issue.message}, got "${echo(raw)}"`;
}

function echo(raw: string): string {
  const masked = raw.replace(/(\/\/[^/@\s:]*):[^/@\s]*@/g, '$1:***@');
  return masked.length > MAX_ECHOED_CHARS ? `${masked.slice(0, MAX_ECHOED_CHARS)}...` : masked;
}
