// Scenario 2: a consumer is killed with SIGKILL every 2 s (and replaced) while four work through a backlog. Its
// in-flight entries stay pending and are claimed by the others once idle past the claim floor.
import { commonChecks, resultOf, sized, startRig, type Scenario } from '../harness.js';
import { churnWorkers } from '../worker-churn.js';

const SETTINGS = { CONCURRENCY: 8, HANDLER_DELAY_MS: 40, CLAIM_FLOOR_MS: 2_000, HEARTBEAT_MS: 400 };

export const killConsumers: Scenario = {
  name: '02-kill-consumers',
  title: 'kill -9 a consumer every 2 s (replaced), 4 consumers',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'kill-consumers' });
    try {
      // at least ~4 s of work at 32 handlers x 40 ms, so the first kill (at 2 s) always lands mid-run
      const events = rig.events(sized(options, { ci: 3_200, quick: 3_000, full: 20_000 }));
      await rig.publish(events);
      await rig.startWorkers(4, SETTINGS);
      const churn = churnWorkers(rig, SETTINGS, {
        everyMs: 2_000,
        max: { ci: 4, quick: 8, full: 30 }[options.size],
        hit: (w) => w.kill9(),
      });
      let recovered = await rig.settle({ applied: events }, 180_000);
      await churn.stop();
      // a replacement started after the last kill may still be reclaiming: settle again
      recovered = recovered && (await rig.settle({ applied: events }, 30_000));
      const measured = await rig.measure({ applied: events });
      const checks = commonChecks(rig);
      if (churn.count === 0) checks.push('no consumer was killed: the run ended before the first kill');
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        startedAt,
        checks,
        details: {
          kills: churn.count,
          claimFloorMs: SETTINGS.CLAIM_FLOOR_MS,
          replacementsNotStarted: churn.errors.length,
        },
      });
    } finally {
      await rig.close();
    }
  },
};
