// `workers keys generate`: a new Ed25519 service key pair as JWKs (SERVICE_JWT_PRIVATE_JWK and its public half).
import type { Command } from 'commander';
import { keysGenerate } from '../keys-generate.js';
import type { CliContext } from './cli-context.js';

interface GenerateOptions {
  readonly kid?: string;
}

export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('service keys: generate');
  keys
    .command('generate')
    .description(
      'print a new Ed25519 key pair: the private JWK for SERVICE_JWT_PRIVATE_JWK and the public JWK',
    )
    .option('--kid <kid>', 'key id (default: the RFC 7638 thumbprint)')
    .action(
      ctx.action(async (options: GenerateOptions) => {
        const argv = [
          ...(ctx.json ? ['--json'] : []),
          ...(options.kid === undefined ? [] : ['--kid', options.kid]),
        ];
        ctx.io.stdout.write(keysGenerate(argv));
        return Promise.resolve(undefined);
      }),
    );
}
