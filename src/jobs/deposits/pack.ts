// The deposits pack (seed 004, formerly two Bull queues): M-Pesa deposit completion (deposit.completion) and the
// on-chain USDC deposit confirmation repeat against Base (deposit.onchain_confirmation).
import type { JobPack } from '../catalog.js';
import { environmentPack } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { DEPOSIT_COMPLETION, depositCompletionJob } from './deposit-completion.js';
import { depositsSettingsFrom } from './deposits-settings.js';
import { registerDepositsEvents } from './events.js';
import {
  ONCHAIN_DEPOSIT_CONFIRMATION,
  onchainDepositConfirmationJob,
} from './onchain-deposit-confirmation.js';

/**
 * The pack for the settings in `env` (BASE_RPC_URL, BASE_USDC_ADDRESS, DEPOSIT_*); throws ConfigError when they are
 * bad. Both jobs share ENABLE_DEPOSITS (not in the seeds: chosen here) and are off by default: they need
 * SVC_DEPOSITS_URL and SERVICE_JWT_PRIVATE_JWK, the on-chain one BASE_RPC_URL and BASE_USDC_ADDRESS too.
 */
export function createDepositsPack(env: Environment): JobPack {
  const settings = depositsSettingsFrom(env);
  return {
    name: 'deposits',
    register: registerDepositsEvents,
    jobs: [
      {
        catalog: {
          name: DEPOSIT_COMPLETION,
          domain: 'deposits',
          enableFlag: 'ENABLE_DEPOSITS',
          enabledByDefault: false,
          aliases: ['mpesa'],
        },
        definition: (context) => depositCompletionJob(context),
      },
      {
        catalog: {
          name: ONCHAIN_DEPOSIT_CONFIRMATION,
          domain: 'deposits',
          enableFlag: 'ENABLE_DEPOSITS',
          enabledByDefault: false,
          aliases: ['onchain'],
        },
        definition: (context) => onchainDepositConfirmationJob(context, settings),
      },
    ],
  };
}

export const depositsPack: JobPack = environmentPack(
  'deposits',
  registerDepositsEvents,
  (env) => createDepositsPack(env).jobs,
);
