// Scenario 3: every handler takes 3 s, three times the claim floor (reclaim idle time). The heartbeat refreshes the
// idle time of held entries, so no other consumer claims them: no duplicated delivery at all.
import { commonChecks, resultOf, sized, startRig, type Scenario } from '../harness.js';

const SETTINGS = { CONCURRENCY: 50, HANDLER_DELAY_MS: 3_000, CLAIM_FLOOR_MS: 1_000, HEARTBEAT_MS: 250 };

export const slowHandler: Scenario = {
  name: '03-slow-handler',
  title: 'handler (3 s) slower than the claim floor (1 s): the heartbeat keeps it',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'slow-handler' });
    try {
      const events = rig.events(sized(options, { ci: 100, quick: 200, full: 600 }));
      await rig.publish(events);
      await rig.startWorkers(2, SETTINGS);
      const recovered = await rig.settle({ applied: events }, 120_000);
      const measured = await rig.measure({ applied: events });
      const claimed = rig.workers.flatMap((w) => w.outcomes).filter((o) => o.source === 'claimed').length;
      const checks = commonChecks(rig);
      if (measured.duplicatedDeliveries > 0 || claimed > 0) {
        checks.push(
          `slow handlers lost their entries to reclaim: ${measured.duplicatedDeliveries} duplicated, ${claimed} claimed`,
        );
      }
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        startedAt,
        checks,
        details: { handlerMs: SETTINGS.HANDLER_DELAY_MS, claimFloorMs: SETTINGS.CLAIM_FLOOR_MS, claimed },
      });
    } finally {
      await rig.close();
    }
  },
};
