// Status mapping: every status class, the 409 envelope reading, Retry-After (seconds and HTTP dates), per-job
// overrides, and scrubbed body excerpts.
import { describe, expect, it } from 'vitest';
import { scrubExcerpt, BODY_EXCERPT_CHARS } from '../../src/sinks/service-call-error.js';
import {
  conflictMatcher,
  defaultStatusPolicy,
  errorCodeOf,
  mapResponse,
  parseRetryAfter,
  type SinkResponse,
  type StatusPolicy,
} from '../../src/sinks/status-mapping.js';

const NOW = Date.UTC(2026, 10, 23, 15, 0, 0);

function response(status: number, extra: Partial<SinkResponse> = {}): SinkResponse {
  return { status, headers: {}, body: undefined, excerpt: '', target: 'playhub POST /settle', ...extra };
}

function map(status: number, extra: Partial<SinkResponse> = {}, policy: Partial<StatusPolicy> = {}) {
  return mapResponse(response(status, extra), { ...defaultStatusPolicy, ...policy }, NOW);
}

describe('mapResponse defaults', () => {
  it.each([
    [200, 'ack'],
    [201, 'ack'],
    [204, 'ack'],
    [202, 'defer'],
    [408, 'retry'],
    [425, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [400, 'dead'],
    [401, 'dead'],
    [403, 'dead'],
    [404, 'dead'],
    [410, 'dead'],
    [422, 'dead'],
    [301, 'dead'],
  ])('%i -> %s', (status, kind) => {
    expect(map(status).kind).toBe(kind);
  });

  it('429 waits for Retry-After in seconds; without it the runner backoff decides', () => {
    expect(map(429, { headers: { 'retry-after': '2' } })).toMatchObject({ kind: 'retry', afterMs: 2000 });
    expect(map(429)).not.toHaveProperty('afterMs');
  });

  it('429 and 503 honour an HTTP-date Retry-After; a past date means now', () => {
    const inFive = new Date(NOW + 5000).toUTCString();
    expect(map(429, { headers: { 'retry-after': inFive } })).toMatchObject({ kind: 'retry', afterMs: 5000 });
    expect(map(503, { headers: { 'retry-after': inFive } })).toMatchObject({ kind: 'retry', afterMs: 5000 });
    const past = new Date(NOW - 60_000).toUTCString();
    expect(map(429, { headers: { 'retry-after': past } })).toMatchObject({ kind: 'retry', afterMs: 0 });
  });

  it('clamps Retry-After to maxRetryAfterMs', () => {
    expect(map(429, { headers: { 'retry-after': '86400' } })).toMatchObject({ afterMs: 3_600_000 });
    expect(map(429, { headers: { 'retry-after': '86400' } }, { maxRetryAfterMs: 10_000 })).toMatchObject({
      afterMs: 10_000,
    });
  });

  it('202 defers to Retry-After, else to the job default', () => {
    expect(map(202, { headers: { 'retry-after': '7' } })).toMatchObject({ kind: 'defer', until: NOW + 7000 });
    expect(map(202)).toMatchObject({ kind: 'defer', until: NOW + 30_000 });
    expect(map(202, {}, { deferDefaultMs: 1234 })).toMatchObject({ kind: 'defer', until: NOW + 1234 });
  });

  it('dead and retry outcomes name the target, status and body excerpt', () => {
    expect(map(404, { excerpt: '{"error":{"code":"NOT_FOUND"}}' })).toEqual({
      kind: 'dead',
      reason: 'http 404',
      error: 'playhub POST /settle -> 404: {"error":{"code":"NOT_FOUND"}}',
    });
    expect(map(503, { excerpt: 'busy' })).toEqual({
      kind: 'retry',
      reason: 'playhub POST /settle -> 503: busy',
    });
  });
});

describe('409 and the error envelope', () => {
  it.each([
    [{ error: { code: 'ALREADY_DONE', message: 'settled' } }, 'ack'],
    [{ code: 'already-processed' }, 'ack'],
    [{ errorCode: 'IDEMPOTENT_REPLAY' }, 'ack'],
    [{ error: 'ALREADY_APPLIED' }, 'ack'],
    [{ error: { code: 'IN_PROGRESS' } }, 'retry'],
    [{ error: { code: 'idempotency_key_in_use' } }, 'retry'],
    [{ error: { code: 'IDEMPOTENCY_KEY_MISMATCH' } }, 'dead'],
    [{ error: { code: 'SOMETHING_ELSE' } }, 'retry'],
    [undefined, 'retry'],
  ])('%j -> %s', (body, kind) => {
    expect(map(409, { body }).kind).toBe(kind);
  });

  it('a job can say what an unrecognised 409 means', () => {
    expect(map(409, { body: { error: { code: 'SOMETHING_ELSE' } } }, { unknownConflict: 'ack' }).kind).toBe(
      'ack',
    );
    expect(map(409, {}, { unknownConflict: 'dead' }).kind).toBe('dead');
  });

  it('a job can bring its own codes or matcher', () => {
    const policy = { conflict: conflictMatcher({ done: ['BET_ALREADY_SETTLED'], inProgress: ['SETTLING'] }) };
    expect(map(409, { body: { error: { code: 'BET_ALREADY_SETTLED' } } }, policy).kind).toBe('ack');
    expect(map(409, { body: { error: { code: 'SETTLING' } } }, policy).kind).toBe('retry');
    expect(map(409, { body: { error: { code: 'ALREADY_DONE' } } }, policy).kind).toBe('retry');
    const byStatusField = {
      conflict: (body: unknown) =>
        (body as { state?: string }).state === 'done' ? ('done' as const) : undefined,
    };
    expect(map(409, { body: { state: 'done' } }, byStatusField).kind).toBe('ack');
  });

  it('errorCodeOf normalises the code wherever the envelope puts it', () => {
    expect(errorCodeOf({ error: { code: 'already done' } })).toBe('ALREADY_DONE');
    expect(errorCodeOf({ code: 'a.b-c' })).toBe('A_B_C');
    expect(errorCodeOf('ALREADY_DONE')).toBeUndefined();
    expect(errorCodeOf({ error: { message: 'no code' } })).toBeUndefined();
  });
});

describe('per-job overrides', () => {
  it('statuses replace the mapped kind', () => {
    expect(map(404, {}, { statuses: { 404: 'ack' } }).kind).toBe('ack');
    expect(map(503, {}, { statuses: { 503: 'dead' } }).kind).toBe('dead');
    expect(map(200, { headers: { 'retry-after': '3' } }, { statuses: { 200: 'defer' } })).toMatchObject({
      kind: 'defer',
      until: NOW + 3000,
    });
  });

  it('override has the last word', () => {
    const policy: Partial<StatusPolicy> = {
      override: (r, mapped) =>
        r.status === 422 ? { kind: 'ack' } : mapped.kind === 'retry' ? undefined : mapped,
    };
    expect(map(422, {}, policy).kind).toBe('ack');
    expect(map(503, {}, policy).kind).toBe('retry');
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['2', 2000],
    [' 120 ', 120_000],
    [['3', '9'], 3000],
    [new Date(NOW + 2000).toUTCString(), 2000],
    ['Sun, 06 Nov 1994 08:49:37 GMT', 0],
    [undefined, undefined],
    ['', undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['2026-11-23T15:00:05Z', undefined],
  ])('%j -> %s', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('scrubExcerpt', () => {
  it('removes bearer tokens, JWTs, PEM blocks and given secrets, folds control characters, cuts long text', () => {
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ3b3JrZXJzIn0.c2lnbmF0dXJl';
    const text = `auth=Bearer abc.def-123 token ${jwt}\n-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY----- s3cr3t-value`;
    const scrubbed = scrubExcerpt(text, ['s3cr3t-value']);
    for (const secret of ['abc.def-123', jwt, 'MC4CAQ', 's3cr3t-value', '\n'])
      expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain('Bearer [redacted]');
    expect(scrubExcerpt('x'.repeat(500))).toHaveLength(BODY_EXCERPT_CHARS + 3);
  });
});
