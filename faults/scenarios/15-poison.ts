// Scenario 15: poison events among healthy ones: invalid data (XADDed past the publisher's validation), a handler
// that always throws, and a handler that crashes its process on every delivery (restarted each time, as k8s
// would). Each goes to the DLQ with its reason (invalid, failures exhausted, crash-loop); every healthy event is
// applied, including those the crashing workers held.
import type { EventEnvelope } from '../../src/events/envelope.js';
import { encodeEvent } from '../../src/events/wire.js';
import { commonChecks, resultOf, sized, sleep, startRig, type Scenario } from '../harness.js';

const MAX_DELIVERIES = 3;
const SETTINGS = {
  CONCURRENCY: 16,
  HANDLER_DELAY_MS: 20,
  POISON: true,
  MAX_ATTEMPTS: 3,
  BACKOFF_BASE_MS: 50,
  MAX_DELIVERIES,
  CLAIM_FLOOR_MS: 1_500,
  HEARTBEAT_MS: 300,
};
const CONSUMERS = 3;

export const poison: Scenario = {
  name: '15-poison',
  title: 'poison events: invalid data, always-throwing handler, crash-looping handler',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'poison' });
    let supervising = true;
    try {
      const healthy = rig.events(sized(options, { ci: 300, quick: 600, full: 3_000 }));
      const throwing = rig.events(3, 'poison-throw');
      const crashing = rig.events(options.size === 'full' ? 2 : 1, 'poison-crash');
      const invalid = Array.from({ length: 3 }, (_, i) => rig.event(`invalid-${i}`, { betId: i }));
      const dead = new Map<string, string>([
        ...invalid.map((e): [string, string] => [e.id, 'invalid']),
        ...throwing.map((e): [string, string] => [e.id, 'failures exhausted']),
        ...crashing.map((e): [string, string] => [e.id, 'crash-loop']),
      ]);
      const mixed: EventEnvelope[] = [...healthy];
      for (const e of [...throwing, ...crashing])
        mixed.splice(Math.floor(Math.random() * mixed.length), 0, e);
      await rig.publish(mixed);
      // invalid data never passes the publisher: a foreign producer's raw XADD
      for (const e of invalid) await rig.xaddRaw({ key: e.key, fields: encodeEvent(e) });

      await rig.startWorkers(CONSUMERS, SETTINGS);
      // the supervisor: a crashed worker is replaced, like a pod restart
      let crashes = 0;
      const supervisor = (async () => {
        while (supervising) {
          await sleep(200);
          const missing = CONSUMERS - rig.alive().length;
          for (let i = 0; i < missing && supervising; i++) {
            crashes += 1;
            await rig.startWorker(SETTINGS).catch(() => undefined);
          }
        }
      })();
      const recovered = await rig.settle({ applied: healthy, dead }, 180_000);
      supervising = false;
      await supervisor;
      const measured = await rig.measure({ applied: healthy, dead });
      const reasons: Record<string, number> = {};
      for (const letter of measured.deadLetters) {
        reasons[letter.reason ?? '?'] = (reasons[letter.reason ?? '?'] ?? 0) + 1;
      }
      const checks = commonChecks(rig);
      const healthyDead = measured.deadLetters.filter((d) => !dead.has(d.eventId ?? '')).length;
      if (healthyDead > 0) checks.push(`${healthyDead} healthy events were dead-lettered`);
      return resultOf(this.name, {
        events: healthy.length + dead.size,
        measured,
        recovered,
        startedAt,
        checks,
        details: {
          healthy: healthy.length,
          poison: { invalid: invalid.length, throwing: throwing.length, crashing: crashing.length },
          dlqReasons: reasons,
          workerRestarts: crashes,
          maxDeliveries: MAX_DELIVERIES,
        },
      });
    } finally {
      supervising = false;
      await rig.close();
    }
  },
};
