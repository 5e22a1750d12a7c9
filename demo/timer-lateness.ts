// Timer lateness as the demo reports it: handler start minus the time a fired timer was due (a runAt job's own time,
// e.g. a bet's T_end, or when its fact was published if that was later; a cron tick's instant), measured by wrapping
// each pack job's handler. Re-emitted deferrals are not timed: the jitter added to their due time is not in the event.
import type { EventEnvelope } from '../src/events/envelope.js';
import { definitionOf } from '../src/jobs/catalog.js';
import type { JobPack, PackJob } from '../src/jobs/catalog.js';
import type { JobDefinition, JobHandler, RunAt } from '../src/pipelines/job-definition.js';
import { CRON_TICK_TYPE, cronTickDataSchema } from '../src/scheduler/cron-tick-event.js';

/** Called once per first attempt of a fired timer: its job and how late its handler started (ms, >= 0). */
export type LatenessRecorder = (job: string, lateMs: number) => void;

/** When the event's timer was due, if it is a fired timer on its first run; undefined otherwise. */
export function dueTimeOf(job: string, runAt: RunAt | undefined, event: EventEnvelope): number | undefined {
  if (event.repetition !== undefined) return undefined;
  if (event.type === CRON_TICK_TYPE) {
    const tick = cronTickDataSchema.safeParse(event.data);
    return tick.success && tick.data.cause === 'schedule' ? Date.parse(tick.data.tick) : undefined;
  }
  // a runAt job handles only its fired timers (and DLQ replays, which the demo sends to jobs without runAt)
  if (runAt === undefined || event.targetGroup !== job) return undefined;
  const at = runAt.at(event);
  // a fact published after its own time (found by a sweeper) could not fire earlier than it was published
  return at === undefined ? undefined : Math.max(at, Date.parse(event.occurredAt));
}

/** The definition with its handler timed; everything else unchanged. */
export function timedDefinition(
  definition: JobDefinition<never>,
  record: LatenessRecorder,
  now: () => number = Date.now,
): JobDefinition<never> {
  const inner = definition.handler as JobHandler;
  const runAt = definition.runAt as RunAt | undefined;
  const handler: JobHandler = (event, ctx) => {
    if (ctx.failures === 0) {
      const due = dueTimeOf(definition.name, runAt, event);
      if (due !== undefined && Number.isFinite(due)) record(definition.name, Math.max(0, now() - due));
    }
    return inner(event, ctx);
  };
  return { ...definition, handler };
}

/** The packs with every job's handler timed; the jobs are read when the worker reads them (packs built from env). */
export function withTimerLateness(packs: readonly JobPack[], record: LatenessRecorder): JobPack[] {
  return packs.map((pack) => ({
    name: pack.name,
    register: (registry) => pack.register(registry),
    get jobs(): readonly PackJob[] {
      return pack.jobs.map((job) => ({
        ...job,
        definition: (context) => timedDefinition(definitionOf(job, context), record),
      }));
    },
  }));
}
