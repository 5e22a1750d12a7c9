// The publisher: validates facts, places them in their domain partition and XADDs them idempotently by event id.
// Re-emission fields (targetGroup, repetition) are the scheduler's: a producer setting them would skip a runAt
// schedule or trigger a limit's timeout action, so they are refused unless the publisher is made for re-emissions.
import type { Redis } from 'ioredis';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { ConfigError, ScriptError, ValidationError } from '../errors.js';
import { createDedupeWindow } from '../streams/dedupe-window.js';
import type { KeyBuilder } from '../streams/keys.js';
import { checkScriptResult, defineScripts, pipelineResults, queueScript } from '../streams/scripts.js';
import type { ScriptArg } from '../streams/scripts.js';
import { parseEnvelope } from './envelope.js';
import type { EventEnvelope } from './envelope.js';
import { MAX_PARTITIONS, isPartitionCount, partitionOf } from './partition.js';
import { ensurePartitionCount } from './partition-store.js';
import type { EventRegistry } from './registry.js';
import { encodeEvent, eventByteSize } from './wire.js';

export const DEFAULT_DEDUPE_WINDOW_MS = 3_600_000;
export const DEFAULT_MAX_EVENT_BYTES = 65_536;

export interface PublisherDeps {
  redis: Redis;
  keys: KeyBuilder;
  registry: EventRegistry;
  /** Partition count of a domain; must match the one stored in Redis. */
  partitions: (domain: string) => number;
  clock?: Clock;
  /** How long a repeated event id is recognised; default 1 h. */
  dedupeWindowMs?: number;
  /** Cap on the UTF-8 size of an encoded event (field names + values); default 64 KiB. */
  maxEventBytes?: number;
  /** Approximate MAXLEN applied on XADD; default 0 = none, retention is the trimmer's job. */
  streamMaxLen?: number;
  /**
   * Accept events carrying `targetGroup` or `repetition` (set only on the scheduler's re-emissions); default false:
   * such events are refused with a ValidationError. Operator tools aiming an event at one job set it.
   */
  allowReemission?: boolean;
}

export interface PublishResult {
  eventId: string;
  /** Stream entry id; on a duplicate, the entry id of the first publish. */
  entryId: string;
  duplicate: boolean;
  domain: string;
  partition: number;
  stream: string;
}

export interface Publisher {
  publish(event: EventEnvelope): Promise<PublishResult>;
  /** All events are validated before anything is written; results come back in input order. */
  publishBatch(events: readonly EventEnvelope[]): Promise<PublishResult[]>;
}

/** An event that passed every check, encoded and placed in its partition. */
interface PlacedEvent {
  readonly index: number;
  readonly id: string;
  readonly fields: readonly string[];
  readonly domain: string;
  readonly partition: number;
  readonly stream: string;
}

export function createPublisher(deps: PublisherDeps): Publisher {
  const clock = deps.clock ?? systemClock;
  const dedupeWindow = createDedupeWindow(
    integerOption('dedupeWindowMs', deps.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS, 1000),
  );
  const maxEventBytes = integerOption('maxEventBytes', deps.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES, 1);
  const streamMaxLen = integerOption('streamMaxLen', deps.streamMaxLen ?? 0, 0);
  // Domain/count pairs already confirmed against Redis; only successes are kept, so a failure is retried.
  const confirmedCounts = new Map<string, Promise<void>>();

  function partitionCount(domain: string): number {
    const partitions = deps.partitions(domain);
    if (!isPartitionCount(partitions)) {
      throw new ConfigError(
        `partitions("${domain}") returned ${String(partitions)}; expected an integer in 1..${MAX_PARTITIONS}`,
        'partitions',
      );
    }
    return partitions;
  }

  function place(input: EventEnvelope, index: number): PlacedEvent {
    const envelope = parseEnvelope(input);
    if (deps.allowReemission !== true) refuseReemission(envelope);
    deps.registry.validate(envelope);
    // The fact is written as the producer gave it: schemas that strip unknown keys must not drop newer fields.
    const fields = encodeEvent(envelope);
    const bytes = eventByteSize(fields);
    if (bytes > maxEventBytes) {
      throw new ValidationError(
        `event ${envelope.id} is ${bytes} bytes encoded, over the ${maxEventBytes}-byte cap`,
        [{ path: '(event)', message: `expected at most ${maxEventBytes} bytes, got ${bytes}` }],
      );
    }
    const domain = deps.registry.domainOf(envelope.type);
    const partition = partitionOf(envelope.key, partitionCount(domain));
    return {
      index,
      id: envelope.id,
      fields,
      domain,
      partition,
      stream: deps.keys.partition(domain, partition).stream,
    };
  }

  function placeAll(events: readonly EventEnvelope[]): PlacedEvent[] {
    if (events.length === 1 && events[0] !== undefined) return [place(events[0], 0)];
    return events.map((event, index) => {
      try {
        return place(event, index);
      } catch (error) {
        throw error instanceof ValidationError ? inBatch(error, event, index) : error;
      }
    });
  }

  async function confirmCounts(placed: readonly PlacedEvent[]): Promise<void> {
    const checks = new Map<string, Promise<void>>();
    for (const { domain } of placed) {
      const partitions = partitionCount(domain);
      const pair = `${domain}/${partitions}`;
      let check = confirmedCounts.get(pair);
      if (!check) {
        check = ensurePartitionCount(deps.redis, deps.keys, domain, partitions);
        confirmedCounts.set(pair, check);
        void check.catch(() => confirmedCounts.delete(pair));
      }
      checks.set(pair, check);
    }
    await Promise.all(checks.values());
  }

  async function write(placed: readonly PlacedEvent[]): Promise<PublishResult[]> {
    const byStream = new Map<string, PlacedEvent[]>();
    for (const event of placed) {
      const group = byStream.get(event.stream);
      if (group) group.push(event);
      else byStream.set(event.stream, [event]);
    }
    const buckets = dedupeWindow.bucketsAt(clock.now());
    defineScripts(deps.redis);
    const pipeline = deps.redis.pipeline();
    for (const group of byStream.values()) {
      const first = group[0] as PlacedEvent;
      const partitionKeys = deps.keys.partition(first.domain, first.partition);
      const args: ScriptArg[] = [dedupeWindow.bucketTtlMs, streamMaxLen, group.length];
      for (const event of group) args.push(event.id, event.fields.length, ...event.fields);
      queueScript(
        pipeline,
        'publishEvent',
        [partitionKeys.stream, ...buckets.map((bucket) => partitionKeys.published(bucket))],
        args,
      );
    }
    // A failure after some partitions were written is safe to retry as a whole: repeats come back as duplicates.
    const replies = pipelineResults(await pipeline.exec());
    const results: PublishResult[] = new Array<PublishResult>(placed.length);
    [...byStream.values()].forEach((group, g) => {
      const reply = checkScriptResult('publishEvent', replies[g]);
      if (!Array.isArray(reply) || reply.length !== group.length * 2) {
        throw new ScriptError(
          'publishEvent',
          0,
          `expected ${group.length * 2} reply items, got ${String(reply)}`,
        );
      }
      group.forEach((event, i) => {
        const entryId: unknown = reply[2 * i];
        if (typeof entryId !== 'string') {
          throw new ScriptError('publishEvent', 0, `expected an entry id for event ${event.id}`);
        }
        results[event.index] = {
          eventId: event.id,
          entryId,
          duplicate: reply[2 * i + 1] === 1,
          domain: event.domain,
          partition: event.partition,
          stream: event.stream,
        };
      });
    });
    return results;
  }

  async function publishBatch(events: readonly EventEnvelope[]): Promise<PublishResult[]> {
    if (events.length === 0) return [];
    const placed = placeAll(events);
    await confirmCounts(placed);
    return write(placed);
  }

  return {
    publishBatch,
    async publish(event) {
      const [result] = await publishBatch([event]);
      if (!result) throw new ScriptError('publishEvent', 0, 'no result for the published event');
      return result;
    },
  };
}

/** A producer's event must not carry the fields only the scheduler's re-emissions set. */
function refuseReemission(envelope: EventEnvelope): void {
  const fields = (['targetGroup', 'repetition'] as const).filter((name) => envelope[name] !== undefined);
  if (fields.length === 0) return;
  throw new ValidationError(
    `event ${envelope.id} sets ${fields.join(' and ')}, which only re-emissions carry (a publisher for them needs allowReemission)`,
    fields.map((path) => ({ path, message: 'set only on re-emissions' })),
  );
}

/** Names the failing event of a batch in the message and in every issue path. */
function inBatch(error: ValidationError, event: unknown, index: number): ValidationError {
  const id = (event as { id?: unknown } | null)?.id;
  const which = typeof id === 'string' ? `events[${index}] (id ${id.slice(0, 40)})` : `events[${index}]`;
  return new ValidationError(
    `${which}: ${error.message}; nothing in the batch was written`,
    error.issues.map((issue) => ({ ...issue, path: `[${index}].${issue.path}` })),
    { cause: error },
  );
}

function integerOption(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(
      `publisher option ${name} must be an integer >= ${min}, got ${String(value)}`,
      name,
    );
  }
  return value;
}
