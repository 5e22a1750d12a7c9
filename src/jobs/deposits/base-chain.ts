// The Base chain as the on-chain deposit job reads it: the head block and the ERC-20 Transfer logs to one address,
// over JSON-RPC through the SSRF-guarded fetcher. Amounts and block numbers stay bigints decoded from hex, never floats.
import { z } from 'zod';
import { PermanentError, TransientError } from '../../errors.js';
import type { ExternalFetcher } from '../../sinks/external-fetch.js';

/** keccak256("Transfer(address,address,uint256)"): topic 0 of every ERC-20 Transfer log. */
export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

/** JSON-RPC errors no retry can fix (the request itself is wrong); every other error code is worth another try. */
const PERMANENT_RPC_CODES = new Set([-32600, -32601, -32602]);

const hexQuantity = z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, 'expected a hex quantity');
const hexWord = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected 32 bytes of hex');

/** A log as eth_getLogs returns it; pending logs have null positions. */
export const rpcLog = z.object({
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address'),
  topics: z.array(hexWord).max(4),
  data: z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/, 'expected hex data'),
  blockNumber: hexQuantity.nullable(),
  transactionHash: hexWord.nullable(),
  logIndex: hexQuantity.nullable(),
  removed: z.boolean().optional(),
});

export type RpcLog = z.infer<typeof rpcLog>;

const rpcError = z.object({ code: z.number().int(), message: z.string() });

/** One ERC-20 transfer, decoded; addresses lower-cased. */
export interface TokenTransfer {
  readonly token: string;
  readonly from: string;
  readonly to: string;
  /** Token minor units from the log's data (uint256). */
  readonly amount: bigint;
  readonly blockNumber: bigint;
  readonly txHash: string;
  readonly logIndex: number;
}

/** The 32-byte topic of an address (indexed `from`/`to`): 12 zero bytes, then the address. */
export function addressTopic(address: string): string {
  return `0x${'0'.repeat(24)}${address.slice(2).toLowerCase()}`;
}

/** A Transfer log decoded; undefined for anything else (other events, pending or removed logs, bad padding). */
export function decodeTransferLog(log: RpcLog): TokenTransfer | undefined {
  const [signature, from, to] = log.topics;
  if (log.topics.length !== 3 || signature?.toLowerCase() !== TRANSFER_TOPIC) return undefined;
  if (from === undefined || to === undefined || !isAddressTopic(from) || !isAddressTopic(to))
    return undefined;
  if (
    log.removed === true ||
    log.blockNumber === null ||
    log.transactionHash === null ||
    log.logIndex === null
  ) {
    return undefined;
  }
  // uint256 value: exactly one 32-byte word
  if (log.data.length !== 66) return undefined;
  const logIndex = Number(BigInt(log.logIndex));
  if (!Number.isSafeInteger(logIndex)) return undefined;
  return {
    token: log.address.toLowerCase(),
    from: `0x${from.slice(26).toLowerCase()}`,
    to: `0x${to.slice(26).toLowerCase()}`,
    amount: BigInt(log.data),
    blockNumber: BigInt(log.blockNumber),
    txHash: log.transactionHash.toLowerCase(),
    logIndex,
  };
}

function isAddressTopic(topic: string): boolean {
  return /^0x0{24}[0-9a-fA-F]{40}$/.test(topic);
}

/** Blocks that include the transfer's block and every block on top of it; 0 while the head is below it. */
export function confirmationsOf(head: bigint, blockNumber: bigint): bigint {
  return head >= blockNumber ? head - blockNumber + 1n : 0n;
}

/** What a deposit session waits for: a transfer of exactly `amount` of `token` to `to`. */
export interface ExpectedTransfer {
  readonly token: string;
  readonly to: string;
  readonly amount: bigint;
}

/**
 * The earliest transfer (block, then log index) matching the session; transfers of another token, to another
 * address or of another amount are ignored, whatever the RPC returned.
 */
export function findDepositTransfer(
  transfers: readonly TokenTransfer[],
  expected: ExpectedTransfer,
): TokenTransfer | undefined {
  const token = expected.token.toLowerCase();
  const to = expected.to.toLowerCase();
  const matching = transfers.filter(
    (transfer) => transfer.token === token && transfer.to === to && transfer.amount === expected.amount,
  );
  return matching.sort((a, b) =>
    a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
  )[0];
}

export interface BaseChain {
  /** eth_blockNumber */
  headBlock(signal?: AbortSignal): Promise<bigint>;
  /** eth_getLogs: Transfer logs of `token` to `to` in [fromBlock, toBlock], decoded (others dropped). */
  transfersTo(
    query: {
      readonly token: string;
      readonly to: string;
      readonly fromBlock: bigint;
      readonly toBlock: bigint;
    },
    signal?: AbortSignal,
  ): Promise<TokenTransfer[]>;
}

const toHex = (value: bigint): string => `0x${value.toString(16)}`;

/**
 * RPC failures are transient (retried): HTTP 5xx/429, timeouts, resets (the fetcher's mapping), JSON-RPC errors
 * other than a malformed request, and answers that are not JSON-RPC (a provider's error page) alike.
 */
export function createBaseChain(fetcher: ExternalFetcher, rpcUrl: string): BaseChain {
  const origin = new URL(rpcUrl).origin;
  let nextId = 1;

  async function call(method: string, params: unknown[], signal?: AbortSignal): Promise<unknown> {
    const id = nextId++;
    const text = await fetcher.fetchText(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      ...(signal === undefined ? {} : { signal }),
    });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TransientError(`${origin} ${method}: the answer is not JSON`);
    }
    if (typeof json !== 'object' || json === null) {
      throw new TransientError(`${origin} ${method}: the answer is not JSON-RPC`);
    }
    if ('error' in json) {
      const error = rpcError.safeParse(json.error);
      const { code, message } = error.success ? error.data : { code: 0, message: 'malformed error' };
      const reason = `${origin} ${method}: JSON-RPC error ${code} ${message.slice(0, 200)}`;
      throw PERMANENT_RPC_CODES.has(code) ? new PermanentError(reason) : new TransientError(reason);
    }
    if (!('result' in json)) throw new TransientError(`${origin} ${method}: the answer has no result`);
    return json.result;
  }

  function parsed<S extends z.ZodType>(schema: S, value: unknown, method: string): z.output<S> {
    const result = schema.safeParse(value);
    if (!result.success) throw new TransientError(`${origin} ${method}: unexpected result shape`);
    return result.data;
  }

  return {
    async headBlock(signal) {
      return BigInt(parsed(hexQuantity, await call('eth_blockNumber', [], signal), 'eth_blockNumber'));
    },
    async transfersTo(query, signal) {
      const filter = {
        address: query.token.toLowerCase(),
        topics: [TRANSFER_TOPIC, null, addressTopic(query.to)],
        fromBlock: toHex(query.fromBlock),
        toBlock: toHex(query.toBlock),
      };
      const logs = parsed(z.array(rpcLog), await call('eth_getLogs', [filter], signal), 'eth_getLogs');
      return logs.flatMap((log) => decodeTransferLog(log) ?? []);
    },
  };
}
