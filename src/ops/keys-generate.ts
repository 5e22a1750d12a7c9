// Operator command: prints a new Ed25519 service key pair (`npx tsx src/ops/keys-generate.ts [--json] [--kid <kid>]`).
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ValidationError } from '../errors.js';
import { generateServiceKeyPair } from '../sinks/service-keys.js';

export { generateServiceKeyPair } from '../sinks/service-keys.js';

const USAGE = 'usage: keys-generate [--json] [--kid <kid>]';
const KID = /^[A-Za-z0-9_.-]{1,128}$/;

/** Runs the command with `argv` (no node/script names) and returns what it prints. */
export function keysGenerate(argv: readonly string[]): string {
  let json = false;
  let kid: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '--kid') {
      kid = argv[++i];
      if (kid === undefined || !KID.test(kid)) {
        throw new ValidationError(`--kid needs 1-128 chars [A-Za-z0-9_.-]; ${USAGE}`);
      }
    } else throw new ValidationError(`unknown argument ${JSON.stringify(arg)}; ${USAGE}`);
  }
  const { privateJwk, publicJwk } = generateServiceKeyPair(kid === undefined ? {} : { kid });
  if (json) return `${JSON.stringify({ kid: publicJwk.kid, privateJwk, publicJwk }, null, 2)}\n`;
  return [
    '# Private key: store it in the secret manager as SERVICE_JWT_PRIVATE_JWK (never commit it).',
    `SERVICE_JWT_PRIVATE_JWK=${JSON.stringify(privateJwk)}`,
    '',
    `# Public key (kid ${publicJwk.kid}): give it to the services that verify the workers' tokens.`,
    JSON.stringify(publicJwk),
    '',
  ].join('\n');
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  try {
    process.stdout.write(keysGenerate(process.argv.slice(2)));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
