// `workers timers list|cancel`: the pending timers of the timer wheels (defers, scheduled events, cron ticks) and
// cancelling one by id (its tombstone keeps a late schedule from bringing it back).
import type { Command } from 'commander';
import { ValidationError } from '../../errors.js';
import { cancelTimer, listTimers } from '../control/timer-admin.js';
import { parseTimeSpec, TIME_SPEC_HELP } from '../control/time-range.js';
import type { CliContext } from './cli-context.js';
import { EXIT_FAILED } from './exit-codes.js';
import { formatTime, printJson, printTable } from './output.js';
import { parseNonNegativeInteger, parsePositiveInteger } from './option-parsers.js';

interface ListOptions {
  readonly domain?: string;
  readonly job?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit: number;
}

interface CancelOptions {
  readonly domain?: string;
  readonly partition?: number;
}

export function registerTimers(program: Command, ctx: CliContext): void {
  const timers = program.command('timers').description('timer wheel: list, cancel');

  timers
    .command('list')
    .description('pending timers by due time')
    .option('--domain <domain>', 'only this domain')
    .option('--job <job>', 'only timers of this job (id <job>:... or aimed at it)')
    .option('--from <time>', `due at or after: ${TIME_SPEC_HELP}`)
    .option('--to <time>', 'due at or before (same forms)')
    .option('--limit <n>', 'at most this many', parsePositiveInteger, 100)
    .action(
      ctx.action(async (options: ListOptions) => {
        const now = ctx.clock.now();
        const rows = await listTimers(
          { redis: await ctx.redis(), keys: ctx.keys() },
          await ctx.domains(options.domain === undefined ? {} : { domain: options.domain }),
          {
            limit: options.limit,
            ...(options.job === undefined ? {} : { job: options.job }),
            ...(options.from === undefined ? {} : { fromMs: parseTimeSpec(options.from, now, '--from').ms }),
            ...(options.to === undefined ? {} : { toMs: parseTimeSpec(options.to, now, '--to').ms }),
          },
        );
        if (ctx.json) {
          printJson(
            ctx.io.stdout,
            rows.map((r) => ({ ...r, due: new Date(r.dueMs).toISOString() })),
          );
          return;
        }
        printTable(
          ctx.io.stdout,
          [
            { header: 'ID', value: (r) => r.id },
            { header: 'DUE', value: (r) => formatTime(r.dueMs, now) },
            { header: 'DOMAIN', value: (r) => `${r.domain}:${r.partition}` },
            { header: 'TYPE', value: (r) => r.type },
            { header: 'FOR', value: (r) => r.targetGroup ?? '-' },
            { header: 'VERSION', value: (r) => r.version },
          ],
          rows,
          'no pending timers',
        );
      }),
    );

  timers
    .command('cancel')
    .description('cancel a pending timer by id, wherever it is pending')
    .argument('<id>', 'timer id, e.g. cfb.settle:<betId> or cron:<schedule>:<tick>')
    .option('--domain <domain>', 'with --partition: cancel there even if not pending (leaves a tombstone)')
    .option('--partition <n>', 'partition index (with --domain)', parseNonNegativeInteger)
    .action(
      ctx.action(async (id: string, options: CancelOptions) => {
        if (options.partition !== undefined && options.domain === undefined) {
          throw new ValidationError('--partition needs --domain');
        }
        const at =
          options.domain !== undefined && options.partition !== undefined
            ? { domain: options.domain, partition: options.partition }
            : undefined;
        const result = await cancelTimer(
          { redis: await ctx.redis(), keys: ctx.keys() },
          await ctx.domains(options.domain === undefined ? {} : { domain: options.domain }),
          id,
          at,
        );
        if (ctx.json) printJson(ctx.io.stdout, result);
        if (result.status === 'absent' && at === undefined) {
          ctx.report(`no pending timer ${id}`, 'NOT_FOUND');
          return EXIT_FAILED;
        }
        if (!ctx.json) {
          ctx.out(
            result.status === 'cancelled'
              ? `cancelled timer ${id} in ${result.partitions.join(', ')}`
              : `timer ${id} was not pending; tombstone left in ${result.partitions.join(', ')}`,
          );
        }
        return undefined;
      }),
    );
}
