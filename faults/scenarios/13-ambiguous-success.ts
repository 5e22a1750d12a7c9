// Scenario 13: the downstream applies the effect, then the connection drops before the answer (ambiguous success)
// on the first request of 30% of the events. The worker cannot know: it retries, the downstream sees the same
// Idempotency-Key and replays the stored answer. Each effect is applied once.
import { fnv1a32 } from '../../src/events/partition.js';
import { commonChecks, resultOf, sized, startRig, type Scenario } from '../harness.js';

const SETTINGS = { CONCURRENCY: 16, BACKOFF_BASE_MS: 100, CLAIM_FLOOR_MS: 5_000, HEARTBEAT_MS: 1_000 };
const SHARE_PERCENT = 30;

export const ambiguousSuccess: Scenario = {
  name: '13-ambiguous-success',
  title: 'downstream applies, then the connection drops before the answer (30% of first requests)',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'ambiguous' });
    try {
      const events = rig.events(sized(options, { ci: 300, quick: 1_000, full: 5_000 }));
      rig.downstream.setPolicy(({ key, attempt }) =>
        attempt === 1 && fnv1a32(key) % 100 < SHARE_PERCENT ? { kind: 'applyThenDrop' } : undefined,
      );
      await rig.publish(events);
      await rig.startWorkers(4, SETTINGS);
      const recovered = await rig.settle({ applied: events }, 120_000);
      const measured = await rig.measure({ applied: events });
      const dropped = rig.downstream.faultCounts()['applyThenDrop'] ?? 0;
      const checks = commonChecks(rig);
      // every dropped answer must have been retried and answered from the stored reply
      const unanswered = events.filter((e) => {
        const history = rig.downstream.history(rig.keyOf(e));
        return history !== undefined && history.faults[0] === 'applyThenDrop' && history.requests.length < 2;
      }).length;
      if (unanswered > 0) checks.push(`${unanswered} dropped answers were never retried`);
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        startedAt,
        checks,
        details: { droppedAnswers: dropped },
      });
    } finally {
      await rig.close();
    }
  },
};
