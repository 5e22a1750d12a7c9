// Scenario 9: every second, every worker connection is killed on the Redis side (CLIENT KILL), including blocked
// reads and connections with replies in flight. ioredis reconnects; entries whose read reply was lost sit in the
// consumer's pending list and are claimed after the claim floor.
import {
  commonChecks,
  HARNESS_CLIENT_NAME,
  resultOf,
  sized,
  sleep,
  startRig,
  type Scenario,
} from '../harness.js';

const SETTINGS = { CONCURRENCY: 16, HANDLER_DELAY_MS: 100, CLAIM_FLOOR_MS: 2_000, HEARTBEAT_MS: 400 };

export const clientKill: Scenario = {
  name: '09-client-kill',
  title: 'CLIENT KILL of every worker connection every second',
  async run(options) {
    const startedAt = Date.now();
    const rounds = options.size === 'full' ? 20 : 8;
    const rig = await startRig({ name: 'client-kill' });
    try {
      const events = rig.events(sized(options, { ci: 1_500, quick: 3_000, full: 10_000 }));
      await rig.publish(events);
      await rig.startWorkers(4, SETTINGS);
      let killed = 0;
      let lastKillAt = Date.now();
      for (let round = 0; round < rounds && rig.downstream.totalApplied < events.length; round++) {
        await sleep(1_000);
        const list = (await rig.redis.call('CLIENT', 'LIST', 'TYPE', 'normal')) as string;
        for (const line of list.split('\n')) {
          const fields = Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string]));
          if (fields['id'] === undefined || fields['name'] === HARNESS_CLIENT_NAME) continue;
          killed += Number(await rig.redis.call('CLIENT', 'KILL', 'ID', fields['id']));
        }
        lastKillAt = Date.now();
      }
      // measured only when work was left after the last kill
      const recoveryMs =
        rig.downstream.totalApplied < events.length ? await rig.recoveryAfter(lastKillAt) : null;
      const recovered = await rig.settle({ applied: events }, 180_000);
      const measured = await rig.measure({ applied: events });
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        recoveryMs,
        startedAt,
        checks: commonChecks(rig),
        details: {
          connectionsKilled: killed,
          claimed: rig.workers.flatMap((w) => w.outcomes).filter((o) => o.source === 'claimed').length,
          workerLoopErrors: rig.workerLines('loopError').length,
        },
      });
    } finally {
      await rig.close();
    }
  },
};
