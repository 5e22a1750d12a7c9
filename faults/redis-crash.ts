// Scenarios 5 and 6: Redis is killed with SIGKILL mid-run (producer publishing, consumers acking) and restarted
// on the same AOF. Every event the producer saw confirmed must still be applied once; lost acks only redeliver.
import type { EventEnvelope } from '../src/events/envelope.js';
import { commonChecks, resultOf, sized, sleep, startRig, until, type Scenario } from './harness.js';

const SETTINGS = { CONCURRENCY: 16, HANDLER_DELAY_MS: 20, CLAIM_FLOOR_MS: 2_000, HEARTBEAT_MS: 400 };
const DOWN_MS = 1_000;

/** Publishes in small chunks at a steady pace, retrying a chunk until Redis confirms it (idempotent by id). */
function steadyProducer(
  publish: (chunk: readonly EventEnvelope[]) => Promise<unknown>,
  events: readonly EventEnvelope[],
  chunk: number,
  pauseMs: number,
): { done: Promise<void>; confirmed(): number; failures(): number } {
  let confirmed = 0;
  let failures = 0;
  const done = (async () => {
    for (let i = 0; i < events.length; i += chunk) {
      const part = events.slice(i, i + chunk);
      for (;;) {
        try {
          await publish(part);
          break;
        } catch {
          failures += 1;
          await sleep(100);
        }
      }
      confirmed += part.length;
      await sleep(pauseMs);
    }
  })();
  return { done, confirmed: () => confirmed, failures: () => failures };
}

export function redisCrashScenario(name: string, appendfsync: 'always' | 'everysec'): Scenario {
  return {
    name,
    title: `kill -9 Redis (appendfsync ${appendfsync}) mid-run and restart it on its AOF`,
    async run(options) {
      const startedAt = Date.now();
      const rig = await startRig({ name: `redis-kill-${appendfsync}`, redis: { appendfsync } });
      try {
        const events = rig.events(sized(options, { ci: 1_000, quick: 3_000, full: 20_000 }));
        await rig.startWorkers(4, SETTINGS);
        const producer = steadyProducer((part) => rig.publish(part), events, 50, 40);
        await until(() => rig.downstream.totalApplied >= events.length * 0.4, 120_000);
        const confirmedAtKill = producer.confirmed();
        const appliedAtKill = rig.downstream.totalApplied;
        await rig.server.kill9();
        await sleep(DOWN_MS);
        await rig.server.restart();
        const restartedAt = Date.now();
        const recoveryMs = await rig.recoveryAfter(restartedAt);
        await producer.done;
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
            appendfsync,
            confirmedAtKill,
            appliedAtKill,
            downMs: DOWN_MS,
            publishRetries: producer.failures(),
            workerLoopErrors: rig.workerLines('loopError').length,
          },
        });
      } finally {
        await rig.close();
      }
    },
  };
}
