// `workers stats`: per domain and group, stream length, lag, pending, oldest pending age, time lag, retries due,
// DLQ size, consumers and the job's control state (paused, draining).
import type { Command } from 'commander';
import { readOperatorStats } from '../control/group-stats.js';
import type { GroupStats } from '../control/group-stats.js';
import type { CliContext } from './cli-context.js';
import { formatAge, printJson, printTable } from './output.js';

interface StatsOptions {
  readonly domain?: string;
  readonly job?: string;
  readonly partitions?: boolean;
}

export function registerStats(program: Command, ctx: CliContext): void {
  program
    .command('stats')
    .description(
      'per stream and group: length, lag, pending, oldest pending age, time lag, DLQ size, consumers, state',
    )
    .option('--domain <domain>', 'only this domain')
    .option('--job <job>', 'only this job (consumer group)')
    .option('--partitions', 'one row per partition as well')
    .action(
      ctx.action(async (options: StatsOptions) => {
        const stats = await readOperatorStats(
          { redis: await ctx.redis(), keys: ctx.keys(), clock: ctx.clock },
          {
            ...(options.domain === undefined ? {} : { domain: options.domain }),
            ...(options.job === undefined ? {} : { group: options.job }),
          },
        );
        const groups = stats.groups.map((g) => (options.partitions === true ? g : withoutPartitions(g)));
        if (ctx.json) {
          printJson(ctx.io.stdout, { domains: stats.domains, groups });
          return;
        }
        printTable(
          ctx.io.stdout,
          [
            { header: 'DOMAIN', value: (d) => d.domain },
            { header: 'PARTITIONS', value: (d) => d.partitions },
            { header: 'LENGTH', value: (d) => d.length },
            { header: 'DLQ', value: (d) => d.dlqLength },
            { header: 'GROUPS', value: (d) => d.groups.join(',') || '-' },
          ],
          stats.domains,
          'no streams in Redis under this prefix',
        );
        if (stats.domains.length === 0) return;
        ctx.out('');
        const rows =
          options.partitions === true ? stats.groups.flatMap(partitionRows) : stats.groups.map(groupRow);
        printTable(
          ctx.io.stdout,
          [
            { header: 'DOMAIN', value: (r) => r.domain },
            { header: 'GROUP', value: (r) => r.group },
            { header: 'STATE', value: (r) => r.state },
            { header: 'LENGTH', value: (r) => r.length },
            { header: 'LAG', value: (r) => r.lag },
            { header: 'PENDING', value: (r) => r.pending },
            { header: 'OLDEST-PENDING', value: (r) => formatAge(r.oldestPendingAgeMs), align: 'right' },
            { header: 'TIME-LAG', value: (r) => formatAge(r.timeLagMs), align: 'right' },
            { header: 'RETRY-DUE', value: (r) => r.retryHintsDue },
            { header: 'DLQ', value: (r) => r.dlqLength },
            { header: 'CONSUMERS', value: (r) => r.consumers },
          ],
          rows,
          'no consumer groups',
        );
      }),
    );
}

type Row = Omit<GroupStats, 'byPartition' | 'partitionsWithGroup' | 'partitions' | 'retryHintsTotal'>;

function groupRow(g: GroupStats): Row {
  return g;
}

function partitionRows(g: GroupStats): Row[] {
  return [
    groupRow(g),
    ...g.byPartition.map((p) => ({
      ...p,
      domain: `${p.domain}:${p.partition}`,
      group: `  ${p.group}`,
      state: g.state,
    })),
  ];
}

function withoutPartitions(g: GroupStats): Omit<GroupStats, 'byPartition'> {
  return Object.fromEntries(Object.entries(g).filter(([name]) => name !== 'byPartition')) as Omit<
    GroupStats,
    'byPartition'
  >;
}
