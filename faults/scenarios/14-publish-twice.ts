// Scenario 14: producers publish every event twice. Two publishers (own connections) race with the same events;
// the publish script's dedupe by event id writes each once. A share is also XADDed twice by a "foreign" producer
// that bypasses the publisher (as a producer in another language may): those duplicates reach the stream, and the
// consumers' dedupe marks or the downstream's Idempotency-Key keep them from being applied twice.
import { createPublisher } from '../../src/events/publisher.js';
import { commonChecks, PARTITIONS, resultOf, sized, startRig, type Scenario } from '../harness.js';

const SETTINGS = { CONCURRENCY: 16 };
const RAW_SHARE = 0.1;

export const publishTwice: Scenario = {
  name: '14-publish-twice',
  title: 'every event published twice (two racing publishers; 10% XADDed twice without the publisher)',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'publish-twice' });
    try {
      const events = rig.events(sized(options, { ci: 600, quick: 2_000, full: 20_000 }));
      const rawCount = Math.floor(events.length * RAW_SHARE);
      const raw = events.slice(0, rawCount);
      const published = events.slice(rawCount);
      const second = createPublisher({
        redis: rig.connect(),
        keys: rig.keys,
        registry: rig.registry,
        partitions: () => PARTITIONS,
      });
      const workers = await rig.startWorkers(4, { ...SETTINGS, WAIT_FOR_GO: true });
      for (const w of workers) w.go();
      // the two publishers race: one in order, one in reverse, so repeats land while the first copies are handled
      const [, , rawIds] = await Promise.all([
        rig.publish(published),
        rig.publish([...published].reverse(), second),
        (async () => {
          const ids: string[] = [];
          for (const e of raw) ids.push(await rig.xaddRaw(e), await rig.xaddRaw(e));
          return ids;
        })(),
      ]);
      const recovered = await rig.settle({ applied: events }, 120_000);
      const measured = await rig.measure({ applied: events });
      let streamEntries = 0;
      for (const p of rig.partitions) streamEntries += await rig.redis.xlen(p.stream);
      const outcomes = rig.workers.flatMap((w) => w.outcomes);
      const checks = commonChecks(rig);
      const expectedEntries = published.length + rawIds.length;
      if (streamEntries !== expectedEntries) {
        checks.push(`stream holds ${streamEntries} entries, expected ${expectedEntries} (publisher dedupe)`);
      }
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        startedAt,
        checks,
        details: {
          publishAttempts: published.length * 2 + rawIds.length,
          streamEntries,
          refusedByPublisher: published.length,
          rawDuplicatesInStream: rawCount,
          skippedByDedupeMarks: outcomes.filter((o) => o.kind === 'duplicate').length,
        },
      });
    } finally {
      await rig.close();
    }
  },
};
