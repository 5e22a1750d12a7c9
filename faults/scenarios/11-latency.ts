// Scenario 11: 50 ms of added round-trip latency (25 ms each way) between the workers and Redis, through the
// fault proxy, for the whole run. Nothing may be lost or doubled; the figures show what latency costs.
import { startFaultProxy } from '../fault-proxy.js';
import { commonChecks, resultOf, sized, startRig, type Scenario } from '../harness.js';

const SETTINGS = { CONCURRENCY: 16, CLAIM_FLOOR_MS: 5_000, HEARTBEAT_MS: 1_000 };

export const latency: Scenario = {
  name: '11-latency',
  title: '50 ms added round-trip latency to Redis (fault proxy)',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'latency' });
    const proxy = await startFaultProxy({ host: rig.server.host, port: rig.server.port });
    try {
      proxy.setDelay(25, 'both');
      const events = rig.events(sized(options, { ci: 500, quick: 1_000, full: 5_000 }));
      const workers = await rig.startWorkers(4, { ...SETTINGS, REDIS_URL: proxy.url, WAIT_FOR_GO: true });
      await rig.publish(events);
      const goAt = Date.now();
      for (const w of workers) w.go();
      const recovered = await rig.settle({ applied: events }, 180_000);
      const processingMs = Date.now() - goAt;
      const measured = await rig.measure({ applied: events });
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        startedAt,
        checks: commonChecks(rig),
        details: {
          addedRoundTripMs: 50,
          processingMs,
          eventsPerSecond: Math.round((events.length * 1000) / processingMs),
        },
      });
    } finally {
      await proxy.close();
      await rig.close();
    }
  },
};
