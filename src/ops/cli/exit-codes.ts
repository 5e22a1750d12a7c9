// The CLI's exit codes, so scripts can tell a failure from a usage mistake from a refusal; shown in every --help.
import { CommanderError } from 'commander';
import { ConfigError, PartitionMismatchError, UnsafeRedisError, ValidationError } from '../../errors.js';

export const EXIT_OK = 0;
/** The operation failed: Redis unreachable, a timeout, something not found. */
export const EXIT_FAILED = 1;
/** Usage or configuration error: bad arguments, an invalid environment, input that does not validate. */
export const EXIT_USAGE = 2;
/** Refused: a group with pending entries without --force, a declined confirmation. */
export const EXIT_REFUSED = 3;

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  the operation failed (Redis unreachable, a timeout, something not found)
  2  usage or configuration error (bad arguments or environment, input that does not validate)
  3  refused (deleting a group with pending entries without --force, a declined confirmation)`;

/** The exit code an error stands for. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (
    error instanceof ValidationError ||
    error instanceof ConfigError ||
    error instanceof UnsafeRedisError ||
    error instanceof PartitionMismatchError
  )
    return EXIT_USAGE;
  return EXIT_FAILED;
}
