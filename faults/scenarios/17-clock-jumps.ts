// Scenario 17: the workers' clocks jump by +1 h and -1 h every 100 ms (through the runner's injected clock) while
// they schedule events for their own time (job runAt, due 1-4 s ahead) and handle the fired timers. Redis TIME is
// the judge: no timer may fire, and no effect be applied, before its due time; nor may a clock ahead delay one.
import type { EventEnvelope } from '../../src/events/envelope.js';
import { decodeEntry } from '../../src/events/wire.js';
import { commonChecks, JOB, redisNow, resultOf, sized, startRig, type Scenario } from '../harness.js';

const HOUR_MS = 3_600_000;
const SETTINGS = {
  CONCURRENCY: 16,
  RUN_AT: true,
  CLOCK_OFFSETS: `${HOUR_MS},${-HOUR_MS}`,
  CLOCK_JUMP_MS: 100,
  CLAIM_FLOOR_MS: 5_000,
  HEARTBEAT_MS: 1_000,
};
/** A timer applied later than this after its due time counts as late (mover poll and handling included). */
const LATE_MS = 3_000;

export const clockJumps: Scenario = {
  name: '17-clock-jumps',
  title: "workers' clocks jump ±1 h (injected clock); Redis time judges the timers",
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'clock-jumps' });
    try {
      const count = sized(options, { ci: 300, quick: 600, full: 3_000 });
      await rig.startWorkers(2, SETTINGS);
      const mover = await rig.startMover({ MAX_POLL_MS: 200 });
      const now = await redisNow(rig.redis);
      const events: EventEnvelope[] = Array.from({ length: count }, (_, i) => {
        const betId = `clock-${i}`;
        const dueMs = now + 1_000 + Math.floor(Math.random() * 3_000);
        return rig.event(betId, { betId, tEnd: new Date(dueMs).toISOString() });
      });
      await rig.publish(events);
      const recovered = await rig.settle({ applied: events }, 30_000);
      const measured = await rig.measure({ applied: events });

      const due = (e: EventEnvelope): number => Date.parse((e.data as { tEnd: string }).tEnd);
      let early = 0;
      let late = 0;
      let maxLateMs = 0;
      for (const e of events) {
        const appliedAt = rig.downstream.history(rig.keyOf(e))?.appliedAt;
        if (appliedAt === undefined) {
          late += 1;
          continue;
        }
        if (appliedAt < due(e)) early += 1;
        maxLateMs = Math.max(maxLateMs, appliedAt - due(e));
        if (appliedAt - due(e) > LATE_MS) late += 1;
      }
      // the fired re-emissions (targetGroup = the job) entered the stream at or after their due time
      for (const p of rig.partitions) {
        for (const [entryId, fields] of await rig.redis.xrange(p.stream, '-', '+')) {
          const event = decodeEntry(fields);
          if (event.targetGroup !== JOB) continue;
          if (Number(entryId.split('-')[0]) < due(event)) early += 1;
        }
      }
      let onWheel = 0;
      let wheelDueInMs = 0;
      const endedAt = await redisNow(rig.redis);
      for (const p of rig.partitions) {
        const scores = await rig.redis.zrange(p.timers, '0', '-1', 'WITHSCORES');
        for (let i = 1; i < scores.length; i += 2) {
          onWheel += 1;
          wheelDueInMs = Math.max(wheelDueInMs, Number(scores[i]) - endedAt);
        }
      }
      // an event still on the wheel is held, not lost: report it as late, not lost
      const lost = Math.max(0, measured.lost - onWheel);
      const checks = commonChecks(rig);
      if (late > 0) {
        checks.push(
          `${late} timers late by more than ${LATE_MS} ms (or still waiting): a worker clock moved their due time`,
        );
      }
      return resultOf(this.name, {
        events: count,
        measured: { ...measured, lost },
        recovered,
        earlyTimers: early,
        startedAt,
        checks,
        details: {
          late,
          maxLateMs,
          stillOnWheel: onWheel,
          stillOnWheelDueInS: Math.round(wheelDueInMs / 1000),
          moverErrors: mover.errors().length,
        },
      });
    } finally {
      await rig.close();
    }
  },
};
