// Replay of a time range of a domain's streams to one job: a shadow consumer group is created on each partition
// stream at the `from` id and read up to `to`; each original fact in range is re-emitted with targetGroup = the job
// and acked in the shadow group in one script, so an interrupted replay resumes where it stopped. Dry run counts.
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import { ScriptError, ValidationError } from '../../errors.js';
import { readEntryHeader } from '../../events/wire.js';
import { entryOf } from '../../streams/delivery.js';
import { assertKeyName } from '../../streams/keys.js';
import type { KeyBuilder, PartitionKeys } from '../../streams/keys.js';
import { checkScriptResult, defineScripts, pipelineResults, queueScript } from '../../streams/scripts.js';
import type { RedisClient } from '../../streams/scripts.js';
import { compareStreamIds, rangeEndId, rangeStartId, streamIdBefore } from './time-range.js';
import type { TimeBound } from './time-range.js';

export interface ReplayOptions {
  readonly domain: string;
  readonly partitions: number;
  /** The job (consumer group) the entries are replayed to; required unless dryRun. */
  readonly job?: string;
  readonly from: TimeBound;
  /** Default now; never later than now (entries the replay itself writes are never replayed). */
  readonly to?: TimeBound;
  /** Only these event types (default all). */
  readonly types?: readonly string[];
  /** Default true: count what would be replayed, write nothing. */
  readonly dryRun?: boolean;
  /** Shadow group name; default `replay-<from ms>-<job>`. */
  readonly shadowGroup?: string;
  /** Leave the shadow group on the streams afterwards (default: deleted once the replay is complete). */
  readonly keepShadowGroup?: boolean;
  /** Entries per read; default 200. */
  readonly batch?: number;
  /** Permille of the time range covered, summed over partitions (total = 1000 x partitions). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ReplayResult {
  readonly dryRun: boolean;
  readonly domain: string;
  readonly job: string | undefined;
  readonly shadowGroup: string | undefined;
  readonly fromId: string;
  readonly toId: string;
  /** Entries read in the range. */
  readonly scanned: number;
  /** Original facts of the wanted types: re-emitted (or, dry, to be). */
  readonly matched: number;
  /** Entries written to the streams (0 on a dry run; less than matched when resuming). */
  readonly emitted: number;
  /** Re-emissions already aimed at a group (deferrals, fired timers, requeues) and other types, left out. */
  readonly skipped: number;
  readonly byType: Readonly<Record<string, number>>;
}

export interface ReplayDeps {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  readonly clock?: Clock;
}

const DEFAULT_BATCH = 200;
const CONSUMER = 'replay';

interface Tally {
  scanned: number;
  matched: number;
  emitted: number;
  skipped: number;
  byType: Record<string, number>;
}

export async function replayRange(deps: ReplayDeps, options: ReplayOptions): Promise<ReplayResult> {
  const { redis, keys } = deps;
  const clock = deps.clock ?? systemClock;
  const dryRun = options.dryRun ?? true;
  const batch = options.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) {
    throw new ValidationError(`replay batch must be an integer in 1..10000, got ${batch}`);
  }
  if (options.job !== undefined) assertKeyName('job', options.job);
  if (!dryRun && options.job === undefined) {
    throw new ValidationError('a replay that writes needs the job to replay to (targetGroup)', [
      { path: 'job', message: 'required unless dry run' },
    ]);
  }
  const now = clock.now();
  const to = options.to === undefined || options.to.ms > now ? { ms: now } : options.to;
  const fromId = rangeStartId(options.from);
  const toId = rangeEndId(to);
  if (compareStreamIds(fromId, toId) > 0) {
    throw new ValidationError(`replay range is empty: ${fromId} is after ${toId}`, [
      { path: 'from', message: 'expected from <= to (and from not in the future)' },
    ]);
  }
  const shadowGroup = dryRun
    ? undefined
    : (options.shadowGroup ?? `replay-${options.from.ms}-${options.job ?? ''}`);
  if (shadowGroup !== undefined) assertKeyName('shadow group', shadowGroup);
  const types = options.types === undefined ? undefined : new Set(options.types);
  const tally: Tally = { scanned: 0, matched: 0, emitted: 0, skipped: 0, byType: {} };
  const span = Math.max(1, to.ms - options.from.ms);
  const partitions = Array.from({ length: options.partitions }, (_, i) => keys.partition(options.domain, i));
  let covered = 0;
  const progress = (entryMs: number): void => {
    const fraction = Math.min(1, Math.max(0, (entryMs - options.from.ms) / span));
    options.onProgress?.(covered + Math.round(fraction * 1000), 1000 * partitions.length);
  };
  if (!dryRun) defineScripts(redis);

  for (const partition of partitions) {
    const take = (fields: readonly string[]): boolean => {
      const header = readEntryHeader(fields);
      tally.scanned += 1;
      if (header.targetGroup !== undefined || (types !== undefined && !types.has(header.type ?? ''))) {
        tally.skipped += 1;
        return false;
      }
      tally.matched += 1;
      tally.byType[header.type ?? ''] = (tally.byType[header.type ?? ''] ?? 0) + 1;
      return true;
    };
    if (dryRun) await countPartition(redis, partition, fromId, toId, batch, take, progress);
    else {
      const plan = { fromId, toId, batch, shadowGroup: shadowGroup ?? '', job: options.job ?? '' };
      tally.emitted += await replayPartition(redis, partition, plan, take, progress);
    }
    covered += 1000;
    options.onProgress?.(covered, 1000 * partitions.length);
  }
  if (!dryRun && shadowGroup !== undefined && options.keepShadowGroup !== true) {
    await Promise.all(partitions.map((p) => destroyGroup(redis, p.stream, shadowGroup)));
  }
  return {
    dryRun,
    domain: options.domain,
    job: options.job,
    shadowGroup,
    fromId,
    toId,
    ...tally,
  };
}

async function countPartition(
  redis: RedisClient,
  partition: PartitionKeys,
  fromId: string,
  toId: string,
  batch: number,
  take: (fields: readonly string[]) => boolean,
  progress: (entryMs: number) => void,
): Promise<void> {
  let start = fromId;
  for (;;) {
    const page = (await redis.xrange(partition.stream, start, toId, 'COUNT', batch)) as [string, string[]][];
    for (const [, fields] of page) take(fields);
    const last = page[page.length - 1];
    if (last === undefined || page.length < batch) return;
    progress(msOf(last[0]));
    start = `(${last[0]}`;
  }
}

async function replayPartition(
  redis: RedisClient,
  partition: PartitionKeys,
  plan: { fromId: string; toId: string; batch: number; shadowGroup: string; job: string },
  take: (fields: readonly string[]) => boolean,
  progress: (entryMs: number) => void,
): Promise<number> {
  const { shadowGroup, toId } = plan;
  let emitted = 0;
  if ((await redis.exists(partition.stream)) === 0) return emitted;
  try {
    await redis.xgroup('CREATE', partition.stream, shadowGroup, streamIdBefore(plan.fromId));
  } catch (error) {
    // an earlier run of the same replay stopped midway: resume from its position and its pending entries
    if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
  }
  // entries the shadow group delivered before an interruption come first ('0'), then new ones ('>')
  for (const cursor of ['0', '>']) {
    for (;;) {
      const entries = await readShadow(redis, partition.stream, shadowGroup, plan.batch, cursor);
      if (entries.length === 0) break;
      const pipeline = redis.pipeline();
      let pastEnd = false;
      for (const { id, fields } of entries) {
        if (compareStreamIds(id, toId) > 0) {
          pastEnd = true;
          break;
        }
        if (fields === undefined) {
          pipeline.xack(partition.stream, shadowGroup, id);
          continue;
        }
        const emit = take(fields);
        const args = emit ? [shadowGroup, id, '1', ...aimedAt(fields, plan.job)] : [shadowGroup, id, '0'];
        queueScript(pipeline, 'replayEmit', [partition.stream], args);
      }
      // script replies: the new entry id (emitted), '' (acked only) or 0 (done by an earlier run); XACK: a count
      const replies = pipelineResults(await pipeline.exec());
      for (const reply of replies) {
        const checked = checkScriptResult('replayEmit', reply);
        if (typeof checked === 'string' && checked !== '') emitted += 1;
        else if (typeof checked !== 'string' && typeof checked !== 'number') {
          throw new ScriptError('replayEmit', 0, `unexpected reply ${String(checked)}`);
        }
      }
      const last = entries[entries.length - 1];
      if (last !== undefined) progress(msOf(last.id));
      if (pastEnd) return emitted;
      // a short page: nothing more pending ('0'), or the end of the stream ('>')
      if (entries.length < plan.batch) break;
    }
  }
  return emitted;
}

async function readShadow(
  redis: RedisClient,
  stream: string,
  group: string,
  count: number,
  cursor: string,
): Promise<{ id: string; fields: string[] | undefined }[]> {
  const reply = (await redis.xreadgroup(
    'GROUP',
    group,
    CONSUMER,
    'COUNT',
    count,
    'STREAMS',
    stream,
    cursor,
  )) as [string, unknown[]][] | null;
  const raw = reply?.[0]?.[1] ?? [];
  return raw.map((item) => {
    const entry = entryOf(item);
    const id = Array.isArray(item) && typeof item[0] === 'string' ? item[0] : '';
    return { id: entry?.id ?? id, fields: entry?.fields };
  });
}

async function destroyGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('DESTROY', stream, group);
  } catch (error) {
    if (!(error instanceof Error) || !/no such key/i.test(error.message)) throw error;
  }
}

/** The entry's fields with targetGroup = the job (the original has none: only originals are replayed). */
function aimedAt(fields: readonly string[], job: string): string[] {
  return [...fields, 'targetGroup', job];
}

function msOf(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}
