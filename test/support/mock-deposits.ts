// A stateful mock of the Deposits service (seed 004) on listen(0): M-Pesa completion, on-chain credit and session
// expiry, each applied once per Idempotency-Key (a repeat replays the first answer), service JWTs verified, scripted
// faults per route (status, hang) and a request log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { errorMessage } from '../../src/errors.js';
import { createServiceTokenVerifier } from '../../src/sinks/service-token-verifier.js';

export const MPESA_COMPLETE = 'POST /internal/v1/deposits/mpesa/complete';
export const ONCHAIN_CREDIT = 'POST /internal/v1/deposits/onchain/credit';
export const ONCHAIN_EXPIRE = 'POST /internal/v1/deposits/onchain/expire';

export interface DepositsFault {
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Never answer. */
  readonly hang?: boolean;
}

export interface DepositsRequest {
  readonly route: string;
  readonly body: Record<string, unknown>;
  readonly idempotencyKey: string | undefined;
  readonly tokenError: string | undefined;
  readonly fault: DepositsFault | undefined;
}

export interface MockDeposits {
  readonly url: string;
  readonly requests: readonly DepositsRequest[];
  requestsTo(route: string): DepositsRequest[];
  /** Faults for the next requests to `route`, in order; then the service answers normally. */
  fail(route: string, faults: readonly DepositsFault[]): void;
  /** Times the effect of `key` was applied: 0 or 1. */
  applied(key: string): number;
  appliedTwice(): number;
  /** What the service holds for a session: open (unknown), credited (with the transfer) or expired (with why). */
  session(depositSessionId: string): {
    readonly state: 'open' | 'credited' | 'expired';
    readonly detail?: unknown;
  };
  completed(transactionId: string): boolean;
  close(): Promise<void>;
}

type Answer = { readonly status: number; readonly body: unknown };

export async function startMockDeposits(options: {
  readonly publicJwks: readonly JWK[];
  readonly issuers?: string;
}): Promise<MockDeposits> {
  const verifier = createServiceTokenVerifier({
    publicJwks: options.publicJwks,
    issuers: options.issuers ?? 'workers',
    audience: 'deposits',
  });
  const requests: DepositsRequest[] = [];
  const faults = new Map<string, DepositsFault[]>();
  const answers = new Map<string, Answer>();
  const appliedByKey = new Map<string, number>();
  const sessions = new Map<string, { state: 'credited' | 'expired'; detail: unknown }>();
  const completedTransactions = new Set<string>();

  /** The effect of one request, applied once: a later request with the same key gets the same answer. */
  function apply(route: string, body: Record<string, unknown>): Answer {
    if (route === MPESA_COMPLETE) {
      const transactionId = String(body.transactionId);
      completedTransactions.add(transactionId);
      return { status: 200, body: { transactionId, state: 'completed', txHash: `0x${'1'.repeat(64)}` } };
    }
    const depositSessionId = String(body.depositSessionId);
    const current = sessions.get(depositSessionId);
    if (route === ONCHAIN_CREDIT) {
      if (current?.state === 'expired') return { status: 200, body: { depositSessionId, state: 'closed' } };
      sessions.set(depositSessionId, { state: 'credited', detail: body });
      return { status: 200, body: { depositSessionId, state: 'credited' } };
    }
    if (current?.state === 'credited') return { status: 200, body: { depositSessionId, state: 'credited' } };
    sessions.set(depositSessionId, { state: 'expired', detail: body.reason });
    return { status: 200, body: { depositSessionId, state: 'expired' } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const route = `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0] ?? '/'}`;
    const key =
      typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
    const body = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    let tokenError: string | undefined;
    const authorization = req.headers.authorization;
    if (typeof authorization !== 'string' || !authorization.startsWith('Bearer '))
      tokenError = 'no bearer token';
    else {
      try {
        await verifier.verify(authorization.slice('Bearer '.length));
      } catch (error) {
        tokenError = errorMessage(error);
      }
    }
    const fault = tokenError === undefined ? faults.get(route)?.shift() : undefined;
    requests.push({ route, body, idempotencyKey: key, tokenError, fault });
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    if (tokenError !== undefined) return send(401, { error: { code: 'UNAUTHORIZED', message: tokenError } });
    if (fault?.hang === true) return;
    if (fault !== undefined) return send(fault.status ?? 503, fault.body, { ...fault.headers });
    if (![MPESA_COMPLETE, ONCHAIN_CREDIT, ONCHAIN_EXPIRE].includes(route)) {
      return send(404, { error: { code: 'NOT_FOUND', message: route } });
    }
    if (key === undefined) {
      return send(400, { error: { code: 'IDEMPOTENCY_KEY_REQUIRED', message: 'mutations need a key' } });
    }
    const replay = answers.get(key);
    if (replay !== undefined) return send(replay.status, replay.body);
    const answer = apply(route, body);
    answers.set(key, answer);
    appliedByKey.set(key, (appliedByKey.get(key) ?? 0) + 1);
    return send(answer.status, answer.body);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'MOCK_FAILED', message: errorMessage(error) } }));
      }
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (route) => requests.filter((r) => r.route === route),
    fail(route, list) {
      faults.set(route, [...(faults.get(route) ?? []), ...list]);
    },
    applied: (key) => appliedByKey.get(key) ?? 0,
    appliedTwice: () => [...appliedByKey.values()].filter((n) => n > 1).length,
    session(id) {
      const held = sessions.get(id);
      return held === undefined ? { state: 'open' } : { state: held.state, detail: held.detail };
    },
    completed: (transactionId) => completedTransactions.has(transactionId),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
