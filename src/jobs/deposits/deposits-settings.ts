// Settings of the deposits pack (seed 004): the Base chain the on-chain confirmation polls (BASE_RPC_URL,
// BASE_USDC_ADDRESS), the confirmations it waits for, and the repeat's interval, limit and session length.
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import { integerVariable, parsePackSettings } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { evmAddress } from './events.js';

/** Optional at start-up (a worker without the deposits jobs needs neither); the on-chain job refuses to start without. */
const optionalRpcUrl = z
  .string()
  .optional()
  .refine(
    (raw) => raw === undefined || (URL.canParse(raw) && /^https?:$/.test(new URL(raw).protocol)),
    'expected an http:// or https:// URL',
  );

export const depositsSettingsSchema = z.looseObject({
  /** JSON-RPC endpoint of the Base chain (seed 004, e.g. https://sepolia.base.org); may hold a provider API key. */
  BASE_RPC_URL: optionalRpcUrl,
  /** The USDC token contract on that chain (seed 004); only its Transfer logs count. */
  BASE_USDC_ADDRESS: evmAddress.optional(),
  /** Blocks (the transfer's included) before a transfer is credited (seed 004: default 2). */
  DEPOSIT_CONFIRMATIONS_REQUIRED: integerVariable(2, 1, 10_000),
  /** The repeat's interval (seed 004: `repeat.every` 30000). */
  DEPOSIT_CONFIRMATION_POLL_MS: integerVariable(30_000, 50, 3_600_000),
  /** Most polls of one session, the first included (seed 004: `repeat.limit` 120). */
  DEPOSIT_CONFIRMATION_POLL_LIMIT: integerVariable(120, 1, 100_000),
  /** A deposit session expires this long after it was created (seed 004: 60 minutes). */
  DEPOSIT_SESSION_TTL_MS: integerVariable(3_600_000, 1_000, 2_147_483_647),
});

export interface DepositsSettings {
  readonly rpcUrl: string | undefined;
  readonly usdcAddress: string | undefined;
  readonly confirmationsRequired: number;
  readonly pollEveryMs: number;
  readonly pollLimit: number;
  readonly sessionTtlMs: number;
}

export function depositsSettingsFrom(env: Environment): DepositsSettings {
  const parsed = parsePackSettings(depositsSettingsSchema, env, 'deposits');
  return {
    rpcUrl: parsed.BASE_RPC_URL,
    usdcAddress: parsed.BASE_USDC_ADDRESS,
    confirmationsRequired: parsed.DEPOSIT_CONFIRMATIONS_REQUIRED,
    pollEveryMs: parsed.DEPOSIT_CONFIRMATION_POLL_MS,
    pollLimit: parsed.DEPOSIT_CONFIRMATION_POLL_LIMIT,
    sessionTtlMs: parsed.DEPOSIT_SESSION_TTL_MS,
  };
}

/** The chain settings a job that polls Base needs; a ConfigError naming the missing variable otherwise. */
export function requireBaseChain(
  settings: DepositsSettings,
  job: string,
): { readonly rpcUrl: string; readonly usdcAddress: string } {
  const { rpcUrl, usdcAddress } = settings;
  if (rpcUrl === undefined) {
    throw new ConfigError(
      `BASE_RPC_URL: is not set (job ${job} polls the Base chain through it; expected an http(s) JSON-RPC URL)`,
      'BASE_RPC_URL',
    );
  }
  if (usdcAddress === undefined) {
    throw new ConfigError(
      `BASE_USDC_ADDRESS: is not set (job ${job} credits USDC transfers only; expected the token's 0x address)`,
      'BASE_USDC_ADDRESS',
    );
  }
  return { rpcUrl, usdcAddress };
}
