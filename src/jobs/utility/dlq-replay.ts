// dlq.replay (seed 001 §2 "DLQ replayer: re-enqueue failed jobs after operator review"): on `dlq.replay_requested`,
// requeues the selected dead letters of a domain, each as a re-emission for the job that gave up only (targetGroup),
// with the same functions as `workers dlq requeue`; a repeated request finds the requeued ones gone from the DLQ.
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { assertKeyName } from '../../streams/keys.js';
import { outcome } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import { getDeadLetter, matchesDeadLetter, scanDeadLetters } from '../../ops/dlq/dead-letters.js';
import type { DeadLetterFilter, DeadLetterRecord } from '../../ops/dlq/dead-letters.js';
import { requeueDeadLetters } from '../../ops/dlq/requeue.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { UTILITY_DOMAIN } from './events.js';
import type { UtilityEventMap } from './events.js';

export const DLQ_REPLAY_JOB = 'dlq.replay';
/** Dead letters one request requeues when it names no limit. */
export const DLQ_REPLAY_DEFAULT_LIMIT = 1000;
type ReplayRequested = UtilityEventMap['dlq.replay_requested'];

export function dlqReplayJob(): PackJob {
  return {
    catalog: {
      name: DLQ_REPLAY_JOB,
      domain: UTILITY_DOMAIN,
      enableFlag: 'ENABLE_DLQ_REPLAY',
      // like every pack job: runs when its ENABLE_* flag is true or PROCESSORS names it
      enabledByDefault: false,
    },
    definition: (ctx) => dlqReplayDefinition(ctx),
  };
}

/** The dead letters a request selects, oldest failure first; only those dead-lettered before it was made. */
export async function selectDeadLetters(
  ctx: Pick<PackContext, 'redis' | 'keys'>,
  request: ReplayRequested,
  requestedAtMs: number,
): Promise<DeadLetterRecord[]> {
  const { redis, keys } = ctx;
  assertKeyName('domain', request.domain);
  const stored = await redis.hget(keys.partitionCounts, request.domain);
  const partitions = stored === null ? 0 : Number(stored);
  if (!Number.isInteger(partitions) || partitions < 1) return [];
  const failedTo =
    request.failedTo === undefined ? requestedAtMs : Math.min(Date.parse(request.failedTo), requestedAtMs);
  const filter: DeadLetterFilter = {
    domain: request.domain,
    ...(request.job === undefined ? {} : { job: request.job }),
    ...(request.type === undefined ? {} : { type: request.type }),
    ...(request.reason === undefined ? {} : { reason: request.reason }),
    ...(request.fingerprint === undefined ? {} : { fingerprint: request.fingerprint }),
    ...(request.failedFrom === undefined ? {} : { from: { ms: Date.parse(request.failedFrom) } }),
    to: { ms: failedTo },
  };
  const limit = request.limit ?? DLQ_REPLAY_DEFAULT_LIMIT;
  const inRange = (record: DeadLetterRecord): boolean => {
    const failedAt = Number(record.dlqEntryId.split('-')[0]);
    return (
      failedAt <= failedTo &&
      (filter.from === undefined || failedAt >= filter.from.ms) &&
      (request.partition === undefined || record.partition === request.partition)
    );
  };
  if (request.entryIds !== undefined) {
    const records: DeadLetterRecord[] = [];
    for (const entryId of request.entryIds) {
      const record = await getDeadLetter(
        { redis, keys },
        `${request.domain}:${request.partition ?? 0}:${entryId}`,
      );
      if (record !== undefined && matchesDeadLetter(record, filter) && inRange(record)) records.push(record);
      if (records.length >= limit) break;
    }
    return records;
  }
  // failure-time order across partitions, read only as far as the limit needs
  const records: DeadLetterRecord[] = [];
  for await (const record of scanDeadLetters(
    { redis, keys },
    [{ domain: request.domain, partitions }],
    filter,
  )) {
    if (!inRange(record)) continue;
    records.push(record);
    if (records.length >= limit) break;
  }
  return records;
}

export function dlqReplayDefinition(ctx: PackContext): JobDefinition<ReplayRequested> {
  const logger = ctx.logger.child({ job: DLQ_REPLAY_JOB });
  return {
    name: DLQ_REPLAY_JOB,
    domain: UTILITY_DOMAIN,
    types: ['dlq.replay_requested'],
    concurrency: 2,
    handler: async (event: EventEnvelope<ReplayRequested>): Promise<Outcome> => {
      const request = event.data;
      const records = await selectDeadLetters(ctx, request, Date.parse(event.occurredAt));
      const results = await requeueDeadLetters(ctx.redis, ctx.keys, records);
      const count = (status: string): number => results.filter((r) => r.status === status).length;
      logger.info(
        {
          replayId: request.replayId,
          requestedBy: request.requestedBy,
          domain: request.domain,
          selected: records.length,
          requeued: count('requeued'),
          missing: count('missing'),
          unrequeueable: results.filter((r) => r.status === 'unrequeueable').map((r) => r.id),
        },
        `DLQ replay ${request.replayId}: ${count('requeued')} dead letters requeued`,
      );
      return outcome.ack();
    },
  };
}
