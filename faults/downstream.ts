// The fault suite's mock downstream: applies each Idempotency-Key once (repeats get the stored reply), counts
// requests and applications per key with their times, and misbehaves on demand (5xx, 429 + Retry-After, hang,
// connection reset, slow answer, or apply-then-drop: the effect is applied and the connection cut before the reply).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, subjectOf } from '../test/support/counting-downstream.js';

/** What the downstream does with one request instead of (or on top of) applying it normally. */
export type Fault =
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Record<string, string> }
  /** Never answers (until the client gives up); nothing applied. */
  | { readonly kind: 'hang' }
  /** Cuts the connection without applying or answering. */
  | { readonly kind: 'reset' }
  /** Applies, then answers after `ms`. */
  | { readonly kind: 'slow'; readonly ms: number }
  /** Applies, then cuts the connection before answering: the caller cannot know it succeeded. */
  | { readonly kind: 'applyThenDrop' };

export interface DownstreamRequest {
  readonly key: string;
  /** 1 for the first request with this key, 2 for the next, ... */
  readonly attempt: number;
}

export type FaultPolicy = (request: DownstreamRequest) => Fault | undefined;

export interface KeyHistory {
  /** Arrival times (Date.now) of every request with this key. */
  readonly requests: number[];
  /** When each request was answered or cut (same order; undefined while open). */
  readonly answered: (number | undefined)[];
  /** Times the effect was applied (0 or 1 for a correct worker + downstream pair). */
  applied: number;
  /** When the effect was first applied. */
  appliedAt: number | undefined;
  /** Which fault each request got ('' = none). */
  readonly faults: string[];
}

export interface FaultyDownstream {
  /** e.g. http://127.0.0.1:43121/effects */
  readonly url: string;
  setPolicy(policy: FaultPolicy | undefined): void;
  history(key: string): KeyHistory | undefined;
  applied(key: string): number;
  /** Keys applied more than once plus subjects (job + event id) applied under more than one key. */
  appliedTwice(): number;
  /** Requests beyond the first per key. */
  extraRequests(): number;
  readonly totalRequests: number;
  readonly totalApplied: number;
  /** Requests that got each fault kind. */
  faultCounts(): Record<string, number>;
  close(): Promise<void>;
}

export async function startFaultyDownstream(): Promise<FaultyDownstream> {
  const byKey = new Map<string, KeyHistory>();
  const keysBySubject = new Map<string, Set<string>>();
  const faultCounts: Record<string, number> = {};
  let policy: FaultPolicy | undefined;
  let totalRequests = 0;
  let totalApplied = 0;

  /** Lookup and application in one synchronous step, so concurrent repeats cannot both apply. */
  function apply(key: string, history: KeyHistory, subject: string): void {
    if (history.applied > 0) return;
    history.applied += 1;
    history.appliedAt = Date.now();
    totalApplied += 1;
    // the job is the key's first segment: two jobs applying one event are two effects, not a double one
    const job = key.split(':')[0] ?? '';
    const scoped = `${job}/${subject}`;
    const keys = keysBySubject.get(scoped) ?? new Set<string>();
    keys.add(key);
    keysBySubject.set(scoped, keys);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const key = req.headers['idempotency-key'];
    const body = await readBody(req);
    if (req.method !== 'POST' || typeof key !== 'string' || key === '') {
      // GETs warm workers' HTTP clients up; they are not deliveries
      res.writeHead(req.method === 'GET' ? 200 : 400, { 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    totalRequests += 1;
    const history: KeyHistory = byKey.get(key) ?? {
      requests: [],
      answered: [],
      applied: 0,
      appliedAt: undefined,
      faults: [],
    };
    byKey.set(key, history);
    const index = history.requests.push(Date.now()) - 1;
    const fault = policy?.({ key, attempt: history.requests.length });
    history.faults.push(fault?.kind ?? '');
    history.answered.push(undefined);
    if (fault) faultCounts[fault.kind] = (faultCounts[fault.kind] ?? 0) + 1;
    const answered = (): void => {
      history.answered[index] = Date.now();
    };
    const subject = subjectOf(body) ?? key;
    switch (fault?.kind) {
      case 'status':
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        res.end(JSON.stringify({ error: { code: `INJECTED_${fault.status}` } }), answered);
        return;
      case 'hang':
        // the client's timeout ends it; the socket closes with the request
        req.socket.once('close', answered);
        return;
      case 'reset':
        answered();
        req.socket.destroy();
        return;
      case 'applyThenDrop':
        apply(key, history, subject);
        answered();
        req.socket.destroy();
        return;
      case 'slow':
        apply(key, history, subject);
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        break;
      case undefined:
        apply(key, history, subject);
        break;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ applied: subject, key }), answered);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    });
  });
  // killed workers leave half-open keep-alive sockets; they must not keep close() waiting
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/effects`,
    setPolicy(next) {
      policy = next;
    },
    history: (key) => byKey.get(key),
    applied: (key) => byKey.get(key)?.applied ?? 0,
    appliedTwice: () =>
      [...byKey.values()].filter((h) => h.applied > 1).length +
      [...keysBySubject.values()].filter((keys) => keys.size > 1).length,
    extraRequests: () => totalRequests - byKey.size,
    get totalRequests() {
      return totalRequests;
    },
    get totalApplied() {
      return totalApplied;
    },
    faultCounts: () => ({ ...faultCounts }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
