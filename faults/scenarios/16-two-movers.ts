// Scenario 16: two timer movers share the wheel and one is killed with SIGKILL mid-run. The move script takes,
// XADDs, tombstones and removes a timer in one call, so each timer enters the stream once, never before its due
// time (Redis TIME), and the survivor moves the rest. Consumers apply the fired events downstream.
import type { EventEnvelope } from '../../src/events/envelope.js';
import { decodeEntry } from '../../src/events/wire.js';
import { createTimerWheel, type TimerRequest } from '../../src/scheduler/timer-wheel.js';
import { commonChecks, redisNow, resultOf, sized, startRig, until, type Scenario } from '../harness.js';

const SETTINGS = { CONCURRENCY: 32 };

export const twoMovers: Scenario = {
  name: '16-two-movers',
  title: 'two timer movers, kill -9 of one mid-run',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'two-movers' });
    try {
      const count = sized(options, { ci: 1_000, quick: 3_000, full: 10_000 });
      const spreadMs = { ci: 3_000, quick: 4_000, full: 8_000 }[options.size];
      await rig.startWorkers(2, SETTINGS);
      // small batches: many script calls in flight when the kill lands
      const [a, b] = await Promise.all([rig.startMover({ BATCH: 20 }), rig.startMover({ BATCH: 20 })]);
      const wheel = createTimerWheel({ redis: rig.redis, keys: rig.keys });
      const base = (await redisNow(rig.redis)) + 1_000;
      const events: EventEnvelope[] = [];
      const byPartition = new Map<
        string,
        { partition: ReturnType<typeof rig.partitionOf>; timers: TimerRequest[] }
      >();
      for (let i = 0; i < count; i++) {
        const dueMs = base + Math.floor((i * spreadMs) / count);
        const betId = `timer-${i}`;
        const event = rig.event(betId, { betId, tEnd: new Date(dueMs).toISOString() });
        events.push(event);
        const partition = rig.partitionOf(betId);
        const group = byPartition.get(partition.stream) ?? { partition, timers: [] };
        group.timers.push({ id: `faults:${betId}`, dueMs, event });
        byPartition.set(partition.stream, group);
      }
      for (const { partition, timers } of byPartition.values()) {
        for (let i = 0; i < timers.length; i += 500)
          await wheel.scheduleMany(partition, timers.slice(i, i + 500));
      }
      await until(() => a.moved() + b.moved() >= count * 0.4, 60_000);
      const movedAtKill = a.moved() + b.moved();
      await a.kill9();
      const recovered = await rig.settle({ applied: events }, 60_000 + spreadMs);
      const measured = await rig.measure({ applied: events });

      // judge every fired entry by its stream id (Redis time of the XADD) against its due time
      const fired = new Map<string, number>();
      let early = 0;
      let maxLateMs = 0;
      for (const p of rig.partitions) {
        for (const [entryId, fields] of await rig.redis.xrange(p.stream, '-', '+')) {
          const { betId, tEnd } = decodeEntry(fields).data as { betId: string; tEnd: string };
          fired.set(betId, (fired.get(betId) ?? 0) + 1);
          const lateMs = Number(entryId.split('-')[0]) - Date.parse(tEnd);
          if (lateMs < 0) early += 1;
          maxLateMs = Math.max(maxLateMs, lateMs);
        }
      }
      // the downstream's first application, too: never before the due time
      for (const e of events) {
        const appliedAt = rig.downstream.history(rig.keyOf(e))?.appliedAt;
        const due = Date.parse((e.data as { tEnd: string }).tEnd);
        if (appliedAt !== undefined && appliedAt < due) early += 1;
      }
      const firedTwice = [...fired.values()].filter((n) => n > 1).length;
      const checks = commonChecks(rig);
      if (firedTwice > 0) checks.push(`${firedTwice} timers entered the stream more than once`);
      if (a.errors().length + b.errors().length > 0) {
        checks.push(`mover errors: ${[...a.errors(), ...b.errors()].slice(0, 2).join('; ')}`);
      }
      return resultOf(this.name, {
        events: count,
        measured,
        recovered,
        earlyTimers: early,
        startedAt,
        checks,
        details: {
          movedAtKill,
          movedByKilled: a.moved(),
          movedBySurvivor: b.moved(),
          timersFired: fired.size,
          firedTwice,
          maxLateMs,
          remainingOnWheel: (await Promise.all(rig.partitions.map((p) => rig.redis.zcard(p.timers)))).reduce(
            (x, y) => x + y,
            0,
          ),
        },
      });
    } finally {
      await rig.close();
    }
  },
};
