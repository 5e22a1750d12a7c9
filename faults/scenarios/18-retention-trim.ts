// Scenario 18: the retention trimmer runs every 100 ms (no minimum retention, a hard cap below the backlog) while
// two jobs work through a backlog: one fast, one that starts late and slow. The trim never passes a pending or
// undelivered entry of any group, so both jobs apply every event and no data-loss alarm fires; the over-cap
// alarm names the lagging group, and the stream is trimmed behind it.
import { createRetentionLoop } from '../../src/streams/retention-loop.js';
import { createTrimmer } from '../../src/streams/trimmer.js';
import {
  commonChecks,
  DOMAIN,
  JOB,
  PARTITIONS,
  resultOf,
  sized,
  startRig,
  until,
  type Scenario,
} from '../harness.js';

const LAGGING_JOB = 'faults.lagging';
const FAST = { CONCURRENCY: 16 };
const SLOW = { JOB: LAGGING_JOB, CONCURRENCY: 8, HANDLER_DELAY_MS: 20 };

export const retentionTrim: Scenario = {
  name: '18-retention-trim',
  title: 'retention trimming every 100 ms during a backlog, with a late and slow second group',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'retention' });
    const alarms: { pinningGroups: string[] }[] = [];
    let trimmed = 0;
    let trimErrors = 0;
    try {
      const events = rig.events(sized(options, { ci: 1_000, quick: 2_000, full: 20_000 }));
      const hardCap = Math.max(100, Math.floor(events.length / PARTITIONS / 4));
      await rig.publish(events);
      const loop = createRetentionLoop({
        trimmer: createTrimmer({
          redis: rig.redis,
          keys: rig.keys,
          logger: {
            warn: (obj) => alarms.push(obj as { pinningGroups: string[] }),
            error: () => undefined,
          },
        }),
        domains: [{ domain: DOMAIN, partitions: PARTITIONS, groups: [JOB, LAGGING_JOB] }],
        policy: {
          minRetentionMs: 0,
          hardCap,
          dropUnackedDomains: [],
          dlqMaxLen: 1_000,
          dlqMaxAgeMs: 3_600_000,
        },
        intervalMs: 100,
      });
      loop.on('trimmed', ({ result }) => (trimmed += result.trimmed));
      loop.on('error', () => (trimErrors += 1));
      loop.start();

      await rig.startWorkers(2, FAST);
      await until(() => rig.downstream.totalApplied >= events.length * 0.5, 120_000);
      const trimmedBeforeLagging = trimmed;
      await rig.startWorker(SLOW);
      const expected = { applied: events, jobs: [JOB, LAGGING_JOB] };
      const recovered = await rig.settle(expected, 240_000);
      await loop.runOnce();
      await loop.stop();
      const measured = await rig.measure(expected);
      let length = 0;
      for (const p of rig.partitions) length += await rig.redis.xlen(p.stream);
      const checks = commonChecks(rig);
      if (trimmedBeforeLagging > 0) {
        checks.push(`${trimmedBeforeLagging} entries trimmed while a known group did not exist yet`);
      }
      if (trimErrors > 0) checks.push(`${trimErrors} trim errors`);
      if (trimmed === 0) checks.push('nothing was trimmed');
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        startedAt,
        checks,
        details: {
          trimmed,
          streamLengthAtEnd: length,
          hardCapPerPartition: hardCap,
          overCapAlarms: alarms.length,
          pinning: [...new Set(alarms.flatMap((a) => a.pinningGroups))],
        },
      });
    } finally {
      await rig.close();
    }
  },
};
