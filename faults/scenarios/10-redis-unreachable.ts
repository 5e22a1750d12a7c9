// Scenario 10: Redis unreachable from the workers for 10 s through the fault proxy, twice: first a blackhole
// (packets vanish, connections hang, then are cut), then a refusal (connections reset, new ones refused). The
// producer keeps publishing directly to Redis meanwhile; the workers catch up once Redis is reachable again.
import { startFaultProxy } from '../fault-proxy.js';
import { commonChecks, resultOf, sized, sleep, startRig, until, type Scenario } from '../harness.js';

const SETTINGS = { CONCURRENCY: 16, HANDLER_DELAY_MS: 30, CLAIM_FLOOR_MS: 3_000, HEARTBEAT_MS: 500 };

export const redisUnreachable: Scenario = {
  name: '10-redis-unreachable',
  title: 'Redis unreachable for 10 s through the fault proxy (blackhole, then refused)',
  async run(options) {
    const startedAt = Date.now();
    const outageMs = { ci: 2_000, quick: 3_000, full: 10_000 }[options.size];
    const rig = await startRig({ name: 'unreachable' });
    const proxy = await startFaultProxy({ host: rig.server.host, port: rig.server.port });
    try {
      const events = rig.events(sized(options, { ci: 1_000, quick: 3_000, full: 10_000 }));
      const first = events.slice(0, Math.floor(events.length / 2));
      const rest = events.slice(first.length);
      await rig.publish(first);
      await rig.startWorkers(4, { ...SETTINGS, REDIS_URL: proxy.url });

      await until(() => rig.downstream.totalApplied >= first.length * 0.3, 120_000);
      proxy.drop();
      // the producer is not behind the proxy: the backlog grows during the outage
      const publishing = rig.publish(rest.slice(0, rest.length / 2));
      await sleep(outageMs);
      await publishing;
      proxy.restore();
      const blackholeRecoveryMs = await rig.recoveryAfter(Date.now());

      await until(() => rig.downstream.totalApplied >= first.length * 0.8, 120_000);
      proxy.refuse(true);
      proxy.cut();
      const publishingMore = rig.publish(rest.slice(rest.length / 2));
      await sleep(outageMs);
      await publishingMore;
      proxy.refuse(false);
      const refusedRecoveryMs = await rig.recoveryAfter(Date.now());

      const recovered = await rig.settle({ applied: events }, 180_000);
      const measured = await rig.measure({ applied: events });
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        recoveryMs: Math.max(blackholeRecoveryMs ?? Infinity, refusedRecoveryMs ?? Infinity),
        startedAt,
        checks: commonChecks(rig),
        details: {
          outageMs,
          blackholeRecoveryMs,
          refusedRecoveryMs,
          proxy: proxy.stats(),
          workerLoopErrors: rig.workerLines('loopError').length,
        },
      });
    } finally {
      await proxy.close();
      await rig.close();
    }
  },
};
