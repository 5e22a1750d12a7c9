// Test key prefixes: a unique Redis key prefix per test file, so files sharing a server never see each other's keys.
import { randomBytes } from 'node:crypto';

const MAX_NAME_CHARS = 24;

/**
 * `t-<short name>-<6 hex>` from a file path, `import.meta.url` or plain name.
 * Only [a-z0-9-]: no `{`/`}` (would change cluster hash slots) and no `:` (the key builder adds separators).
 */
export function testPrefix(fileOrName: string): string {
  const base = fileOrName.split(/[/\\]/).pop() ?? '';
  const name = base
    .replace(/(\.(test|spec))?\.[cm]?[jt]sx?$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_NAME_CHARS)
    .replace(/-+$/, '');
  return `t-${name === '' ? 'x' : name}-${randomBytes(3).toString('hex')}`;
}
