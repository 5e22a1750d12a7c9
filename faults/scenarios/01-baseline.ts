// Scenario 1: no fault. Four consumers work through a backlog; the figures every other scenario is read against.
import { commonChecks, resultOf, sized, startRig, type Scenario } from '../harness.js';

export const baseline: Scenario = {
  name: '01-baseline',
  title: 'baseline: a backlog, 4 consumers, no fault',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'baseline' });
    try {
      const events = rig.events(sized(options, { ci: 1_000, quick: 2_000, full: 20_000 }));
      const workers = await rig.startWorkers(4, { WAIT_FOR_GO: true, CONCURRENCY: 16 });
      await rig.publish(events);
      const goAt = Date.now();
      for (const w of workers) w.go();
      const recovered = await rig.settle({ applied: events }, 120_000);
      const processingMs = Date.now() - goAt;
      const measured = await rig.measure({ applied: events });
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        startedAt,
        checks: commonChecks(rig),
        details: {
          consumers: 4,
          processingMs,
          eventsPerSecond: Math.round((events.length * 1000) / processingMs),
        },
      });
    } finally {
      await rig.close();
    }
  },
};
