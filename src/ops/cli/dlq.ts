// `workers dlq list|show|requeue|drop|export`: DLQ triage with filters (job, type, reason, error fingerprint, time
// range); requeue and drop ask for confirmation unless --yes; export writes JSON Lines or CSV.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Option } from 'commander';
import type { Command } from 'commander';
import { ValidationError } from '../../errors.js';
import { checkTimeRange, parseTimeSpec, TIME_SPEC_HELP } from '../control/time-range.js';
import {
  checkDeadLetterFilter,
  getDeadLetter,
  listDeadLetters,
  parseDeadLetterId,
  scanDeadLetters,
} from '../dlq/dead-letters.js';
import type { DeadLetterFilter, DeadLetterRecord } from '../dlq/dead-letters.js';
import { dropDeadLetters } from '../dlq/drop.js';
import { deadLetterData, EXPORT_FORMATS, exportDeadLetters, exportedDeadLetter } from '../dlq/export.js';
import type { ExportFormat } from '../dlq/export.js';
import { requeueDeadLetters } from '../dlq/requeue.js';
import type { CliContext } from './cli-context.js';
import { EXIT_FAILED, EXIT_REFUSED, EXIT_USAGE } from './exit-codes.js';
import { clip, printFields, printJson, printTable } from './output.js';
import { parsePositiveInteger } from './option-parsers.js';

interface FilterOptions {
  readonly domain?: string;
  readonly job?: string;
  readonly type?: string;
  readonly reason?: string;
  readonly fingerprint?: string;
  readonly from?: string;
  readonly to?: string;
}

interface ListOptions extends FilterOptions {
  readonly limit: number;
}

interface SelectOptions extends FilterOptions {
  readonly all?: boolean;
  readonly yes?: boolean;
  readonly limit?: number;
}

interface ExportOptions extends FilterOptions {
  readonly format: ExportFormat;
  readonly out?: string;
}

function withFilters(command: Command): Command {
  return command
    .option('--domain <domain>', 'only this domain')
    .option('--job <job>', 'only dead letters of this job (group)')
    .option('--type <type>', 'only this event type')
    .option('--reason <text>', 'reason contains this text (case-insensitive)')
    .option('--fingerprint <hex>', 'error fingerprint (or a prefix of 4+ characters)')
    .option('--from <time>', `failed at or after: ${TIME_SPEC_HELP}`)
    .option('--to <time>', 'failed at or before (same forms)');
}

export function registerDlq(program: Command, ctx: CliContext): void {
  const dlq = program.command('dlq').description('dead letters: list, show, requeue, drop, export');

  withFilters(dlq.command('list').description('dead letters, oldest failure first'))
    .option('--limit <n>', 'at most this many', parsePositiveInteger, 50)
    .action(
      ctx.action(async (options: ListOptions) => {
        const filter = filterOf(options, ctx.clock.now());
        const records = await listDeadLetters(
          await deps(ctx),
          await ctx.domains(domainOf(filter)),
          filter,
          options.limit,
        );
        if (ctx.json) {
          printJson(ctx.io.stdout, records.map(exportedDeadLetter));
          return;
        }
        printTable(
          ctx.io.stdout,
          [
            { header: 'ID', value: (r) => r.id },
            { header: 'FAILED-AT', value: (r) => r.failedAt.replace(/\.\d{3}Z$/, 'Z') },
            { header: 'GROUP', value: (r) => r.group || '-' },
            { header: 'TYPE', value: (r) => r.type ?? '-' },
            { header: 'FAILURES', value: (r) => r.failures },
            { header: 'FINGERPRINT', value: (r) => r.fingerprint || '-' },
            { header: 'REASON', value: (r) => clip(r.reason, 30) },
            { header: 'ERROR', value: (r) => clip(r.error, 60) },
          ],
          records,
          'no dead letters match',
        );
      }),
    );

  dlq
    .command('show')
    .description('one dead letter in full: why it failed and the event')
    .argument('<id>', 'dead-letter id <domain>:<partition>:<entry id> (from dlq list)')
    .action(
      ctx.action(async (id: string) => {
        parseDeadLetterId(id);
        const record = await getDeadLetter(await deps(ctx), id);
        if (record === undefined) {
          ctx.report(`no dead letter ${id} (requeued or dropped?)`, 'NOT_FOUND');
          return EXIT_FAILED;
        }
        if (ctx.json) {
          printJson(ctx.io.stdout, exportedDeadLetter(record));
          return undefined;
        }
        printFields(ctx.io.stdout, [
          ['id', record.id],
          ['failed at', record.failedAt],
          ['group', record.group || undefined],
          ['reason', record.reason],
          ['error', record.error],
          ['fingerprint', record.fingerprint || undefined],
          ['failures', record.failures],
          ['deliveries', record.deliveries],
          ['source', `${record.sourceStream} ${record.sourceEntryId}`],
          ['event id', record.eventId],
          ['type', record.type],
          ['key', record.key],
          ['timer id', record.fields['timerId']],
        ]);
        const data = deadLetterData(record);
        if (data !== undefined) ctx.out(`data:\n${JSON.stringify(data, null, 2)}`);
        return undefined;
      }),
    );

  withFilters(
    dlq
      .command('requeue')
      .description(
        'put dead letters back into their stream, aimed at the job that gave up (fresh failure count)',
      )
      .argument('[ids...]', 'dead-letter ids; or select with filters'),
  )
    .option('--all', 'every dead letter (when no ids or filters are given)')
    .option('--limit <n>', 'at most this many of the selection', parsePositiveInteger)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(
      ctx.action(async (ids: string[], options: SelectOptions) => {
        const selection = await select(ctx, ids, options);
        if (typeof selection === 'number') return selection;
        const { records, missing } = selection;
        if (records.length > 0 && !(await ctx.confirm(describe('Requeue', records), options.yes))) {
          ctx.report('requeue declined: nothing was changed', 'DECLINED');
          return EXIT_REFUSED;
        }
        const progress = ctx.progress('requeue');
        const results = await requeueDeadLetters(await ctx.redis(), ctx.keys(), records, (done, total) =>
          progress.update(done, total),
        );
        progress.end();
        const requeued = results.filter((r) => r.status === 'requeued');
        const summary = {
          requeued: requeued.length,
          missing: missing.length + results.filter((r) => r.status === 'missing').length,
          unrequeueable: results.filter((r) => r.status === 'unrequeueable').length,
          results,
          notFound: missing,
        };
        if (ctx.json) printJson(ctx.io.stdout, summary);
        else {
          ctx.out(`requeued ${summary.requeued} dead letters`);
          if (summary.missing > 0) ctx.out(`${summary.missing} no longer in the DLQ`);
          if (summary.unrequeueable > 0)
            ctx.out(`${summary.unrequeueable} hold no event to requeue (dropped with dlq drop)`);
        }
        return summary.requeued === records.length + missing.length ? undefined : EXIT_FAILED;
      }),
    );

  withFilters(
    dlq
      .command('drop')
      .description('delete dead letters for good')
      .argument('[ids...]', 'dead-letter ids; or select with filters'),
  )
    .option('--all', 'every dead letter (when no ids or filters are given)')
    .option('--limit <n>', 'at most this many of the selection', parsePositiveInteger)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(
      ctx.action(async (ids: string[], options: SelectOptions) => {
        const selection = await select(ctx, ids, options);
        if (typeof selection === 'number') return selection;
        const { records, missing } = selection;
        if (records.length > 0 && !(await ctx.confirm(describe('Drop', records), options.yes))) {
          ctx.report('drop declined: nothing was changed', 'DECLINED');
          return EXIT_REFUSED;
        }
        const progress = ctx.progress('drop');
        const result = await dropDeadLetters(
          await ctx.redis(),
          ctx.keys(),
          records.map((r) => r.id),
          (done, total) => progress.update(done, total),
        );
        progress.end();
        const summary = {
          dropped: result.dropped,
          missing: result.missing + missing.length,
          notFound: missing,
        };
        if (ctx.json) printJson(ctx.io.stdout, summary);
        else
          ctx.out(
            `dropped ${summary.dropped} dead letters${summary.missing > 0 ? `, ${summary.missing} not found` : ''}`,
          );
        return summary.missing === 0 ? undefined : EXIT_FAILED;
      }),
    );

  withFilters(dlq.command('export').description('write dead letters as JSON Lines or CSV'))
    .addOption(new Option('--format <format>', 'output format').choices(EXPORT_FORMATS).default('jsonl'))
    .option('--out <file>', 'write to this file (default stdout)')
    .action(
      ctx.action(async (options: ExportOptions) => {
        const filter = filterOf(options, ctx.clock.now());
        const records = scanDeadLetters(await deps(ctx), await ctx.domains(domainOf(filter)), filter);
        const progress = ctx.progress('export');
        const file = options.out === undefined ? undefined : createWriteStream(options.out, { flags: 'w' });
        const write = async (chunk: string): Promise<void> => {
          if (file === undefined) ctx.io.stdout.write(chunk);
          else if (!file.write(chunk)) await once(file, 'drain');
        };
        const count = await exportDeadLetters(records, options.format, write, (n) => progress.update(n, n));
        progress.end();
        if (file !== undefined) {
          file.end();
          await once(file, 'close');
          if (ctx.json)
            printJson(ctx.io.stdout, { exported: count, file: options.out, format: options.format });
          else ctx.out(`exported ${count} dead letters to ${options.out} (${options.format})`);
        } else ctx.io.stderr.write(`exported ${count} dead letters\n`);
      }),
    );
}

async function deps(ctx: CliContext) {
  return { redis: await ctx.redis(), keys: ctx.keys() };
}

function domainOf(filter: DeadLetterFilter): { domain?: string } {
  return filter.domain === undefined ? {} : { domain: filter.domain };
}

function filterOf(options: FilterOptions, now: number): DeadLetterFilter {
  const from = options.from === undefined ? undefined : parseTimeSpec(options.from, now, '--from');
  const to = options.to === undefined ? undefined : parseTimeSpec(options.to, now, '--to');
  checkTimeRange(from, to);
  const filter: DeadLetterFilter = {
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    ...(options.job === undefined ? {} : { job: options.job }),
    ...(options.type === undefined ? {} : { type: options.type }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.fingerprint === undefined ? {} : { fingerprint: options.fingerprint }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  };
  checkDeadLetterFilter(filter);
  return filter;
}

function hasFilter(options: FilterOptions): boolean {
  return [
    options.domain,
    options.job,
    options.type,
    options.reason,
    options.fingerprint,
    options.from,
    options.to,
  ].some((value) => value !== undefined);
}

/** The dead letters a requeue/drop acts on: the ids given, or the filter's matches; a usage error for neither. */
async function select(
  ctx: CliContext,
  ids: readonly string[],
  options: SelectOptions,
): Promise<{ records: DeadLetterRecord[]; missing: string[] } | number> {
  if (ids.length > 0 && (hasFilter(options) || options.all === true)) {
    throw new ValidationError('give dead-letter ids or filters (or --all), not both');
  }
  if (ids.length === 0 && !hasFilter(options) && options.all !== true) {
    ctx.report('nothing selected: give dead-letter ids, a filter (--job, --type, ...) or --all', 'USAGE');
    return EXIT_USAGE;
  }
  if (ids.length > 0) {
    ids.forEach((id) => parseDeadLetterId(id));
    const found = await Promise.all(ids.map(async (id) => getDeadLetter(await deps(ctx), id)));
    const records = found.filter((r): r is DeadLetterRecord => r !== undefined);
    const missing = ids.filter((_, i) => found[i] === undefined);
    if (records.length === 0) {
      ctx.report(`no such dead letters: ${missing.join(', ')}`, 'NOT_FOUND');
      return EXIT_FAILED;
    }
    return { records, missing };
  }
  const filter = filterOf(options, ctx.clock.now());
  const records = await listDeadLetters(
    await deps(ctx),
    await ctx.domains(domainOf(filter)),
    filter,
    options.limit,
  );
  if (records.length === 0) ctx.io.stderr.write('no dead letters match\n');
  return { records, missing: [] };
}

function describe(verb: string, records: readonly DeadLetterRecord[]): string {
  const groups = [...new Set(records.map((r) => r.group || '(timer)'))].sort();
  return `${verb} ${records.length} dead letter${records.length === 1 ? '' : 's'} of ${groups.join(', ')}?`;
}
