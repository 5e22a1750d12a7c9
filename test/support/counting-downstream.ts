// A counting mock downstream service: applies each Idempotency-Key once and answers repeats with the stored reply.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingDownstream {
  /** Base URL, e.g. http://127.0.0.1:43121/effects */
  readonly url: string;
  /** Requests seen with this Idempotency-Key (first application + replays). */
  received(key: string): number;
  /** Times the effect of this key was applied (0 or 1 for a correct downstream). */
  applied(key: string): number;
  /** Requests answered from the stored reply instead of applying again. */
  replays(key: string): number;
  /**
   * Effects applied more than once: keys applied twice, plus subjects (the body's `eventId`) applied under more
   * than one key, which is what an unstable Idempotency-Key (one derived from time or randomness) would cause.
   * Must always be 0.
   */
  appliedTwice(): number;
  readonly totalApplied: number;
  readonly totalReceived: number;
  /** Idempotency-Keys in the order they were first applied. */
  appliedKeys(): string[];
  close(): Promise<void>;
}

interface KeyRecord {
  received: number;
  applied: number;
  readonly answer: string;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function startCountingDownstream(): Promise<CountingDownstream> {
  const byKey = new Map<string, KeyRecord>();
  const keysBySubject = new Map<string, Set<string>>();
  let totalApplied = 0;
  let totalReceived = 0;

  function apply(key: string, subject: string): KeyRecord {
    const record: KeyRecord = { received: 1, applied: 1, answer: JSON.stringify({ applied: subject, key }) };
    byKey.set(key, record);
    const keys = keysBySubject.get(subject) ?? new Set<string>();
    keys.add(key);
    keysBySubject.set(subject, keys);
    totalApplied += 1;
    return record;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const key = req.headers['idempotency-key'];
    const body = await readBody(req);
    if (req.method !== 'POST' || typeof key !== 'string' || key === '') {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'expected a POST with an Idempotency-Key header' }));
      return;
    }
    totalReceived += 1;
    // Lookup and application happen in one synchronous step, so concurrent repeats cannot both apply.
    const existing = byKey.get(key);
    if (existing) existing.received += 1;
    const record = existing ?? apply(key, subjectOf(body) ?? key);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(record.answer);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    });
  });
  // Workers killed with SIGKILL leave half-open keep-alive sockets; they must not keep close() waiting.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/effects`,
    received: (key) => byKey.get(key)?.received ?? 0,
    applied: (key) => byKey.get(key)?.applied ?? 0,
    replays: (key) => Math.max(0, (byKey.get(key)?.received ?? 0) - (byKey.get(key)?.applied ?? 0)),
    appliedTwice: () =>
      [...byKey.values()].filter((r) => r.applied > 1).length +
      [...keysBySubject.values()].filter((keys) => keys.size > 1).length,
    get totalApplied() {
      return totalApplied;
    },
    get totalReceived() {
      return totalReceived;
    },
    appliedKeys: () => [...byKey.keys()],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A request body as text, refused past 64 KiB (shared with the fault suite's downstream). */
export async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
  }
  return body;
}

/** The `eventId` of a JSON body `{ eventId }`, if any. */
export function subjectOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'eventId' in parsed &&
      typeof parsed.eventId === 'string'
    ) {
      return parsed.eventId;
    }
  } catch {
    // not JSON: the key alone identifies the effect
  }
  return undefined;
}
