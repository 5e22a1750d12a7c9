// Unit tests of the job declaration: retry policy, local rate limit and circuit breaker as data, with clear
// validation errors.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { validateJob, type JobDefinition } from '../../src/pipelines/job-definition.js';
import { outcome } from '../../src/streams/outcome.js';

const base: JobDefinition = {
  name: 'bet.settle',
  domain: 'playhub',
  types: ['bet.opened'],
  handler: async () => outcome.ack(),
};

function issuesOf(job: JobDefinition): string {
  try {
    validateJob(job);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).message;
  }
  throw new Error('expected a ValidationError');
}

describe('validateJob', () => {
  it('accepts a job with a retry policy, a rate limit and a circuit breaker', () => {
    const options = validateJob({
      ...base,
      retry: { maxAttempts: 5, backoff: { baseMs: 500 } },
      rateLimit: { perSecond: 20, burst: 5 },
      circuitBreaker: { failures: 5, windowMs: 30_000, openMs: 10_000 },
    });
    expect(options.retry).toEqual({ maxAttempts: 5, backoff: { baseMs: 500 } });
    expect(options.rateLimit).toEqual({ perSecond: 20, burst: 5 });
    expect(options.circuitBreaker).toEqual({ failures: 5, windowMs: 30_000, openMs: 10_000 });
    expect(options.concurrency).toBe(16);
  });

  it('leaves the breaker and the rate limit off when absent; top-level maxAttempts still works', () => {
    const options = validateJob({ ...base, maxAttempts: 3 });
    expect(options.circuitBreaker).toBeUndefined();
    expect(options.rateLimit).toBeUndefined();
    expect(options.maxAttempts).toBe(3);
  });

  it('names the field and the problem', () => {
    expect(issuesOf({ ...base, circuitBreaker: { failures: 0, windowMs: 1000, openMs: 1000 } })).toMatch(
      /job "bet.settle" is invalid: circuitBreaker.failures: .*>=\s*1/,
    );
    expect(issuesOf({ ...base, rateLimit: { perSecond: 0, burst: 1 } })).toMatch(/rateLimit.perSecond/);
    expect(issuesOf({ ...base, rateLimit: { perSecond: 5 } as never })).toMatch(/rateLimit.burst/);
    expect(issuesOf({ ...base, retry: { backoff: { floorRatio: 2 } } })).toMatch(/retry.backoff.floorRatio/);
    expect(issuesOf({ ...base, retry: { backoff: { jitter: true } as never } })).toMatch(/retry.backoff/);
    expect(issuesOf({ ...base, maxAttempts: 3, retry: { maxAttempts: 4 } })).toMatch(
      /maxAttempts: set maxAttempts or retry.maxAttempts, not both/,
    );
  });
});
