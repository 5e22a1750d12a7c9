// Scenario 8: Redis frozen for 5 s twice under load: first the process is stopped (SIGSTOP, then SIGCONT), then
// every client is paused (CLIENT PAUSE 5000 ALL). Commands wait; nothing may be lost or doubled, and work resumes.
import { commonChecks, resultOf, sized, sleep, startRig, until, type Scenario } from '../harness.js';

// claim floor above the freeze: a frozen Redis keeps counting idle time, and entries must not change owner for it
const SETTINGS = { CONCURRENCY: 16, HANDLER_DELAY_MS: 50, CLAIM_FLOOR_MS: 10_000, HEARTBEAT_MS: 2_000 };

export const redisFrozen: Scenario = {
  name: '08-redis-frozen',
  title: 'Redis frozen 5 s (SIGSTOP), then all clients paused 5 s (CLIENT PAUSE)',
  async run(options) {
    const startedAt = Date.now();
    const freezeMs = options.size === 'full' ? 5_000 : 2_000;
    const rig = await startRig({ name: 'frozen' });
    try {
      const events = rig.events(sized(options, { ci: 1_500, quick: 3_000, full: 10_000 }));
      await rig.publish(events);
      await rig.startWorkers(4, SETTINGS);

      await until(() => rig.downstream.totalApplied >= events.length * 0.2, 120_000);
      await rig.server.stop();
      await sleep(freezeMs);
      await rig.server.cont();
      const stopRecoveryMs = await rig.recoveryAfter(Date.now());

      await until(() => rig.downstream.totalApplied >= events.length * 0.5, 120_000);
      const pausedAt = Date.now();
      await rig.redis.call('CLIENT', 'PAUSE', String(freezeMs), 'ALL');
      const pauseRecoveryMs = await rig.recoveryAfter(pausedAt + freezeMs);

      const recovered = await rig.settle({ applied: events }, 180_000);
      const measured = await rig.measure({ applied: events });
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        recoveryMs: Math.max(stopRecoveryMs ?? Infinity, pauseRecoveryMs ?? Infinity),
        startedAt,
        checks: commonChecks(rig),
        details: {
          freezeMs,
          stopRecoveryMs,
          pauseRecoveryMs,
          workerLoopErrors: rig.workerLines('loopError').length,
        },
      });
    } finally {
      await rig.close();
    }
  },
};
