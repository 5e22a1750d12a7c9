// Domain verification methods against a fake resolver and a fake fetcher: found, not found (with the finding), and
// meta tags in any attribute order.
import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../src/errors.js';
import { checkDomain, metaContents } from '../../src/jobs/commerce/domain-checks.js';
import type { DnsResolver } from '../../src/jobs/commerce/domain-checks.js';
import type { ExternalFetcher } from '../../src/sinks/external-fetch.js';

const settings = {
  txtPrefix: '_broxiva-verification',
  cnameTarget: 'domains.broxiva.com',
  fileUrl: 'https://{domain}/.well-known/broxiva-verification.txt',
  homeUrl: 'https://{domain}/',
  metaName: 'broxiva-verification',
};
const token = 'tok_abcdefghijklmnop';

function resolver(records: { txt?: string[][]; cname?: string[]; code?: string }): DnsResolver {
  const fail = () => Promise.reject(Object.assign(new Error('dns'), { code: records.code ?? 'ENOTFOUND' }));
  return {
    resolveTxt: () => (records.txt === undefined ? fail() : Promise.resolve(records.txt)),
    resolveCname: () => (records.cname === undefined ? fail() : Promise.resolve(records.cname)),
  };
}

function fetcher(answer: string | Error, seen: string[] = []): ExternalFetcher {
  const text = (url: string | URL) => {
    seen.push(String(url));
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return { fetchText: text, fetchJson: text, close: () => Promise.resolve() };
}

const run = (
  method: 'dns_txt' | 'dns_cname' | 'http_file' | 'meta_tag',
  deps: { resolver?: DnsResolver; fetcher?: ExternalFetcher },
) =>
  checkDomain({ domain: 'shop.example.com', method, token }, settings, {
    resolver: deps.resolver ?? resolver({}),
    fetcher: deps.fetcher ?? fetcher(''),
    signal: new AbortController().signal,
  });

describe('domain checks', () => {
  it('dns_txt: the token as a whole record (chunks joined)', async () => {
    expect(await run('dns_txt', { resolver: resolver({ txt: [['tok_abcdefgh', 'ijklmnop']] }) })).toEqual({
      verified: true,
    });
    expect(await run('dns_txt', { resolver: resolver({ txt: [['v=spf1']] }) })).toEqual({
      verified: false,
      finding: 'TXT at _broxiva-verification.shop.example.com does not hold the token (1 records)',
    });
    expect(await run('dns_txt', { resolver: resolver({ code: 'ESERVFAIL' }) })).toEqual({
      verified: false,
      finding: 'TXT record at _broxiva-verification.shop.example.com: lookup failed (ESERVFAIL)',
    });
  });

  it('dns_cname: the platform target, case and trailing dot ignored', async () => {
    expect(await run('dns_cname', { resolver: resolver({ cname: ['DOMAINS.broxiva.com.'] }) })).toEqual({
      verified: true,
    });
    expect(await run('dns_cname', { resolver: resolver({ cname: ['elsewhere.net'] }) })).toMatchObject({
      verified: false,
    });
    expect(await run('dns_cname', { resolver: resolver({}) })).toEqual({
      verified: false,
      finding: 'no CNAME record for shop.example.com',
    });
  });

  it('http_file: the token on a line of the file at the well-known URL', async () => {
    const seen: string[] = [];
    expect(await run('http_file', { fetcher: fetcher(`\r\n  ${token}  \r\n`, seen) })).toEqual({
      verified: true,
    });
    expect(seen).toEqual(['https://shop.example.com/.well-known/broxiva-verification.txt']);
    expect(
      await run('http_file', {
        fetcher: fetcher(new PermanentError('https://shop.example.com answered 404')),
      }),
    ).toEqual({
      verified: false,
      finding: 'verification file: https://shop.example.com answered 404',
    });
    expect(await run('http_file', { fetcher: fetcher(new TransientError('reset')) })).toMatchObject({
      verified: false,
    });
  });

  it('meta_tag: the named meta tag on the homepage, attributes in any order and quoting', async () => {
    expect(
      metaContents(
        `<META content='a' NAME="broxiva-verification"><meta name=broxiva-verification content=b>`,
        'broxiva-verification',
      ),
    ).toEqual(['a', 'b']);
    expect(
      await run('meta_tag', {
        fetcher: fetcher(`<head><meta name="broxiva-verification" content="${token}"/></head>`),
      }),
    ).toEqual({
      verified: true,
    });
    expect(
      await run('meta_tag', { fetcher: fetcher('<head><meta name="description" content="x"></head>') }),
    ).toEqual({
      verified: false,
      finding: 'the homepage has no <meta name="broxiva-verification"> with the token',
    });
  });
});
