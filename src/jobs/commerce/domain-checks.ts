// Seed 003 §5 verification methods: TXT record at `_broxiva-verification.<domain>`, CNAME to the platform's target,
// file at `/.well-known/broxiva-verification.txt`, meta tag on the homepage. DNS goes through an injectable resolver;
// HTTP through the SSRF guard. A check that does not find the token says what it found; it never throws for that.
import { Resolver } from 'node:dns/promises';
import { errorMessage } from '../../errors.js';
import type { ExternalFetcher } from '../../sinks/external-fetch.js';

/** The part of node's dns Resolver the checks use; tests pass their own records. */
export interface DnsResolver {
  resolveTxt(name: string): Promise<string[][]>;
  resolveCname(name: string): Promise<string[]>;
}

/** The system resolver with bounded waits (a domain check runs every few minutes; one slow answer must not hang). */
export function systemDnsResolver(): DnsResolver {
  const resolver = new Resolver({ timeout: 5000, tries: 2 });
  return {
    resolveTxt: (name) => resolver.resolveTxt(name),
    resolveCname: (name) => resolver.resolveCname(name),
  };
}

export type CheckResult =
  { readonly verified: true } | { readonly verified: false; readonly finding: string };

export interface DomainCheckSettings {
  readonly txtPrefix: string;
  readonly cnameTarget: string;
  readonly fileUrl: string;
  readonly homeUrl: string;
  readonly metaName: string;
}

export interface DomainCheck {
  readonly domain: string;
  readonly method: 'dns_txt' | 'dns_cname' | 'http_file' | 'meta_tag';
  readonly token: string;
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

function dnsFinding(error: unknown, what: string): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && NOT_FOUND.has(code)) return `no ${what}`;
  return `${what}: lookup failed (${typeof code === 'string' ? code : errorMessage(error)})`;
}

const hostOf = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** `<meta name="..." content="...">` in any attribute order and quoting. */
export function metaContents(html: string, name: string): string[] {
  const found: string[] = [];
  for (const tag of html.match(/<meta\b[^>]*>/gi) ?? []) {
    const attributes = new Map<string, string>();
    for (const match of tag.matchAll(/([a-zA-Z-]+)\s*=\s*("([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
      attributes.set((match[1] ?? '').toLowerCase(), match[3] ?? match[4] ?? match[5] ?? '');
    }
    if (attributes.get('name')?.toLowerCase() === name.toLowerCase())
      found.push(attributes.get('content') ?? '');
  }
  return found;
}

export async function checkDomain(
  check: DomainCheck,
  settings: DomainCheckSettings,
  deps: { readonly resolver: DnsResolver; readonly fetcher: ExternalFetcher; readonly signal: AbortSignal },
): Promise<CheckResult> {
  const { domain, token } = check;
  const url = (template: string): string => template.replaceAll('{domain}', domain);
  switch (check.method) {
    case 'dns_txt': {
      const name = `${settings.txtPrefix}.${domain}`;
      try {
        const records = (await deps.resolver.resolveTxt(name)).map((chunks) => chunks.join('').trim());
        return records.includes(token)
          ? { verified: true }
          : {
              verified: false,
              finding: `TXT at ${name} does not hold the token (${records.length} records)`,
            };
      } catch (error) {
        return { verified: false, finding: dnsFinding(error, `TXT record at ${name}`) };
      }
    }
    case 'dns_cname': {
      try {
        const targets = (await deps.resolver.resolveCname(domain)).map(hostOf);
        return targets.includes(hostOf(settings.cnameTarget))
          ? { verified: true }
          : {
              verified: false,
              finding: `CNAME of ${domain} points to ${targets.join(', ') || 'nothing'}, not ${settings.cnameTarget}`,
            };
      } catch (error) {
        return { verified: false, finding: dnsFinding(error, `CNAME record for ${domain}`) };
      }
    }
    case 'http_file': {
      try {
        const body = await deps.fetcher.fetchText(url(settings.fileUrl), { signal: deps.signal });
        return body.split(/\r?\n/).some((line) => line.trim() === token)
          ? { verified: true }
          : { verified: false, finding: 'the verification file does not hold the token' };
      } catch (error) {
        if (deps.signal.aborted) throw error;
        return { verified: false, finding: `verification file: ${errorMessage(error)}` };
      }
    }
    case 'meta_tag': {
      try {
        const html = await deps.fetcher.fetchText(url(settings.homeUrl), { signal: deps.signal });
        return metaContents(html, settings.metaName).some((content) => content.trim() === token)
          ? { verified: true }
          : {
              verified: false,
              finding: `the homepage has no <meta name="${settings.metaName}"> with the token`,
            };
      } catch (error) {
        if (deps.signal.aborted) throw error;
        return { verified: false, finding: `homepage: ${errorMessage(error)}` };
      }
    }
  }
}
