// A stateful mock of the seed 002 exchange's internal API on listen(0): market data (pairs, 24 h tickers), the
// matching engine and orders, balances (available/locked, exact bigint), deposits with chain heights and the
// blockchain monitor. It verifies service JWTs, applies each Idempotency-Key once (a repeat replays the first answer,
// another body under it is a 409 mismatch), enforces once-per-order unlocks and once-per-deposit credits, and
// injects faults per route: an error status, a reset before applying, or a reset after applying (a lost answer).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { JWK } from 'jose';
import { errorMessage } from '../../src/errors.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { decodeEntry } from '../../src/events/wire.js';
import type { KeyBuilder } from '../../src/streams/keys.js';
import { generateServiceKeyPair } from '../../src/sinks/service-keys.js';
import { createServiceTokenVerifier } from '../../src/sinks/service-token-verifier.js';

/** One key pair per test process: workers sign with the private key (exchangeEnv), the mock verifies. */
export const exchangeServiceKeys = generateServiceKeyPair();

/** What a worker needs to call the mock: its URL and the signing key the mock trusts. */
export function exchangeEnv(mock: { readonly url: string }): Record<string, string> {
  return {
    SVC_EXCHANGE_URL: mock.url,
    SERVICE_JWT_PRIVATE_JWK: JSON.stringify(exchangeServiceKeys.privateJwk),
  };
}

/** Every event in the `exchange` streams (all partitions), of `type` when given. */
export async function exchangeEvents(
  redis: Redis,
  keys: KeyBuilder,
  type?: string,
  partitions = 2,
): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const entries = await redis.xrange(keys.partition('exchange', partition).stream, '-', '+');
    for (const [, fields] of entries) {
      const event = decodeEntry(fields);
      if (type === undefined || event.type === type) events.push(event);
    }
  }
  return events;
}

export interface MockPair {
  readonly pairId: string;
  readonly symbol: string;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
  status: 'ACTIVE' | 'SUSPENDED' | 'DELISTED';
}

export interface MockTicker {
  readonly open: string | null;
  readonly high: string | null;
  readonly low: string | null;
  readonly last: string | null;
  readonly baseVolume: string;
  readonly quoteVolume: string;
  readonly trades: number;
}

export interface OrderSpec {
  readonly orderId: string;
  readonly userId: string;
  readonly pairId: string;
  readonly side: 'BUY' | 'SELL';
  /** Quote minor units per whole base unit. */
  readonly price: bigint;
  /** Base minor units. */
  readonly quantity: bigint;
  /** Quote minor units reserved for fees (buy orders only). */
  readonly fee?: bigint;
  readonly baseDecimals: number;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  readonly expiresAt: string;
}

export interface MockOrder extends OrderSpec {
  filled: bigint;
  reservedFee: bigint;
  status: 'OPEN' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'EXPIRED';
  inBook: boolean;
}

export type DepositStatus = 'PENDING' | 'CONFIRMING' | 'CONFIRMED' | 'CREDITED' | 'FAILED';

export interface DepositSpec {
  readonly depositId: string;
  readonly userId: string;
  readonly chain: string;
  readonly asset: string;
  readonly amount: bigint;
  readonly txHash: string;
  readonly blockNumber: number | null;
  readonly createdAt: string;
  readonly status?: DepositStatus;
  readonly confirmations?: number;
}

export interface MockDeposit extends DepositSpec {
  status: DepositStatus;
  confirmations: number;
  creditAttempt: number;
  failureReason: string | null;
}

/** What a faulted request gets instead of its normal answer. */
export interface Fault {
  /** Answer this status (no effect applied); with `code`/`message` as the error envelope. */
  readonly status?: number;
  readonly code?: string;
  readonly message?: string;
  /** Destroy the socket: before applying the effect, or after (the effect stays, the answer is lost). */
  readonly reset?: 'before' | 'after';
  /** Answer normally, this much later. */
  readonly delayMs?: number;
}

export interface Balance {
  readonly available: bigint;
  readonly locked: bigint;
}

interface StoredAnswer {
  readonly body: string;
  readonly status: number;
  readonly answer: unknown;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** What an order still locks: buy ceil(remaining x price / 10^baseDecimals) + reserved fee; sell its remaining. */
export function lockOf(order: MockOrder): bigint {
  const remaining = order.quantity - order.filled;
  if (order.side === 'SELL') return remaining;
  return ceilDiv(remaining * order.price, pow10(order.baseDecimals)) + order.reservedFee;
}

/** Deterministic pseudo-random numbers for fault rates (mulberry32). */
function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MockExchangeOptions {
  /** Default: the public key of exchangeServiceKeys. */
  readonly publicJwks?: readonly JWK[];
  readonly issuers?: string;
  /** Seed of the fault-rate randomness. */
  readonly seed?: number;
}

export interface MockExchange {
  readonly url: string;
  // market data
  addPair(pair: Omit<MockPair, 'status'> & { status?: MockPair['status'] }): void;
  setTicker(pairId: string, ticker: MockTicker): void;
  // orders and balances
  fund(userId: string, asset: string, amount: bigint): void;
  balance(userId: string, asset: string): Balance;
  /** Locks the order's balance (like placing it) and puts it in the book. */
  placeOrder(spec: OrderSpec): MockOrder;
  /** A fill by the engine: consumes the locked balance it used (the lock keeps its formula). */
  fill(orderId: string, quantity: bigint): void;
  /** The engine filled it all, and the order service has not caught up: still listed, no longer in the book. */
  leaveBook(orderId: string): void;
  order(orderId: string): MockOrder | undefined;
  /** Quote or base minor units consumed by fills, per user and asset. */
  spent(userId: string, asset: string): bigint;
  /** Unlock applications per order id (a correct worker: 1 per expired order). */
  readonly unlocks: ReadonlyMap<string, number>;
  /** Every unlock of this order is refused (422 INSUFFICIENT_LOCKED: no attempt can succeed). */
  refuseUnlock(orderId: string): void;
  /** Unlocks refused because the order was unlocked before under another key (a correct worker: 0). */
  readonly duplicateUnlocks: number;
  // deposits
  addDeposit(spec: DepositSpec): MockDeposit;
  /** A deposit the real-time monitor missed: it appears (PENDING) with the next backup scan. */
  hideDeposit(spec: DepositSpec): void;
  deposit(depositId: string): MockDeposit | undefined;
  setHeight(chain: string, height: number): void;
  setMonitorActive(active: boolean): void;
  readonly monitorReinitializations: number;
  readonly scans: readonly string[];
  /** Every credit of this deposit is refused with 422 and `message` until cleared. */
  refuseCredit(depositId: string, message: string): void;
  clearCreditRefusal(depositId: string): void;
  /** Credits applied per deposit id (a correct worker: at most 1). */
  readonly credits: ReadonlyMap<string, number>;
  /** Credits refused because the deposit was credited before under another key. */
  readonly duplicateCredits: number;
  // faults and counters
  /** Faults for the next requests to `route` (`POST /internal/v1/balances/unlock`), used in order. */
  fault(route: string, ...faults: Fault[]): void;
  /** A share (0..1) of the requests to `route` get `fault`, until cleared with rate 0. */
  faultRate(route: string, rate: number, fault: Fault): void;
  /** A share (0..1) of the items of a batch route fail alone (retryable, not applied), until cleared with 0. */
  itemFaultRate(route: string, rate: number): void;
  /** Requests served per route (faulted ones included). */
  requestsTo(route: string): number;
  /** Request bodies per route, in arrival order. */
  bodiesOf(route: string): unknown[];
  /** Effects applied per Idempotency-Key (a batch item's own key for the order steps). */
  applied(key: string): number;
  /** Keys applied more than once (0 for a correct worker). */
  appliedTwice(): number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startMockExchange(options: MockExchangeOptions = {}): Promise<MockExchange> {
  const verifier = createServiceTokenVerifier({
    publicJwks: options.publicJwks ?? [exchangeServiceKeys.publicJwk],
    issuers: options.issuers ?? 'workers',
    audience: 'exchange',
  });
  const verified = new Map<string, Promise<unknown>>();
  const random = randomFrom(options.seed ?? 1);

  const pairs = new Map<string, MockPair>();
  const tickers = new Map<string, MockTicker>();
  const orders = new Map<string, MockOrder>();
  const balances = new Map<string, { available: bigint; locked: bigint }>();
  const spentBy = new Map<string, bigint>();
  const unlocks = new Map<string, number>();
  const deposits = new Map<string, MockDeposit>();
  const hidden: MockDeposit[] = [];
  const heights = new Map<string, number>();
  const refusals = new Map<string, string>();
  const credits = new Map<string, number>();
  const scans: string[] = [];
  let monitorActive = true;
  let duplicateUnlocks = 0;
  const refusedUnlocks = new Set<string>();
  let duplicateCredits = 0;
  let monitorReinitializations = 0;

  const answers = new Map<string, StoredAnswer>();
  const itemAnswers = new Map<string, StoredAnswer>();
  const itemRates = new Map<string, number>();
  const appliedByKey = new Map<string, number>();
  const faults = new Map<string, Fault[]>();
  const rates = new Map<string, { rate: number; fault: Fault }>();
  const counts = new Map<string, number>();
  const bodies = new Map<string, unknown[]>();

  const balanceKey = (userId: string, asset: string): string => `${userId}|${asset}`;
  function account(userId: string, asset: string): { available: bigint; locked: bigint } {
    const key = balanceKey(userId, asset);
    let entry = balances.get(key);
    if (entry === undefined) {
      entry = { available: 0n, locked: 0n };
      balances.set(key, entry);
    }
    return entry;
  }

  function depositView(d: MockDeposit) {
    return {
      depositId: d.depositId,
      userId: d.userId,
      chain: d.chain,
      asset: d.asset,
      amount: d.amount.toString(),
      txHash: d.txHash,
      blockNumber: d.blockNumber,
      confirmations: d.confirmations,
      status: d.status,
      createdAt: d.createdAt,
      creditAttempt: d.creditAttempt,
      failureReason: d.failureReason,
    };
  }

  function depositOf(body: Record<string, unknown>): MockDeposit {
    const found = deposits.get(String(body['depositId']));
    if (found === undefined) throw new HttpError(404, 'NOT_FOUND', `deposit ${String(body['depositId'])}`);
    return found;
  }

  function orderOf(id: unknown): MockOrder {
    const found = orders.get(String(id));
    if (found === undefined) throw new HttpError(404, 'NOT_FOUND', `order ${String(id)}`);
    return found;
  }

  function page<T>(items: T[], cursorOf: (item: T) => string, query: URLSearchParams) {
    const limit = Number(query.get('limit') ?? '100');
    const after = query.get('cursor');
    const rest = after === null ? items : items.filter((item) => cursorOf(item) > after);
    const slice = rest.slice(0, limit);
    const last = slice[slice.length - 1];
    return {
      items: slice,
      nextCursor: rest.length > limit && last !== undefined ? cursorOf(last) : null,
    };
  }

  /**
   * A batch of order items, each applied once per its own key (a repeat answers the first result, another item
   * under the same key is a mismatch); an item fault or an HttpError fails just that item.
   */
  function batch(
    route: string,
    body: Record<string, unknown>,
    apply: (item: Record<string, unknown>) => object,
  ): { results: unknown[] } {
    const items = body['items'];
    if (!Array.isArray(items)) throw new HttpError(400, 'INVALID_REQUEST', 'expected items');
    return {
      results: (items as Record<string, unknown>[]).map((item): unknown => {
        const orderId = String(item['orderId']);
        const key = String(item['idempotencyKey']);
        const text = JSON.stringify(item);
        const failure = (code: string, message: string, retryable: boolean) => ({
          orderId,
          ok: false,
          error: { code, message },
          retryable,
        });
        const stored = itemAnswers.get(key);
        if (stored !== undefined) {
          return stored.body === text ? stored.answer : failure('IDEMPOTENCY_KEY_MISMATCH', key, false);
        }
        const rated = itemRates.get(route);
        if (rated !== undefined && random() < rated) return failure('UNAVAILABLE', 'injected', true);
        try {
          const answer = { orderId, ok: true, ...apply(item) };
          itemAnswers.set(key, { body: text, status: 200, answer });
          appliedByKey.set(key, (appliedByKey.get(key) ?? 0) + 1);
          return answer;
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          return failure(error.code, error.message, error.status >= 500);
        }
      }),
    };
  }

  /** GET handlers: no key, no effect. */
  const reads: Record<string, (query: URLSearchParams) => unknown> = {
    '/internal/v1/market-data/pairs': (query) => ({
      items: [...pairs.values()].filter((pair) => pair.status === (query.get('status') ?? 'ACTIVE')),
    }),
    '/internal/v1/market-data/ticker-24h': (query) => {
      const pairId = query.get('pairId') ?? '';
      const ticker = tickers.get(pairId);
      if (ticker === undefined) throw new HttpError(404, 'NOT_FOUND', `no ticker for ${pairId}`);
      return {
        pairId,
        windowStart: '2026-11-22T12:00:00.000Z',
        windowEnd: '2026-11-23T12:00:00.000Z',
        ...ticker,
      };
    },
    '/internal/v1/orders/expired': (query) => {
      const before = Date.parse(query.get('before') ?? '');
      const cursorOf = (o: MockOrder): string =>
        `${String(Date.parse(o.expiresAt)).padStart(15, '0')}|${o.orderId}`;
      const listed = [...orders.values()]
        .filter(
          (o) =>
            (o.status === 'OPEN' || o.status === 'PARTIALLY_FILLED') && Date.parse(o.expiresAt) <= before,
        )
        .sort((a, b) => (cursorOf(a) < cursorOf(b) ? -1 : 1));
      const result = page(listed, cursorOf, query);
      return {
        nextCursor: result.nextCursor,
        items: result.items.map((o) => ({
          orderId: o.orderId,
          userId: o.userId,
          pairId: o.pairId,
          side: o.side,
          price: o.price.toString(),
          quantity: o.quantity.toString(),
          filledQuantity: o.filled.toString(),
          baseAsset: o.baseAsset,
          quoteAsset: o.quoteAsset,
          baseDecimals: o.baseDecimals,
          expiresAt: o.expiresAt,
          status: o.status,
        })),
      };
    },
    '/internal/v1/deposits': (query) => {
      const statuses = new Set((query.get('status') ?? '').split(','));
      const createdBefore = query.get('createdBefore');
      const cursorOf = (d: MockDeposit): string => `${d.createdAt}|${d.depositId}`;
      const listed = [...deposits.values()]
        .filter((d) => statuses.has(d.status))
        .filter((d) => createdBefore === null || Date.parse(d.createdAt) < Date.parse(createdBefore))
        .sort((a, b) => (cursorOf(a) < cursorOf(b) ? -1 : 1));
      const result = page(listed, cursorOf, query);
      return { items: result.items.map(depositView), nextCursor: result.nextCursor };
    },
    '/internal/v1/deposits/stats': () => {
      const countsByStatus: Record<string, number> = {};
      let oldest: string | null = null;
      for (const d of deposits.values()) {
        countsByStatus[d.status] = (countsByStatus[d.status] ?? 0) + 1;
        if (d.status === 'CONFIRMED' && (oldest === null || d.createdAt < oldest)) oldest = d.createdAt;
      }
      return { counts: countsByStatus, oldestConfirmedAt: oldest };
    },
    '/internal/v1/blockchain/status': () => ({
      active: monitorActive,
      chains: [...heights].map(([chain, height]) => ({
        chain,
        height,
        updatedAt: '2026-11-23T12:00:00.000Z',
      })),
    }),
  };

  /** POST handlers: the effect, applied once per key by the caller. */
  const writes: Record<string, (body: Record<string, unknown>) => unknown> = {
    '/internal/v1/matching-engine/orders/remove': (body) =>
      batch('POST /internal/v1/matching-engine/orders/remove', body, (item) => {
        const order = orderOf(item['orderId']);
        if (!order.inBook) return { removed: false };
        order.inBook = false;
        return {
          removed: true,
          remainingQuantity: (order.quantity - order.filled).toString(),
          reservedFee: order.side === 'BUY' ? order.reservedFee.toString() : '0',
        };
      }),
    '/internal/v1/balances/unlock': (body) =>
      batch('POST /internal/v1/balances/unlock', body, (item) => {
        const order = orderOf(item['orderId']);
        if ((unlocks.get(order.orderId) ?? 0) > 0) {
          // done before under another key: done, but a correct worker never asks twice
          duplicateUnlocks += 1;
          return {};
        }
        if (order.inBook) throw new HttpError(422, 'IN_BOOK', `order ${order.orderId} is still in the book`);
        if (refusedUnlocks.has(order.orderId)) throw new HttpError(422, 'INSUFFICIENT_LOCKED', 'refused');
        const expected = lockOf(order);
        const asset = order.side === 'BUY' ? order.quoteAsset : order.baseAsset;
        const amount = BigInt(String(item['amount']));
        if (item['asset'] !== asset || amount !== expected || item['userId'] !== order.userId) {
          throw new HttpError(
            422,
            'WRONG_UNLOCK',
            `order ${order.orderId} locks ${expected} ${asset} of ${order.userId}, asked ${amount} ${String(item['asset'])}`,
          );
        }
        const entry = account(order.userId, asset);
        if (entry.locked < amount) throw new HttpError(422, 'INSUFFICIENT_LOCKED', `locked ${entry.locked}`);
        entry.locked -= amount;
        entry.available += amount;
        unlocks.set(order.orderId, 1);
        return {};
      }),
    '/internal/v1/orders/expire': (body) =>
      batch('POST /internal/v1/orders/expire', body, (item) => {
        const order = orderOf(item['orderId']);
        if (order.status === 'EXPIRED') return {};
        if (order.inBook) throw new HttpError(422, 'IN_BOOK', `order ${order.orderId} is still in the book`);
        order.status = 'EXPIRED';
        return {};
      }),
    '/internal/v1/balances/credit': (body) => {
      const found = depositOf(body);
      const refusal = refusals.get(found.depositId);
      if (refusal !== undefined) throw new HttpError(422, 'CREDIT_FAILED', refusal);
      if ((credits.get(found.depositId) ?? 0) > 0) {
        duplicateCredits += 1;
        throw new HttpError(409, 'ALREADY_DONE', 'credited before');
      }
      if (body['amount'] !== found.amount.toString() || body['userId'] !== found.userId) {
        throw new HttpError(
          422,
          'WRONG_CREDIT',
          `deposit ${found.depositId} is ${found.amount} for ${found.userId}`,
        );
      }
      const entry = account(found.userId, found.asset);
      entry.available += found.amount;
      credits.set(found.depositId, 1);
      return {
        userId: found.userId,
        asset: found.asset,
        available: entry.available.toString(),
        locked: entry.locked.toString(),
      };
    },
    '/internal/v1/deposits/confirmations': (body) => {
      const found = depositOf(body);
      if (found.status !== 'PENDING' && found.status !== 'CONFIRMING') {
        throw new HttpError(409, 'ALREADY_DONE', `deposit is ${found.status}`);
      }
      found.confirmations = Number(body['confirmations']);
      if (found.confirmations > 0) found.status = 'CONFIRMING';
      return { deposit: depositView(found) };
    },
    '/internal/v1/deposits/confirm': (body) => {
      const found = depositOf(body);
      if (found.status !== 'PENDING' && found.status !== 'CONFIRMING') {
        throw new HttpError(409, 'ALREADY_DONE', `deposit is ${found.status}`);
      }
      found.confirmations = Number(body['confirmations']);
      found.status = 'CONFIRMED';
      return { deposit: depositView(found) };
    },
    '/internal/v1/deposits/credited': (body) => {
      const found = depositOf(body);
      if (found.status === 'CREDITED') throw new HttpError(409, 'ALREADY_DONE', 'credited');
      if ((credits.get(found.depositId) ?? 0) === 0)
        throw new HttpError(422, 'NOT_CREDITED', 'no credit yet');
      found.status = 'CREDITED';
      return { deposit: depositView(found) };
    },
    '/internal/v1/deposits/fail': (body) => {
      const found = depositOf(body);
      if (found.status === 'FAILED') throw new HttpError(409, 'ALREADY_DONE', 'failed');
      found.status = 'FAILED';
      found.failureReason = String(body['reason']);
      return { deposit: depositView(found) };
    },
    '/internal/v1/deposits/retry': (body) => {
      const found = depositOf(body);
      if (found.status !== 'FAILED') throw new HttpError(409, 'NOT_FAILED', `deposit is ${found.status}`);
      found.status = 'CONFIRMED';
      found.creditAttempt += 1;
      found.failureReason = null;
      return { deposit: depositView(found) };
    },
    '/internal/v1/blockchain/monitor/reinitialize': () => {
      monitorReinitializations += 1;
      monitorActive = true;
      return { active: true };
    },
    '/internal/v1/blockchain/scan': (body) => {
      scans.push(String(body['through']));
      const found = new Map<string, number>();
      for (const spec of hidden.splice(0)) {
        deposits.set(spec.depositId, spec);
        found.set(spec.chain, (found.get(spec.chain) ?? 0) + 1);
      }
      return {
        chains: [...heights].map(([chain, height]) => ({
          chain,
          fromBlock: Math.max(0, height - 100),
          toBlock: height,
          found: found.get(chain) ?? 0,
        })),
      };
    },
  };

  function send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  }

  function nextFault(route: string): Fault | undefined {
    const queued = faults.get(route);
    if (queued !== undefined && queued.length > 0) return queued.shift();
    const rated = rates.get(route);
    if (rated !== undefined && random() < rated.rate) return rated.fault;
    return undefined;
  }

  async function authorize(req: IncomingMessage): Promise<boolean> {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
    const token = header.slice('Bearer '.length);
    let check = verified.get(token);
    if (check === undefined) {
      check = verifier.verify(token);
      verified.set(token, check);
    }
    try {
      await check;
      return true;
    } catch {
      return false;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://mock');
    const route = `${method} ${url.pathname}`;
    counts.set(route, (counts.get(route) ?? 0) + 1);
    if (!(await authorize(req))) {
      send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'invalid service token' } });
      return;
    }
    const fault = nextFault(route);
    if (fault?.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.reset === 'before') {
      req.socket.destroy();
      return;
    }
    if (fault?.status !== undefined) {
      send(res, fault.status, {
        error: { code: fault.code ?? 'FAULT', message: fault.message ?? 'injected' },
      });
      return;
    }
    let status = 200;
    let answer: unknown;
    try {
      if (method === 'GET') {
        const read = reads[url.pathname];
        if (read === undefined) throw new HttpError(404, 'NOT_FOUND', `no route ${route}`);
        answer = read(url.searchParams);
      } else {
        const write = writes[url.pathname];
        if (write === undefined) throw new HttpError(404, 'NOT_FOUND', `no route ${route}`);
        const key = req.headers['idempotency-key'];
        if (typeof key !== 'string') throw new HttpError(400, 'IDEMPOTENCY_KEY_REQUIRED', 'no key');
        const body = JSON.parse(text) as Record<string, unknown>;
        let list = bodies.get(route);
        if (list === undefined) {
          list = [];
          bodies.set(route, list);
        }
        list.push(body);
        const stored = answers.get(key);
        if (stored !== undefined) {
          if (stored.body !== text) throw new HttpError(409, 'IDEMPOTENCY_KEY_MISMATCH', `key ${key} reused`);
          status = stored.status;
          answer = stored.answer;
        } else {
          // lookup, effect and record in one synchronous step: concurrent repeats cannot both apply
          answer = write(body);
          answers.set(key, { body: text, status, answer });
          appliedByKey.set(key, (appliedByKey.get(key) ?? 0) + 1);
        }
      }
    } catch (error) {
      if (error instanceof HttpError) {
        send(res, error.status, { error: { code: error.code, message: error.message } });
        return;
      }
      throw error;
    }
    if (fault?.reset === 'after') {
      req.socket.destroy();
      return;
    }
    send(res, status, answer);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { code: 'MOCK_FAILED', message: errorMessage(error) } });
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    addPair(pair) {
      pairs.set(pair.pairId, { ...pair, status: pair.status ?? 'ACTIVE' });
    },
    setTicker(pairId, ticker) {
      tickers.set(pairId, ticker);
    },
    fund(userId, asset, amount) {
      account(userId, asset).available += amount;
    },
    balance(userId, asset) {
      const entry = account(userId, asset);
      return { available: entry.available, locked: entry.locked };
    },
    placeOrder(spec) {
      const order: MockOrder = {
        ...spec,
        filled: 0n,
        reservedFee: spec.side === 'BUY' ? (spec.fee ?? 0n) : 0n,
        status: 'OPEN',
        inBook: true,
      };
      const asset = spec.side === 'BUY' ? spec.quoteAsset : spec.baseAsset;
      const lock = lockOf(order);
      const entry = account(spec.userId, asset);
      if (entry.available < lock) throw new Error(`user ${spec.userId} cannot lock ${lock} ${asset}`);
      entry.available -= lock;
      entry.locked += lock;
      orders.set(order.orderId, order);
      return order;
    },
    fill(orderId, quantity) {
      const order = orderOf(orderId);
      const before = lockOf(order);
      order.filled += quantity;
      const remaining = order.quantity - order.filled;
      if (order.side === 'BUY') order.reservedFee = ceilDiv((order.fee ?? 0n) * remaining, order.quantity);
      const consumed = before - lockOf(order);
      const asset = order.side === 'BUY' ? order.quoteAsset : order.baseAsset;
      account(order.userId, asset).locked -= consumed;
      const key = balanceKey(order.userId, asset);
      spentBy.set(key, (spentBy.get(key) ?? 0n) + consumed);
      order.status = remaining === 0n ? 'FILLED' : 'PARTIALLY_FILLED';
      if (remaining === 0n) order.inBook = false;
    },
    leaveBook(orderId) {
      orderOf(orderId).inBook = false;
    },
    order: (orderId) => orders.get(orderId),
    spent: (userId, asset) => spentBy.get(balanceKey(userId, asset)) ?? 0n,
    unlocks,
    refuseUnlock(orderId) {
      refusedUnlocks.add(orderId);
    },
    get duplicateUnlocks() {
      return duplicateUnlocks;
    },
    addDeposit(depositSpec) {
      const created: MockDeposit = {
        ...depositSpec,
        status: depositSpec.status ?? 'PENDING',
        confirmations: depositSpec.confirmations ?? 0,
        creditAttempt: 0,
        failureReason: null,
      };
      deposits.set(created.depositId, created);
      return created;
    },
    hideDeposit(depositSpec) {
      hidden.push({
        ...depositSpec,
        status: 'PENDING',
        confirmations: 0,
        creditAttempt: 0,
        failureReason: null,
      });
    },
    deposit: (depositId) => deposits.get(depositId),
    setHeight(chain, height) {
      heights.set(chain, height);
    },
    setMonitorActive(active) {
      monitorActive = active;
    },
    get monitorReinitializations() {
      return monitorReinitializations;
    },
    scans,
    refuseCredit(depositId, message) {
      refusals.set(depositId, message);
    },
    clearCreditRefusal(depositId) {
      refusals.delete(depositId);
    },
    credits,
    get duplicateCredits() {
      return duplicateCredits;
    },
    fault(route, ...injected) {
      faults.set(route, [...(faults.get(route) ?? []), ...injected]);
    },
    faultRate(route, rate, fault) {
      if (rate <= 0) rates.delete(route);
      else rates.set(route, { rate, fault });
    },
    itemFaultRate(route, rate) {
      if (rate <= 0) itemRates.delete(route);
      else itemRates.set(route, rate);
    },
    requestsTo: (route) => counts.get(route) ?? 0,
    bodiesOf: (route) => bodies.get(route) ?? [],
    applied: (key) => appliedByKey.get(key) ?? 0,
    appliedTwice: () => [...appliedByKey.values()].filter((n) => n > 1).length,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
  }
  return body;
}
