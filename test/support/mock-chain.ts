// A loopback mock of an EVM JSON-RPC node (the Base chain of seed 004) on listen(0): eth_blockNumber, eth_getLogs and
// eth_getTransactionReceipt over ERC-20 Transfer logs the test adds, a head that grows on demand or per head read,
// scripted faults (HTTP status, JSON-RPC error, garbage, hang, reset) and a request log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** keccak256("Transfer(address,address,uint256)") */
export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

/** Base Sepolia USDC, seed 004's BASE_USDC_ADDRESS example. */
export const SEPOLIA_USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';

export interface TransferInput {
  /** Token contract; default the chain's `usdc`. */
  readonly token?: string;
  readonly from?: string;
  readonly to: string;
  /** Token minor units (USDC: 6 decimals). */
  readonly amount: bigint;
  /** Block it is mined in; it is invisible (logs, receipts) while the head is below. */
  readonly blockNumber: bigint;
  readonly logIndex?: number;
  readonly txHash?: string;
  /** A log removed by a reorg (`removed: true`). */
  readonly removed?: boolean;
}

export interface ChainLog {
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: string;
  readonly transactionHash: string;
  readonly logIndex: string;
  readonly removed: boolean;
}

/** One scripted fault, used by the next call of its method instead of the normal answer. */
export type ChainFault =
  | { readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly rpcError: { readonly code: number; readonly message: string } }
  | { readonly garbage: string }
  | { readonly hang: true }
  | { readonly reset: true };

export interface ChainRequest {
  readonly method: string;
  readonly params: readonly unknown[];
  /** Time of arrival (Date.now()). */
  readonly at: number;
  readonly fault: ChainFault | undefined;
}

export interface MockChain {
  /** Through the named loopback host (what the SSRF guard lets through with EXTERNAL_ALLOW_LOOPBACK_HOSTS). */
  readonly url: string;
  readonly ipUrl: string;
  readonly usdc: string;
  readonly requests: readonly ChainRequest[];
  /** Requests of one JSON-RPC method (faulted ones included). */
  calls(method: string): ChainRequest[];
  head(): bigint;
  setHead(block: bigint): void;
  mine(blocks?: number): bigint;
  /** Every eth_blockNumber call first mines this many blocks (default 0): confirmations grow with each poll. */
  minePerHeadRead(blocks: number): void;
  /** Adds a Transfer log; returns it as the node will answer it. */
  transfer(input: TransferInput): ChainLog;
  /** Faults for the next calls of `method` ('*' = any method), in order. */
  fail(method: string, faults: readonly ChainFault[]): void;
  /** A sloppy node: eth_getLogs ignores the address and topic filters (the block range still applies). */
  ignoreFilters(sloppy: boolean): void;
  close(): Promise<void>;
}

const hex = (value: bigint | number): string => `0x${value.toString(16)}`;
const word = (value: bigint): string => `0x${value.toString(16).padStart(64, '0')}`;
const addressTopic = (address: string): string => `0x${'0'.repeat(24)}${address.slice(2).toLowerCase()}`;

type BlockTag = bigint;

export async function startMockChain(
  options: { readonly head?: bigint; readonly usdc?: string } = {},
): Promise<MockChain> {
  const usdc = options.usdc ?? SEPOLIA_USDC;
  let head = options.head ?? 1_000n;
  let perHeadRead = 0;
  let sloppy = false;
  let txCounter = 0;
  const logs: ChainLog[] = [];
  const faults = new Map<string, ChainFault[]>();
  const requests: ChainRequest[] = [];

  function blockOf(tag: unknown, fallback: BlockTag): BlockTag {
    if (tag === undefined) return fallback;
    if (tag === 'latest' || tag === 'safe' || tag === 'finalized' || tag === 'pending') return head;
    if (tag === 'earliest') return 0n;
    if (typeof tag === 'string' && /^0x[0-9a-fA-F]+$/.test(tag)) return BigInt(tag);
    throw new RpcFailure(-32602, `invalid block tag ${JSON.stringify(tag)}`);
  }

  function topicMatches(filter: unknown, topic: string | undefined): boolean {
    if (filter === null || filter === undefined) return true;
    const wanted = Array.isArray(filter) ? filter : [filter];
    return (
      topic !== undefined &&
      wanted.some((t) => typeof t === 'string' && t.toLowerCase() === topic.toLowerCase())
    );
  }

  function getLogs(filter: Record<string, unknown>): ChainLog[] {
    const from = blockOf(filter.fromBlock, head);
    const to = blockOf(filter.toBlock, head);
    const addresses = (Array.isArray(filter.address) ? filter.address : [filter.address])
      .filter((a): a is string => typeof a === 'string')
      .map((a) => a.toLowerCase());
    const topics = Array.isArray(filter.topics) ? (filter.topics as unknown[]) : [];
    return logs.filter((log) => {
      const block = BigInt(log.blockNumber);
      if (block > head || block < from || block > to) return false;
      if (sloppy) return true;
      if (addresses.length > 0 && !addresses.includes(log.address.toLowerCase())) return false;
      return topics.every((t, i) => topicMatches(t, log.topics[i]));
    });
  }

  function receipt(txHash: unknown): object | null {
    if (typeof txHash !== 'string') throw new RpcFailure(-32602, 'expected a transaction hash');
    const own = logs.filter(
      (l) => l.transactionHash === txHash.toLowerCase() && BigInt(l.blockNumber) <= head,
    );
    const first = own[0];
    if (first === undefined) return null;
    return {
      transactionHash: first.transactionHash,
      blockNumber: first.blockNumber,
      status: '0x1',
      logs: own.filter((l) => !l.removed),
    };
  }

  function answer(method: string, params: unknown[]): unknown {
    switch (method) {
      case 'eth_blockNumber':
        head += BigInt(perHeadRead);
        return hex(head);
      case 'eth_chainId':
        return hex(84_532);
      case 'eth_getLogs':
        return getLogs((params[0] ?? {}) as Record<string, unknown>);
      case 'eth_getTransactionReceipt':
        return receipt(params[0]);
      default:
        throw new RpcFailure(-32601, `the method ${method} does not exist`);
    }
  }

  function reply(
    res: ServerResponse,
    status: number,
    text: string,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  }

  function handle(req: IncomingMessage, res: ServerResponse, text: string): void {
    let call: { id?: unknown; method?: unknown; params?: unknown };
    try {
      call = JSON.parse(text) as typeof call;
    } catch {
      reply(
        res,
        200,
        JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }),
      );
      return;
    }
    const method = typeof call.method === 'string' ? call.method : '';
    const params = Array.isArray(call.params) ? call.params : [];
    const fault = faults.get(method)?.shift() ?? faults.get('*')?.shift();
    requests.push({ method, params, at: Date.now(), fault });
    if (fault !== undefined) {
      if ('hang' in fault) return;
      if ('reset' in fault) {
        req.socket.destroy();
        return;
      }
      if ('garbage' in fault) {
        reply(res, 200, fault.garbage, { 'content-type': 'text/html' });
        return;
      }
      if ('rpcError' in fault) {
        reply(res, 200, JSON.stringify({ jsonrpc: '2.0', id: call.id ?? null, error: fault.rpcError }));
        return;
      }
      reply(res, fault.status, fault.body ?? '', fault.headers);
      return;
    }
    try {
      reply(
        res,
        200,
        JSON.stringify({ jsonrpc: '2.0', id: call.id ?? null, result: answer(method, params) }),
      );
    } catch (error) {
      const { code, message } =
        error instanceof RpcFailure ? error : { code: -32603, message: (error as Error).message };
      reply(res, 200, JSON.stringify({ jsonrpc: '2.0', id: call.id ?? null, error: { code, message } }));
    }
  }

  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.once('end', () => handle(req, res, body));
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://localhost:${port}`,
    ipUrl: `http://127.0.0.1:${port}`,
    usdc,
    requests,
    calls: (method) => requests.filter((r) => r.method === method),
    head: () => head,
    setHead(block) {
      head = block;
    },
    mine(blocks = 1) {
      head += BigInt(blocks);
      return head;
    },
    minePerHeadRead(blocks) {
      perHeadRead = blocks;
    },
    transfer(input) {
      txCounter += 1;
      const log: ChainLog = {
        address: (input.token ?? usdc).toLowerCase(),
        topics: [TRANSFER_TOPIC, addressTopic(input.from ?? `0x${'ab'.repeat(20)}`), addressTopic(input.to)],
        data: word(input.amount),
        blockNumber: hex(input.blockNumber),
        transactionHash: (input.txHash ?? word(BigInt(0xdead0000 + txCounter))).toLowerCase(),
        logIndex: hex(input.logIndex ?? 0),
        removed: input.removed ?? false,
      };
      logs.push(log);
      return log;
    },
    fail(method, list) {
      faults.set(method, [...(faults.get(method) ?? []), ...list]);
    },
    ignoreFilters(value) {
      sloppy = value;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
