// The `workers` command line: builds the commander program (one module per command group), runs one command and
// returns its exit code; errors become one line on stderr and the exit code their kind stands for.
import { Command, CommanderError } from 'commander';
import { errorMessage, WorkersError } from '../../errors.js';
import { registerBackfill } from './backfill.js';
import { CliContext } from './cli-context.js';
import type { CliOptions } from './cli-context.js';
import { registerDlq } from './dlq.js';
import { EXIT_CODES_HELP, exitCodeOf } from './exit-codes.js';
import { registerGroups } from './groups.js';
import { registerJobCommands } from './job-commands.js';
import { registerKeys } from './keys.js';
import { registerPublish } from './publish.js';
import { registerReplay } from './replay.js';
import { registerStart } from './start.js';
import { registerStats } from './stats.js';
import { registerTimers } from './timers.js';

export type { CliIo, CliOptions } from './cli-context.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('workers')
    .description('Operate fuze-workers: run the worker, inspect streams, control jobs, triage the DLQ.')
    .option('--json', 'machine-readable JSON on stdout (errors as JSON on stderr)')
    .option('--progress', 'show progress on long work even when stderr is not a terminal')
    .option('--no-progress', 'never show progress')
    .option('--env-file <path>', 'read the environment from this dotenv file (default: .env when present)')
    .configureOutput({
      writeOut: (text) => void ctx.io.stdout.write(text),
      writeErr: (text) => void ctx.io.stderr.write(text),
    })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .exitOverride();
  registerStart(program, ctx);
  registerStats(program, ctx);
  registerJobCommands(program, ctx);
  registerBackfill(program, ctx);
  registerGroups(program, ctx);
  registerDlq(program, ctx);
  registerReplay(program, ctx);
  registerTimers(program, ctx);
  registerPublish(program, ctx);
  registerKeys(program, ctx);
  addExitCodes(program);
  return program;
}

/** Runs `workers <argv>` and resolves to the exit code (0 ok, 1 failed, 2 usage/config, 3 refused). */
export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  const ctx = new CliContext(options);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    const code = exitCodeOf(error);
    // commander has already printed its own usage errors and help
    if (!(error instanceof CommanderError)) {
      const message = errorMessage(error).replace(/\s*\n\s*/g, '; ');
      ctx.report(message, error instanceof WorkersError ? error.code : 'FAILED');
    }
    return code;
  } finally {
    await ctx.close();
  }
}

function addExitCodes(command: Command): void {
  command.addHelpText('after', EXIT_CODES_HELP);
  for (const sub of command.commands) addExitCodes(sub);
}
