// Unit tests of the Base chain reader of the deposits pack: Transfer logs decoded from hex to bigints (never floats),
// decoys ignored, the earliest match chosen, confirmations counted, and JSON-RPC failures mapped to retry or DLQ.
import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../src/errors.js';
import {
  TRANSFER_TOPIC,
  addressTopic,
  confirmationsOf,
  createBaseChain,
  decodeTransferLog,
  findDepositTransfer,
  type RpcLog,
  type TokenTransfer,
} from '../../src/jobs/deposits/base-chain.js';
import type { ExternalFetcher, ExternalRequest } from '../../src/sinks/external-fetch.js';

const USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const TO = '0x00000000000000000000000000000000DeadBeef';
const FROM = `0x${'ab'.repeat(20)}`;
const TX = `0x${'12'.repeat(32)}`;

function log(overrides: Partial<RpcLog> = {}): RpcLog {
  return {
    address: USDC,
    topics: [TRANSFER_TOPIC, addressTopic(FROM), addressTopic(TO)],
    data: `0x${25_000_000n.toString(16).padStart(64, '0')}`,
    blockNumber: '0x3ea',
    transactionHash: TX,
    logIndex: '0x2',
    removed: false,
    ...overrides,
  };
}

function transfer(overrides: Partial<TokenTransfer> = {}): TokenTransfer {
  return {
    token: USDC.toLowerCase(),
    from: FROM,
    to: TO.toLowerCase(),
    amount: 25_000_000n,
    blockNumber: 1_002n,
    txHash: TX,
    logIndex: 0,
    ...overrides,
  };
}

describe('decodeTransferLog', () => {
  it('decodes a USDC Transfer: hex value to bigint minor units, addresses lower-cased', () => {
    expect(decodeTransferLog(log())).toEqual({
      token: USDC.toLowerCase(),
      from: FROM,
      to: TO.toLowerCase(),
      amount: 25_000_000n,
      blockNumber: 1_002n,
      txHash: TX,
      logIndex: 2,
    });
  });

  it('keeps amounts beyond 2^53 exact (uint256 as bigint)', () => {
    const huge = 2n ** 200n + 7n;
    expect(decodeTransferLog(log({ data: `0x${huge.toString(16).padStart(64, '0')}` }))?.amount).toBe(huge);
  });

  it.each([
    ['another event', { topics: [`0x${'11'.repeat(32)}`, addressTopic(FROM), addressTopic(TO)] }],
    [
      'an ERC-721 Transfer (4 topics)',
      { topics: [TRANSFER_TOPIC, addressTopic(FROM), addressTopic(TO), TX] },
    ],
    ['a removed log (reorg)', { removed: true }],
    ['a pending log', { blockNumber: null }],
    ['a value that is not one word', { data: '0x01' }],
    [
      'a topic that is not an address',
      { topics: [TRANSFER_TOPIC, addressTopic(FROM), `0x${'ff'.repeat(32)}`] },
    ],
  ])('ignores %s', (_what, overrides) => {
    expect(decodeTransferLog(log(overrides as Partial<RpcLog>))).toBeUndefined();
  });
});

describe('findDepositTransfer', () => {
  const expected = { token: USDC, to: TO, amount: 25_000_000n };

  it('ignores another token, another amount and another address; picks the earliest match', () => {
    const decoys = [
      transfer({ token: `0x${'77'.repeat(20)}`, blockNumber: 1_000n }),
      transfer({ amount: 24_999_999n, blockNumber: 1_000n }),
      transfer({ to: `0x${'99'.repeat(20)}`, blockNumber: 1_000n }),
    ];
    expect(findDepositTransfer(decoys, expected)).toBeUndefined();
    const later = transfer({ blockNumber: 1_005n, logIndex: 0 });
    const sameBlockLater = transfer({ blockNumber: 1_002n, logIndex: 9 });
    const first = transfer({ blockNumber: 1_002n, logIndex: 3 });
    expect(findDepositTransfer([...decoys, later, sameBlockLater, first], expected)).toBe(first);
  });

  it('compares addresses whatever their case (checksummed settings, lower-case logs)', () => {
    expect(
      findDepositTransfer([transfer()], { ...expected, token: USDC.toUpperCase().replace('0X', '0x') }),
    ).toBeDefined();
  });
});

describe('confirmationsOf', () => {
  it('counts the transfer block itself: head - block + 1, 0 while the head is below', () => {
    expect(confirmationsOf(1_002n, 1_002n)).toBe(1n);
    expect(confirmationsOf(1_003n, 1_002n)).toBe(2n);
    expect(confirmationsOf(1_001n, 1_002n)).toBe(0n);
  });
});

/** A fetcher answering from a list; records what was sent. */
function fakeFetcher(
  answers: (string | Error)[],
): ExternalFetcher & { sent: ExternalRequest[]; urls: string[] } {
  const sent: ExternalRequest[] = [];
  const urls: string[] = [];
  return {
    sent,
    urls,
    fetchJson: () => Promise.reject(new Error('not used')),
    fetchText(url, request = {}) {
      urls.push(String(url));
      sent.push(request);
      const next = answers.shift();
      if (next === undefined) return Promise.reject(new Error('no answer scripted'));
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    close: () => Promise.resolve(),
  } as ExternalFetcher & { sent: ExternalRequest[]; urls: string[] };
}

const rpc = (result: unknown): string => JSON.stringify({ jsonrpc: '2.0', id: 1, result });

describe('createBaseChain', () => {
  it('reads the head and asks eth_getLogs for Transfer logs of the token to the address, in the block range', async () => {
    const fetcher = fakeFetcher([rpc('0x3eb'), rpc([log(), log({ removed: true })])]);
    const chain = createBaseChain(fetcher, 'https://base.example/v2/secret-key');
    expect(await chain.headBlock()).toBe(1_003n);
    const transfers = await chain.transfersTo({ token: USDC, to: TO, fromBlock: 1_000n, toBlock: 1_003n });
    expect(transfers).toHaveLength(1);
    expect(fetcher.urls[1]).toBe('https://base.example/v2/secret-key');
    const body = JSON.parse(fetcher.sent[1]?.body ?? '{}') as { method: string; params: unknown[] };
    expect(fetcher.sent[1]?.method).toBe('POST');
    expect(body.method).toBe('eth_getLogs');
    expect(body.params).toEqual([
      {
        address: USDC.toLowerCase(),
        topics: [TRANSFER_TOPIC, null, addressTopic(TO)],
        fromBlock: '0x3e8',
        toBlock: '0x3eb',
      },
    ]);
  });

  it('maps JSON-RPC errors: a malformed request is permanent, anything else transient; no key in messages', async () => {
    const error = (code: number) =>
      JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code, message: 'nope' } });
    const chain = createBaseChain(
      fakeFetcher([
        error(-32_602),
        error(-32_000),
        '<html>502</html>',
        rpc('not hex'),
        JSON.stringify({ id: 1 }),
      ]),
      'https://base.example/v2/secret-key',
    );
    await expect(chain.headBlock()).rejects.toBeInstanceOf(PermanentError);
    for (let i = 0; i < 4; i += 1) {
      const failure = await chain.headBlock().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(TransientError);
      expect((failure as Error).message).not.toContain('secret-key');
    }
  });

  it("passes the fetcher's own errors through (HTTP 5xx, timeouts are already TransientError)", async () => {
    const down = new TransientError('https://base.example answered 503');
    const chain = createBaseChain(fakeFetcher([down]), 'https://base.example/rpc');
    await expect(chain.headBlock()).rejects.toBe(down);
  });
});
