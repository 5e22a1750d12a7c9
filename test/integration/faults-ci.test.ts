// A CI-sized subset of the fault suite (`npm run faults`): the same scenario functions at the smallest counts, each
// against real worker processes and a private redis-server. Nothing lost, nothing applied twice, no early timer.
import { describe, expect, it } from 'vitest';
import type { Scenario } from '../../faults/harness.js';
import type { ScenarioResult } from '../../faults/report.js';
import { killConsumers } from '../../faults/scenarios/02-kill-consumers.js';
import { redisKillAlways } from '../../faults/scenarios/05-redis-kill-always.js';
import { redisUnreachable } from '../../faults/scenarios/10-redis-unreachable.js';
import { ambiguousSuccess } from '../../faults/scenarios/13-ambiguous-success.js';
import { publishTwice } from '../../faults/scenarios/14-publish-twice.js';
import { twoMovers } from '../../faults/scenarios/16-two-movers.js';

const SUBSET: readonly Scenario[] = [
  killConsumers,
  redisKillAlways,
  redisUnreachable,
  ambiguousSuccess,
  publishTwice,
  twoMovers,
];

async function runCi(scenario: Scenario): Promise<ScenarioResult> {
  return scenario.run({ size: 'ci' });
}

describe('fault suite, CI subset', () => {
  for (const scenario of SUBSET) {
    it(`${scenario.name}: ${scenario.title}`, async () => {
      const result = await runCi(scenario);

      expect(
        {
          lost: result.lost,
          appliedTwice: result.appliedTwice,
          earlyTimers: result.earlyTimers,
          recovered: result.recovered,
          checks: result.checks,
        },
        JSON.stringify(result.details),
      ).toEqual({ lost: 0, appliedTwice: 0, earlyTimers: 0, recovered: true, checks: [] });
      expect(result.events).toBeGreaterThan(0);
    }, 80_000);
  }
});
