// Defer/repeat policy decisions: re-emission time, version and payload; deadline and limit lead to the timeout action.
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { decideDefer, deferTimerId, timeoutBeforeRun } from '../../src/pipelines/deferral.js';
import type { DeferPolicy } from '../../src/pipelines/deferral.js';
import { ValidationError } from '../../src/errors.js';

const event: EventEnvelope<{ tEnd: number }> = {
  id: '01JD0000000000000000000000',
  type: 'bet.opened',
  key: 'bet-42',
  occurredAt: '2026-11-23T15:00:00.000Z',
  source: 'playhub',
  schemaVersion: 1,
  data: { tEnd: 10_000 },
};
const NOW = 1_000;

function decide(policy: DeferPolicy<{ tEnd: number }> | undefined, until: number | undefined, e = event) {
  return decideDefer({ policy, group: 'cfb.settle', event: e, until, now: NOW, random: () => 0.5 });
}

describe('decideDefer', () => {
  it('re-emits at until plus bounded jitter, aimed at the group, as run 1', () => {
    expect(decide({ jitterMs: 100 }, 5_000)).toEqual({
      id: deferTimerId('cfb.settle', event.id),
      dueMs: 5_050,
      version: 1,
      event: { ...event, targetGroup: 'cfb.settle', repetition: 1 },
    });
  });

  it('keeps jitter within [0, jitterMs] for any random value', () => {
    for (const r of [0, 0.25, 0.999999]) {
      const timer = decideDefer({
        policy: { jitterMs: 10 },
        group: 'g',
        event,
        until: 5_000,
        now: NOW,
        random: () => r,
      });
      expect(timer.dueMs).toBeGreaterThanOrEqual(5_000);
      expect(timer.dueMs).toBeLessThanOrEqual(5_010);
    }
  });

  it('uses everyMs when the outcome names no time, and counts runs through repetition', () => {
    const timer = decide({ everyMs: 30_000 }, undefined, { ...event, repetition: 4 });
    expect(timer).toMatchObject({ dueMs: 31_000, version: 5 });
    expect(timer.event.repetition).toBe(5);
  });

  it('after the last run the limit allows, re-emits now so the next run is the timeout action', () => {
    const policy = { everyMs: 1_000, limit: 5 };
    expect(decide(policy, undefined, { ...event, repetition: 3 }).dueMs).toBe(NOW + 1_000);
    const last = decide(policy, undefined, { ...event, repetition: 4 });
    expect(last).toMatchObject({ dueMs: NOW, version: 5 });
    expect(timeoutBeforeRun(policy, last.event, NOW)).toBe('limit');
    expect(timeoutBeforeRun(policy, { ...event, repetition: 4 }, NOW)).toBeUndefined();
  });

  it('never re-emits past the deadline: it lands on the deadline, where the timeout action runs', () => {
    const policy: DeferPolicy<{ tEnd: number }> = { deadline: (e) => e.data.tEnd, jitterMs: 0 };
    expect(decide(policy, 50_000)).toMatchObject({ dueMs: 10_000 });
    expect(timeoutBeforeRun(policy, event, 9_999)).toBeUndefined();
    expect(timeoutBeforeRun(policy, event, 10_000)).toBe('deadline');
  });

  it('refuses a defer without a time when the job declares no interval', () => {
    expect(() => decide(undefined, undefined)).toThrow(ValidationError);
  });

  it('never schedules in the past', () => {
    expect(decide({}, 10)).toMatchObject({ dueMs: NOW });
  });

  it('has no timeout without a policy', () => {
    expect(timeoutBeforeRun(undefined, { ...event, repetition: 99 }, 1e15)).toBeUndefined();
  });
});
