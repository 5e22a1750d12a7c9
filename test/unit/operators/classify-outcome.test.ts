// Tests of outcome classification: returned values, thrown errors, timeouts, exhausted failures and delays.
import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../src/errors.js';
import {
  classifyAttempt,
  classifyOutcome,
  isTransientFailure,
  outcomeOfAttempt,
  type AttemptResult,
} from '../../../src/pipelines/classify-outcome.js';
import { backoffDelay, defaultBackoff } from '../../../src/streams/backoff.js';
import { outcome } from '../../../src/streams/outcome.js';
import { testScheduler } from './support.js';

const policy = { maxAttempts: 3, backoff: { ...defaultBackoff, baseMs: 100 }, random: () => 0.5 };

describe('outcomeOfAttempt', () => {
  it('maps returns, throws and decided outcomes', () => {
    expect(outcomeOfAttempt({ returned: outcome.ack() })).toEqual(outcome.ack());
    expect(outcomeOfAttempt({ returned: { status: 200 } })).toEqual(
      outcome.retry('handler returned no outcome'),
    );
    expect(outcomeOfAttempt({ returned: undefined })).toEqual(outcome.retry('handler returned no outcome'));
    expect(outcomeOfAttempt({ threw: new PermanentError('404 bet unknown') })).toEqual(
      outcome.dead('permanent', '404 bet unknown'),
    );
    expect(outcomeOfAttempt({ threw: new TransientError('429', 700) })).toEqual(outcome.retry('429', 700));
    expect(outcomeOfAttempt({ threw: new Error('ECONNRESET') })).toEqual(outcome.retry('ECONNRESET'));
    expect(outcomeOfAttempt({ decided: outcome.defer(5, 'not yet') })).toEqual(outcome.defer(5, 'not yet'));
  });

  it('counts transient failures of calls that were made, nothing else', () => {
    const cases: [AttemptResult, boolean][] = [
      [{ threw: new Error('503') }, true],
      [{ decided: outcome.retry('handler timed out after 5 ms') }, true],
      [{ returned: outcome.retry('409 in progress') }, true],
      [{ decided: outcome.retry('circuit open', 10), countsAsFailure: false }, false],
      [{ returned: outcome.ack() }, false],
      [{ returned: outcome.dead('bad request') }, false],
      [{ returned: outcome.defer(1, 'later') }, false],
    ];
    for (const [result, expected] of cases) expect(isTransientFailure(result)).toBe(expected);
  });
});

describe('classifyAttempt', () => {
  it('counts a retry as a failure and delays it by the backoff of the new count', () => {
    expect(classifyAttempt({ threw: new Error('503') }, 0, policy)).toEqual({
      outcome: outcome.retry('503'),
      failures: 1,
      delayMs: backoffDelay(policy.backoff, 1, () => 0.5),
    });
    expect(classifyAttempt({ threw: new Error('503') }, 1, policy).delayMs).toBe(150);
  });

  it('uses afterMs (Retry-After) instead of the backoff', () => {
    expect(classifyAttempt({ threw: new TransientError('429', 700) }, 0, policy)).toEqual({
      outcome: outcome.retry('429', 700),
      failures: 1,
      delayMs: 700,
    });
  });

  it('dead-letters when failures reach maxAttempts, keeping the last reason as the error', () => {
    expect(classifyAttempt({ threw: new Error('503 again') }, 2, policy)).toEqual({
      outcome: outcome.dead('failures exhausted', '503 again'),
      failures: 3,
    });
  });

  it('leaves acks, deads and defers alone, and does not count calls never made', () => {
    expect(classifyAttempt({ returned: outcome.ack() }, 2, policy)).toEqual({
      outcome: outcome.ack(),
      failures: 2,
    });
    expect(classifyAttempt({ decided: outcome.dead('invalid', 'bad') }, 0, policy)).toEqual({
      outcome: outcome.dead('invalid', 'bad'),
      failures: 0,
    });
    expect(classifyAttempt({ returned: outcome.defer(9, 'later') }, 2, policy).failures).toBe(2);
    expect(
      classifyAttempt({ decided: outcome.retry('circuit open', 40), countsAsFailure: false }, 2, policy),
    ).toEqual({ outcome: outcome.retry('circuit open', 40), failures: 2, delayMs: 40 });
  });
});

describe('classifyOutcome operator', () => {
  it('adds the classification to each item', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const items = {
        a: { id: 'a', result: { returned: outcome.ack() }, failures: 0 },
        b: { id: 'b', result: { threw: new Error('503') }, failures: 2 },
      };
      expectObservable(cold('a-b|', items).pipe(classifyOutcome(policy))).toBe('x-y|', {
        x: { ...items.a, classified: { outcome: outcome.ack(), failures: 0 } },
        y: { ...items.b, classified: { outcome: outcome.dead('failures exhausted', '503'), failures: 3 } },
      });
    });
  });
});
