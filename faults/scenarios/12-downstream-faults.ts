// Scenario 12: the downstream misbehaves on the first request of 40% of the events: 500, 429 with Retry-After: 1,
// a hang (the handler's 1 s timeout ends it), a connection reset, or a slow answer (0.8 s, under the timeout). The worker maps answers with
// the sinks' status mapping, so a 429 is retried no sooner than its Retry-After.
import { fnv1a32 } from '../../src/events/partition.js';
import type { Fault } from '../downstream.js';
import { commonChecks, resultOf, sized, startRig, type Scenario } from '../harness.js';

const SETTINGS = {
  CONCURRENCY: 16,
  STATUS_MAPPING: true,
  HANDLER_TIMEOUT_MS: 1_000,
  BACKOFF_BASE_MS: 100,
  CLAIM_FLOOR_MS: 5_000,
  HEARTBEAT_MS: 1_000,
};
const RETRY_AFTER_S = 1;

/** The fault of a key's first request, by a stable hash of the key (the next requests are served normally). */
function faultFor(key: string): Fault | undefined {
  const bucket = fnv1a32(key) % 20;
  if (bucket < 2) return { kind: 'status', status: 500 };
  if (bucket < 4) return { kind: 'status', status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) } };
  if (bucket < 5) return { kind: 'hang' };
  if (bucket < 6) return { kind: 'reset' };
  if (bucket < 8) return { kind: 'slow', ms: 800 };
  return undefined;
}

export const downstreamFaults: Scenario = {
  name: '12-downstream-faults',
  title: 'downstream 500 / 429 + Retry-After / hang / reset / slow on 40% of first requests',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'downstream-faults' });
    try {
      const events = rig.events(sized(options, { ci: 500, quick: 1_000, full: 5_000 }));
      rig.downstream.setPolicy(({ key, attempt }) => (attempt === 1 ? faultFor(key) : undefined));
      await rig.publish(events);
      await rig.startWorkers(4, SETTINGS);
      const recovered = await rig.settle({ applied: events }, 180_000);
      const measured = await rig.measure({ applied: events });
      const checks = commonChecks(rig);
      // Retry-After: the second request of a 429'd key comes no sooner than 1 s after the 429 was answered
      let retryAfterViolations = 0;
      let minRetryGapMs = Infinity;
      for (const e of events) {
        const fault = faultFor(rig.keyOf(e));
        const history = rig.downstream.history(rig.keyOf(e));
        if (fault?.kind !== 'status' || fault.status !== 429 || history === undefined) continue;
        const answeredAt = history.answered[0];
        const next = history.requests[1];
        if (answeredAt === undefined || next === undefined) continue;
        minRetryGapMs = Math.min(minRetryGapMs, next - answeredAt);
        if (next - answeredAt < RETRY_AFTER_S * 1000) retryAfterViolations += 1;
      }
      if (retryAfterViolations > 0)
        checks.push(`${retryAfterViolations} 429s retried before their Retry-After`);
      const dead = measured.deadLetters.length;
      if (dead > 0) checks.push(`${dead} events dead-lettered by transient faults`);
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        startedAt,
        checks,
        details: {
          faults: rig.downstream.faultCounts(),
          minRetryAfterGapMs: Number.isFinite(minRetryGapMs) ? minRetryGapMs : null,
          handlerTimeoutMs: SETTINGS.HANDLER_TIMEOUT_MS,
        },
      });
    } finally {
      await rig.close();
    }
  },
};
