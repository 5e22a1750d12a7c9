// `workers start`: runs the worker process (src/main.ts): config -> enabled jobs -> run until SIGTERM/SIGINT.
import type { Command } from 'commander';
import type { CliContext } from './cli-context.js';

export function registerStart(program: Command, ctx: CliContext): void {
  program
    .command('start')
    .description('run the worker: the jobs enabled by PROCESSORS and ENABLE_*, until SIGTERM or SIGINT')
    .addHelpText(
      'after',
      '\nExits 2 when the environment or Redis is set up wrong, 1 on other start-up failures.',
    )
    .action(
      ctx.action(async () => {
        // loaded on demand: every other command starts without the job packs' code
        const { main } = await import('../../main.js');
        await main();
      }),
    );
}
