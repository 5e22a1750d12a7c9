// `workers replay --stream <domain> --from --to [--job]`: re-emits the original facts of a time range to one job
// through a shadow consumer group (resumable); a dry run (the default) only counts.
import type { Command } from 'commander';
import { replayRange } from '../control/replay.js';
import { checkTimeRange, parseTimeSpec, TIME_SPEC_HELP } from '../control/time-range.js';
import type { CliContext } from './cli-context.js';
import { printFields, printJson } from './output.js';
import { parseList, parsePositiveInteger } from './option-parsers.js';

interface ReplayCliOptions {
  readonly stream: string;
  readonly from: string;
  readonly to?: string;
  readonly job?: string;
  readonly types?: string[];
  readonly execute?: boolean;
  readonly group?: string;
  readonly keepGroup?: boolean;
  readonly batch?: number;
}

export function registerReplay(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .description(
      "replay a time range of a domain's streams to one job through a shadow group (dry run unless --execute)",
    )
    .requiredOption('--stream <domain>', 'the domain whose partition streams are replayed')
    .requiredOption('--from <time>', `start of the range: ${TIME_SPEC_HELP}`)
    .option('--to <time>', 'end of the range (default now)')
    .option('--job <job>', 'the job (consumer group) the entries are replayed to; required with --execute')
    .option('--types <types>', 'only these event types (comma-separated)', parseList)
    .option('--execute', 'write: re-emit the entries (default: dry run, count only)')
    .option('--group <name>', 'shadow group name (default replay-<from ms>-<job>); reuse it to resume')
    .option('--keep-group', 'leave the shadow group on the streams afterwards')
    .option('--batch <n>', 'entries per read (default 200)', parsePositiveInteger)
    .addHelpText(
      'after',
      '\nOnly original facts are replayed (not deferrals, fired timers or requeues, which are aimed at a group).\n' +
        'Events the job acked within its dedupe window (DEDUPE_WINDOW_MS) are skipped by its dedupe check.',
    )
    .action(
      ctx.action(async (options: ReplayCliOptions) => {
        const now = ctx.clock.now();
        const from = parseTimeSpec(options.from, now, '--from');
        const to = options.to === undefined ? undefined : parseTimeSpec(options.to, now, '--to');
        checkTimeRange(from, to);
        const [domain] = await ctx.domains({ domain: options.stream });
        const progress = ctx.progress(options.execute === true ? 'replay' : 'replay (dry run)');
        const result = await replayRange(
          { redis: await ctx.redis(), keys: ctx.keys(), clock: ctx.clock },
          {
            domain: options.stream,
            partitions: domain?.partitions ?? 0,
            from,
            ...(to === undefined ? {} : { to }),
            ...(options.job === undefined ? {} : { job: options.job }),
            ...(options.types === undefined ? {} : { types: options.types }),
            dryRun: options.execute !== true,
            ...(options.group === undefined ? {} : { shadowGroup: options.group }),
            keepShadowGroup: options.keepGroup === true,
            ...(options.batch === undefined ? {} : { batch: options.batch }),
            onProgress: (done, total) => progress.update(done, total),
          },
        );
        progress.end();
        if (ctx.json) {
          printJson(ctx.io.stdout, result);
          return;
        }
        ctx.out(
          result.dryRun
            ? `dry run: ${result.matched} entries would be replayed${result.job === undefined ? '' : ` to ${result.job}`} (--execute to write)`
            : `replayed ${result.emitted} entries to ${result.job ?? ''} through shadow group ${result.shadowGroup ?? ''}`,
        );
        printFields(ctx.io.stdout, [
          ['range', `${result.fromId} .. ${result.toId}`],
          ['scanned', result.scanned],
          ['matched', result.matched],
          ['skipped', result.skipped],
          ...Object.entries(result.byType).map(([type, count]): [string, number] => [`  ${type}`, count]),
        ]);
      }),
    );
}
