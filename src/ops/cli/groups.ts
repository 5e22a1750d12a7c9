// `workers groups list|delete`: the consumer groups on the streams (jobs disabled or gone included), and deleting
// one, refused while it has pending entries unless --force.
import type { Command } from 'commander';
import { deleteGroup } from '../control/group-delete.js';
import { readOperatorStats } from '../control/group-stats.js';
import type { CliContext } from './cli-context.js';
import { EXIT_FAILED, EXIT_REFUSED } from './exit-codes.js';
import { formatAge, printJson, printTable } from './output.js';

interface ListOptions {
  readonly domain?: string;
}

interface DeleteOptions {
  readonly domain?: string;
  readonly force?: boolean;
}

export function registerGroups(program: Command, ctx: CliContext): void {
  const groups = program.command('groups').description('consumer groups: list, delete');

  groups
    .command('list')
    .description('every consumer group on the streams, with its consumers, pending entries and lag')
    .option('--domain <domain>', 'only this domain')
    .action(
      ctx.action(async (options: ListOptions) => {
        const stats = await readOperatorStats(
          { redis: await ctx.redis(), keys: ctx.keys(), clock: ctx.clock },
          options.domain === undefined ? {} : { domain: options.domain },
        );
        const rows = stats.groups.map((g) => ({
          domain: g.domain,
          group: g.group,
          state: g.state,
          partitions: g.partitionsWithGroup,
          ofPartitions: g.partitions,
          consumers: g.consumers,
          pending: g.pending,
          lag: g.lag,
          oldestPendingAgeMs: g.oldestPendingAgeMs,
        }));
        if (ctx.json) {
          printJson(ctx.io.stdout, rows);
          return;
        }
        printTable(
          ctx.io.stdout,
          [
            { header: 'DOMAIN', value: (r) => r.domain },
            { header: 'GROUP', value: (r) => r.group },
            { header: 'STATE', value: (r) => r.state },
            { header: 'PARTITIONS', value: (r) => `${r.partitions}/${r.ofPartitions}`, align: 'right' },
            { header: 'CONSUMERS', value: (r) => r.consumers },
            { header: 'PENDING', value: (r) => r.pending },
            { header: 'LAG', value: (r) => r.lag },
            { header: 'OLDEST-PENDING', value: (r) => formatAge(r.oldestPendingAgeMs), align: 'right' },
          ],
          rows,
          'no consumer groups',
        );
      }),
    );

  groups
    .command('delete')
    .description('delete a consumer group (and its retry hints) from its partition streams')
    .argument('<group>', 'group (job) name')
    .option('--domain <domain>', 'only on this domain (default: every domain where it exists)')
    .option('--force', 'delete even with pending entries (they are then never handled by this group)')
    .action(
      ctx.action(async (group: string, options: DeleteOptions) => {
        const result = await deleteGroup(await ctx.redis(), ctx.keys(), {
          group,
          force: options.force === true,
          ...(options.domain === undefined ? {} : { domain: options.domain }),
        });
        if (ctx.json) printJson(ctx.io.stdout, result);
        if (result.status === 'absent') {
          ctx.report(
            `no consumer group ${group}${options.domain === undefined ? '' : ` on domain ${options.domain}`}`,
            'NOT_FOUND',
          );
          return EXIT_FAILED;
        }
        if (result.status === 'refused') {
          ctx.report(
            `refused: group ${group} has ${result.pending} pending entries; --force deletes it anyway ` +
              '(those entries are then never handled by it)',
            'REFUSED',
          );
          return EXIT_REFUSED;
        }
        if (!ctx.json) {
          const dropped = result.pending > 0 ? `, ${result.pending} pending entries dropped` : '';
          ctx.out(`deleted group ${group} from ${result.deletedPartitions.join(', ')}${dropped}`);
        }
        return undefined;
      }),
    );
}
