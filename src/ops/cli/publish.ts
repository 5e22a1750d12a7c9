// `workers publish <type> <json>`: publishes one event by hand, validated by the registry of the shipped packs
// (plus cron.tick), into its domain's partition, idempotent by event id like any publish.
import type { Command } from 'commander';
import { ValidationError } from '../../errors.js';
import { packRegistry, publishOperatorEvent } from '../control/operator-publish.js';
import type { CliContext } from './cli-context.js';
import { printFields, printJson } from './output.js';

interface PublishOptions {
  readonly key?: string;
  readonly id?: string;
  readonly source?: string;
  readonly targetGroup?: string;
  readonly traceparent?: string;
}

export function registerPublish(program: Command, ctx: CliContext): void {
  program
    .command('publish')
    .description("publish one event (validated by its type's schema) into its domain stream")
    .argument('<type>', 'event type, e.g. escrow.created')
    .argument('<json>', 'the event data as JSON')
    .option('--key <key>', 'partition key (default: the event id)')
    .option('--id <id>', 'event id, a ULID or UUIDv7 (default: a new ULID); the same id publishes once')
    .option('--source <service>', 'source service id (default SERVICE_ID)')
    .option('--target-group <job>', 'aim the event at one job only')
    .option('--traceparent <traceparent>', 'W3C traceparent to carry')
    .action(
      ctx.action(async (type: string, json: string, options: PublishOptions) => {
        let data: unknown;
        try {
          data = JSON.parse(json);
        } catch {
          throw new ValidationError(`<json> is not valid JSON: ${json.slice(0, 80)}`, [
            { path: 'data', message: 'expected JSON' },
          ]);
        }
        const config = ctx.config();
        const result = await publishOperatorEvent(
          {
            redis: await ctx.redis(),
            keys: ctx.keys(),
            registry: packRegistry(await ctx.packs()),
            partitionsDefault: config.queue.partitionsDefault,
            dedupeWindowMs: config.queue.dedupeWindowMs,
            maxEventBytes: config.queue.eventMaxBytes,
            clock: ctx.clock,
          },
          {
            type,
            data,
            source: options.source ?? config.service.id,
            ...(options.key === undefined ? {} : { key: options.key }),
            ...(options.id === undefined ? {} : { id: options.id }),
            ...(options.targetGroup === undefined ? {} : { targetGroup: options.targetGroup }),
            ...(options.traceparent === undefined ? {} : { traceparent: options.traceparent }),
          },
        );
        if (ctx.json) {
          printJson(ctx.io.stdout, result);
          return;
        }
        ctx.out(result.duplicate ? 'already published (same event id): nothing written' : 'published');
        printFields(ctx.io.stdout, [
          ['event id', result.eventId],
          ['stream', result.stream],
          ['entry id', result.entryId],
          ['partition', `${result.domain}:${result.partition}`],
        ]);
      }),
    );
}
