// The error hierarchy: every error the library throws has a stable `code` and keeps its `cause`.

export type ErrorCode =
  | 'VALIDATION'
  | 'CONFIG'
  | 'TRANSIENT'
  | 'PERMANENT'
  | 'DATA_LOSS'
  | 'SCRIPT'
  | 'UNSAFE_REDIS'
  | 'PARTITION_MISMATCH'
  | 'REDIS_UNAVAILABLE'
  | 'SSRF_BLOCKED';

export class WorkersError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem found in input: where it is and what was expected. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** Bad input (an event, an argument, a config value); nothing was written. */
export class ValidationError extends WorkersError {
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, issues: readonly ValidationIssue[] = [], options?: { cause?: unknown }) {
    super('VALIDATION', message, options);
    this.issues = issues;
  }
}

/** The environment or a component's options are wrong; the process must not start. */
export class ConfigError extends WorkersError {
  readonly variable: string | undefined;

  constructor(message: string, variable?: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
    this.variable = variable;
  }
}

/** Worth another attempt later (timeouts, resets, 5xx, 429). */
export class TransientError extends WorkersError {
  readonly retryAfterMs: number | undefined;

  constructor(message: string, retryAfterMs?: number, options?: { cause?: unknown }) {
    super('TRANSIENT', message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** No attempt can succeed (4xx, invalid data): the entry goes to the DLQ. */
export class PermanentError extends WorkersError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PERMANENT', message, options);
  }
}

/** Which SSRF guard rule refused an outbound call to an external provider. */
export type SsrfRule = 'scheme' | 'credentials' | 'host' | 'address' | 'redirect';

/** The SSRF guard refused a target before connecting to it; permanent, and names the rule and host (no query). */
export class SsrfBlockedError extends PermanentError {
  override readonly code = 'SSRF_BLOCKED';
  readonly rule: SsrfRule;
  readonly host: string;
  /** The refused IP address, when the rule is `address`. */
  readonly address: string | undefined;

  constructor(rule: SsrfRule, host: string, detail: string, address?: string, options?: { cause?: unknown }) {
    super(`SSRF guard blocked ${host} (${rule}): ${detail}`, options);
    this.rule = rule;
    this.host = host;
    this.address = address;
  }
}

/** Redis no longer holds something we were responsible for (e.g. a pending entry deleted from its stream). */
export class DataLossError extends WorkersError {
  readonly stream: string;
  readonly ids: readonly string[];

  constructor(message: string, stream: string, ids: readonly string[]) {
    super('DATA_LOSS', message);
    this.stream = stream;
    this.ids = ids;
  }
}

/** A Lua script refused its arguments or returned an unexpected code. */
export class ScriptError extends WorkersError {
  readonly script: string;
  readonly scriptCode: number;

  constructor(script: string, scriptCode: number, message: string) {
    super('SCRIPT', `${script}: ${message}`);
    this.script = script;
    this.scriptCode = scriptCode;
  }
}

/** Redis is configured so that acknowledged work could vanish (no AOF, evicting policy). */
export class UnsafeRedisError extends WorkersError {
  constructor(message: string) {
    super('UNSAFE_REDIS', message);
  }
}

/** A domain's stored partition count differs from the one this worker was configured with. */
export class PartitionMismatchError extends WorkersError {
  constructor(domain: string, stored: number, configured: number) {
    super(
      'PARTITION_MISMATCH',
      `domain "${domain}" has ${stored} partitions in Redis but this worker is configured with ${configured}; ` +
        'changing the partition count is a migration, not a restart',
    );
  }
}

/** Turns anything thrown into a short message for logs and DLQ entries. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
