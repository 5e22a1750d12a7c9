// `workers backfill <schedule> --from --to`: puts every tick of a cron schedule in a time range on the timer wheel
// (past ticks fire at once); ticks that already ran are left alone unless --force.
import type { Command } from 'commander';
import { backfillSchedule, resolveSchedule } from '../control/cron-commands.js';
import { checkTimeRange, parseTimeSpec, TIME_SPEC_HELP } from '../control/time-range.js';
import type { CliContext } from './cli-context.js';
import { printFields, printJson } from './output.js';
import { parsePositiveInteger } from './option-parsers.js';

interface BackfillCliOptions {
  readonly from: string;
  readonly to: string;
  readonly force?: boolean;
  readonly maxTicks?: number;
  readonly spec?: string;
  readonly job?: string;
}

export function registerBackfill(program: Command, ctx: CliContext): void {
  program
    .command('backfill')
    .description('put every tick of a cron schedule in a time range on the timer wheel')
    .argument('<schedule>', 'cron schedule name (as a job declares it, e.g. recon.orphan-holds)')
    .requiredOption('--from <time>', `first tick time: ${TIME_SPEC_HELP}`)
    .requiredOption('--to <time>', 'last tick time (same forms)')
    .option('--force', 'run again ticks that already ran')
    .option('--max-ticks <n>', 'refuse ranges with more ticks (default 100000)', parsePositiveInteger)
    .option(
      '--spec <expression>',
      'use this cron expression (or interval like 30s) instead of the CRON_* variable',
    )
    .option('--job <job>', 'job the ticks are for (needed with --spec for a schedule no job declares)')
    .action(
      ctx.action(async (name: string, options: BackfillCliOptions) => {
        const now = ctx.clock.now();
        const from = parseTimeSpec(options.from, now, '--from');
        const to = parseTimeSpec(options.to, now, '--to');
        checkTimeRange(from, to);
        const schedule = resolveSchedule({ config: ctx.config(), packs: await ctx.packs() }, name, {
          ...(options.spec === undefined ? {} : { spec: options.spec }),
          ...(options.job === undefined ? {} : { job: options.job }),
        });
        const progress = ctx.progress(`backfill ${name}`);
        const result = await backfillSchedule(
          {
            redis: await ctx.redis(),
            keys: ctx.keys(),
            config: ctx.config(),
            packs: await ctx.packs(),
            clock: ctx.clock,
          },
          schedule,
          from.ms,
          to.ms,
          {
            force: options.force === true,
            ...(options.maxTicks === undefined ? {} : { maxTicks: options.maxTicks }),
            onProgress: (done, total) => progress.update(done, total),
          },
        );
        progress.end();
        if (ctx.json) {
          printJson(ctx.io.stdout, { schedule: name, targetGroup: schedule.targetGroup, ...result });
          return;
        }
        ctx.out(
          `backfill of ${name}${schedule.targetGroup === undefined ? '' : ` for ${schedule.targetGroup}`}:`,
        );
        printFields(ctx.io.stdout, [
          ['ticks', result.ticks],
          ['scheduled', result.scheduled],
          ['already pending', result.alreadyPending],
          ['already ran', result.alreadyFired],
          ['first tick', result.firstTick],
          ['last tick', result.lastTick],
        ]);
        if (result.alreadyFired > 0 && options.force !== true) {
          ctx.io.stderr.write(`note: ${result.alreadyFired} ticks already ran; --force runs them again\n`);
        }
      }),
    );
}
