// Idempotency-Keys of a mock service: a terminal answer (2xx but 202, 4xx but 408/429) is kept and replayed for the
// same key and body; 202 and 5xx are forgotten; a key in flight answers 409 IN_PROGRESS, another body 409 MISMATCH.

export interface StoredAnswer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type KeyLookup =
  | { readonly kind: 'new' }
  | { readonly kind: 'replay'; readonly answer: StoredAnswer }
  | { readonly kind: 'in-progress' }
  | { readonly kind: 'mismatch' };

interface KeyEntry {
  readonly route: string;
  readonly fingerprint: string;
  answer: StoredAnswer | undefined;
}

export interface IdempotencyStore {
  /** Looks the key up; `new` marks it in flight until finish() or forget(). */
  begin(key: string, route: string, fingerprint: string): KeyLookup;
  /** Ends an in-flight key: a terminal answer is kept for replays, any other is forgotten. */
  finish(key: string, answer: StoredAnswer, applied: boolean): void;
  /** Forgets an in-flight key (the handler threw). */
  forget(key: string): void;
  /** Times the effect of this key was applied: 0 or 1 for a correct service. */
  applied(key: string): number;
  /** Keys whose effect was applied more than once: a bug counter that must stay 0. */
  appliedTwice(): number;
}

/** Answers a repeated key gets again: final ones. 202 (not yet), 408/429 (come back) and 5xx are not final. */
export function isTerminalStatus(status: number): boolean {
  if (status >= 200 && status < 300) return status !== 202;
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** A canonical JSON text (sorted object keys): the same body sent twice has the same fingerprint. */
export function fingerprintOf(route: string, body: unknown): string {
  return `${route} ${JSON.stringify(canonical(body))}`;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

export function createIdempotencyStore(): IdempotencyStore {
  const entries = new Map<string, KeyEntry>();
  const applications = new Map<string, number>();
  return {
    begin(key, route, fingerprint) {
      const entry = entries.get(key);
      if (entry === undefined) {
        entries.set(key, { route, fingerprint, answer: undefined });
        return { kind: 'new' };
      }
      if (entry.route !== route || entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
      return entry.answer === undefined ? { kind: 'in-progress' } : { kind: 'replay', answer: entry.answer };
    },
    finish(key, answer, applied) {
      if (applied) applications.set(key, (applications.get(key) ?? 0) + 1);
      const entry = entries.get(key);
      if (entry === undefined) return;
      if (isTerminalStatus(answer.status)) entry.answer = answer;
      else entries.delete(key);
    },
    forget(key) {
      if (entries.get(key)?.answer === undefined) entries.delete(key);
    },
    applied: (key) => applications.get(key) ?? 0,
    appliedTwice: () => [...applications.values()].filter((n) => n > 1).length,
  };
}
