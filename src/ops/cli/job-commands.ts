// `workers pause|resume|drain|run <job>`: job control through the per-job control key every replica polls, and
// an immediate run of a cron job.
import type { Command } from 'commander';
import { runCronJobNow } from '../control/cron-commands.js';
import { drainJob } from '../control/drain.js';
import { createJobControl, DEFAULT_CONTROL_POLL_MS } from '../control/job-control.js';
import type { JobState } from '../control/job-control.js';
import type { CliContext } from './cli-context.js';
import { EXIT_FAILED } from './exit-codes.js';
import { formatAge, printFields, printJson } from './output.js';
import { parseDurationOption } from './option-parsers.js';

interface StateOptions {
  readonly reason?: string;
}

interface DrainCliOptions extends StateOptions {
  readonly timeout: number;
  readonly settle: number;
}

export function registerJobCommands(program: Command, ctx: CliContext): void {
  const setState = (state: JobState) =>
    ctx.action(async (job: string, options: StateOptions) => {
      const redis = await ctx.redis();
      const control = createJobControl({ redis, keys: ctx.keys(), clock: ctx.clock });
      const result = await control.set(job, state, {
        by: ctx.operator(),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      });
      const domains = await ctx.domains({ group: job });
      if (ctx.json) {
        printJson(ctx.io.stdout, { ...result, groupExists: domains.length > 0 });
        return;
      }
      ctx.out(
        `${job}: ${state} (version ${result.version}); every replica applies it within its poll interval`,
      );
      if (domains.length === 0) {
        ctx.io.stderr.write(
          `note: no consumer group ${job} exists yet; the state applies once the job starts\n`,
        );
      }
    });

  program
    .command('pause')
    .description('stop a job pulling entries on every replica (in-flight work finishes); persisted in Redis')
    .argument('<job>', 'job name (its consumer group)')
    .option('--reason <text>', 'why, recorded with the state')
    .action(setState('paused'));

  program
    .command('resume')
    .description('let a paused or draining job pull entries again')
    .argument('<job>', 'job name (its consumer group)')
    .option('--reason <text>', 'why, recorded with the state')
    .action(setState('running'));

  program
    .command('drain')
    .description(
      'stop a job taking new entries, wait until it finished the ones pending, then leave it paused',
    )
    .argument('<job>', 'job name (its consumer group)')
    .option(
      '--timeout <duration>',
      'give up after this long (the job stays draining)',
      parseDurationOption,
      300_000,
    )
    .option(
      '--settle <duration>',
      'wait at least this long, so every replica has seen the drain (their poll interval)',
      parseDurationOption,
      DEFAULT_CONTROL_POLL_MS,
    )
    .option('--reason <text>', 'why, recorded with the state')
    .action(
      ctx.action(async (job: string, options: DrainCliOptions) => {
        const progress = ctx.progress(`drain ${job}`);
        const result = await drainJob(
          { redis: await ctx.redis(), keys: ctx.keys(), clock: ctx.clock },
          {
            job,
            timeoutMs: options.timeout,
            settleMs: options.settle,
            by: ctx.operator(),
            ...(options.reason === undefined ? {} : { reason: options.reason }),
            onProgress: (pending, atStart) =>
              progress.update(Math.max(0, atStart - pending), atStart, `${pending} pending`),
          },
        );
        progress.end(result.drained ? 'drained' : `${result.pending} still pending`);
        if (ctx.json) printJson(ctx.io.stdout, result);
        else {
          ctx.out(
            result.drained
              ? `${job}: drained, now paused`
              : `${job}: not drained within the timeout, still draining`,
          );
          printFields(ctx.io.stdout, [
            ['pending at start', result.pendingAtStart],
            ['pending now', result.pending],
            ['not yet delivered', result.lag],
            ['took', formatAge(result.elapsedMs)],
            ['version', result.version],
          ]);
        }
        return result.drained ? undefined : EXIT_FAILED;
      }),
    );

  program
    .command('run')
    .description('trigger a cron job now: its latest tick is put on the timer wheel again and fires at once')
    .argument('<job>', 'a job with cron schedules')
    .action(
      ctx.action(async (job: string) => {
        const result = await runCronJobNow(
          {
            redis: await ctx.redis(),
            keys: ctx.keys(),
            config: ctx.config(),
            packs: await ctx.packs(),
            clock: ctx.clock,
          },
          job,
        );
        if (ctx.json) {
          printJson(ctx.io.stdout, result);
          return;
        }
        for (const run of result.runs) {
          ctx.out(
            `${job}: tick ${run.tick} of schedule ${run.schedule} ${run.result}; a running worker fires it now`,
          );
        }
      }),
    );
}
