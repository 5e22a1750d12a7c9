// Unit tests of the SSRF guard: the address classifier (IPv4, IPv6, mapped forms), URL, redirect and resolved-address
// rules, the connection lookup, and options validation.
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { ConfigError, PermanentError, SsrfBlockedError, ValidationError } from '../../src/errors.js';
import { classifyAddress } from '../../src/sinks/address-ranges.js';
import { createSsrfGuard, ssrfGuardOptionsSchema } from '../../src/sinks/ssrf-guard.js';
import type { HostResolver, ResolvedAddress, SsrfGuard } from '../../src/sinks/ssrf-guard.js';

function blockedBy(run: () => unknown): SsrfBlockedError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SsrfBlockedError);
    return error as SsrfBlockedError;
  }
  throw new Error('expected the SSRF guard to block');
}

const noDns: HostResolver = () => Promise.reject(new Error('no DNS in unit tests'));

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['93.184.216.34'],
    ['100.63.255.255'],
    ['100.128.0.0'],
    ['172.15.255.255'],
    ['172.32.0.0'],
    ['192.167.255.255'],
    ['198.17.255.255'],
    ['198.20.0.0'],
    ['223.255.255.255'],
    ['2606:4700:4700::1111'],
    ['2001:4860:4860::8888'],
    ['::ffff:8.8.8.8'],
    ['::ffff:808:808'],
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toMatchObject({ kind: 'public', range: undefined });
  });

  it.each([
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.255.255.254', '127.0.0.0/8'],
    ['::1', '::1/128'],
    ['0:0:0:0:0:0:0:1', '::1/128'],
    ['::ffff:127.0.0.1', '127.0.0.0/8 (loopback) via ::ffff:0:0/96'],
    ['::ffff:7f00:1', '127.0.0.0/8 (loopback) via ::ffff:0:0/96'],
    ['0:0:0:0:0:ffff:7f00:0001', '127.0.0.0/8'],
  ])('%s is loopback (%s)', (address, range) => {
    const verdict = classifyAddress(address);
    expect(verdict.kind).toBe('loopback');
    expect(verdict.range).toContain(range);
  });

  it.each([
    ['0.0.0.0', '0.0.0.0/8'],
    ['0.255.255.255', '0.0.0.0/8'],
    ['10.0.0.5', '10.0.0.0/8'],
    ['10.255.255.255', '10.0.0.0/8'],
    ['100.64.0.1', '100.64.0.0/10'],
    ['100.127.255.255', '100.64.0.0/10'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['172.16.0.1', '172.16.0.0/12'],
    ['172.31.255.255', '172.16.0.0/12'],
    ['192.0.0.8', '192.0.0.0/24'],
    ['192.0.2.1', '192.0.2.0/24'],
    ['192.88.99.1', '192.88.99.0/24'],
    ['192.168.1.1', '192.168.0.0/16'],
    ['198.18.0.1', '198.18.0.0/15'],
    ['198.19.255.255', '198.18.0.0/15'],
    ['198.51.100.7', '198.51.100.0/24'],
    ['203.0.113.9', '203.0.113.0/24'],
    ['224.0.0.251', '224.0.0.0/4'],
    ['239.255.255.250', '224.0.0.0/4'],
    ['240.0.0.1', '240.0.0.0/4'],
    ['255.255.255.255', '255.255.255.255/32'],
    ['::', '::/128'],
    ['::a00:5', '::/96'],
    ['::10.0.0.5', '::/96'],
    ['::ffff:10.0.0.5', '10.0.0.0/8 (private) via ::ffff:0:0/96'],
    ['::ffff:a9fe:a9fe', '169.254.0.0/16 (link-local) via ::ffff:0:0/96'],
    ['::ffff:0.0.0.0', '0.0.0.0/8'],
    ['::ffff:192.168.0.1', '192.168.0.0/16'],
    ['64:ff9b::a00:5', '64:ff9b::/96'],
    ['64:ff9b::8.8.8.8', '64:ff9b::/96'],
    ['64:ff9b:1::1', '64:ff9b:1::/48'],
    ['100::1', '100::/64'],
    ['2001:db8::1', '2001:db8::/32'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::/23'],
    ['2002:a00:5::1', '2002::/16'],
    ['3fff::1', '3fff::/20'],
    ['fc00::1', 'fc00::/7'],
    ['fd12:3456:789a::1', 'fc00::/7'],
    ['fe80::1', 'fe80::/10'],
    ['fe80::1%eth0', 'fe80::/10'],
    ['febf:ffff::1', 'fe80::/10'],
    ['fec0::1', 'fec0::/10'],
    ['ff02::1', 'ff00::/8'],
    ['ff05::1:3', 'ff00::/8'],
    ['4000::1', 'not global unicast'],
    ['1::1', 'not global unicast'],
  ])('%s is not public (%s)', (address, range) => {
    const verdict = classifyAddress(address);
    expect(verdict.kind).toBe('non-public');
    expect(verdict.range).toContain(range);
  });

  it('reports the family and rejects anything that is not an IP address', () => {
    expect(classifyAddress('10.0.0.5').family).toBe(4);
    expect(classifyAddress('::ffff:10.0.0.5').family).toBe(6);
    for (const bad of ['localhost', '127.1', '10.0.0.256', '[::1]', '', '::ffff:1.2.3']) {
      expect(() => classifyAddress(bad)).toThrow(ValidationError);
    }
  });
});

describe('SSRF guard: URLs', () => {
  const strict = createSsrfGuard({}, noDns);

  it('allows https to any public host by default and refuses plain http', () => {
    expect(strict.checkUrl('https://api.prices.example/v1/latest?symbols=BTC').hostname).toBe(
      'api.prices.example',
    );
    expect(strict.checkUrl('https://8.8.8.8/').hostname).toBe('8.8.8.8');
    expect(blockedBy(() => strict.checkUrl('http://api.prices.example/')).rule).toBe('scheme');
    for (const url of [
      'ftp://api.prices.example/',
      'file:///etc/passwd',
      'gopher://x/',
      'data:text/plain,hi',
    ]) {
      expect(blockedBy(() => strict.checkUrl(url)).rule).toBe('scheme');
    }
    expect(createSsrfGuard({ allowHttp: true }, noDns).checkUrl('http://api.prices.example/').protocol).toBe(
      'http:',
    );
  });

  it.each([
    ['https://127.0.0.1/', '127.0.0.1'],
    ['https://127.0.0.1:8080/', '127.0.0.1'],
    ['https://[::1]/', '::1'],
    ['https://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['https://10.0.0.5/', '10.0.0.5'],
    ['https://0.0.0.0/', '0.0.0.0'],
    ['https://[::]/', '::'],
    ['https://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe'],
    ['https://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['https://[fd00::1]/', 'fd00::1'],
    ['https://[fe80::1]/', 'fe80::1'],
    // WHATWG URL parsing canonicalises the odd IPv4 spellings before the check sees them
    ['https://2130706433/', '127.0.0.1'],
    ['https://0x7f.1/', '127.0.0.1'],
    ['https://0177.0.0.1/', '127.0.0.1'],
    ['https://127.1/', '127.0.0.1'],
    ['https://0xa9fea9fe/', '169.254.169.254'],
  ])('refuses the IP literal in %s before any lookup', (url, address) => {
    const error = blockedBy(() => strict.checkUrl(url));
    expect(error.rule).toBe('address');
    expect(error.address).toBe(address);
    expect(error.code).toBe('SSRF_BLOCKED');
    expect(error).toBeInstanceOf(PermanentError);
  });

  it('never lets the loopback allowance cover IP literals', () => {
    const guard = createSsrfGuard({ allowHttp: true, allowLoopbackHosts: ['localhost'] }, noDns);
    expect(guard.checkUrl('http://localhost:8080/ok').hostname).toBe('localhost');
    expect(blockedBy(() => guard.checkUrl('http://127.0.0.1:8080/')).rule).toBe('address');
    expect(blockedBy(() => guard.checkUrl('http://[::1]:8080/')).rule).toBe('address');
  });

  it('matches exact names and *.suffix patterns, case- and trailing-dot-insensitive', () => {
    const guard = createSsrfGuard({ allowHosts: ['API.Prices.Example.', '*.feeds.example'] }, noDns);
    expect(guard.settings.allowHosts).toEqual(['api.prices.example', '*.feeds.example']);
    for (const url of [
      'https://api.prices.example/',
      'https://API.PRICES.EXAMPLE./',
      'https://a.feeds.example/',
    ]) {
      expect(guard.checkUrl(url)).toBeInstanceOf(URL);
    }
    expect(guard.checkUrl('https://a.b.feeds.example/x')).toBeInstanceOf(URL);
    for (const url of [
      'https://feeds.example/',
      'https://evilfeeds.example/',
      'https://feeds.example.evil.test/',
      'https://prices.example/',
      'https://api.prices.example.evil.test/',
      'https://8.8.8.8/',
    ]) {
      expect(blockedBy(() => guard.checkUrl(url)).rule).toBe('host');
    }
  });

  it('puts named loopback hosts on the allowlist implicitly', () => {
    const guard = createSsrfGuard(
      { allowHosts: ['api.prices.example'], allowHttp: true, allowLoopbackHosts: ['mock-price.local'] },
      noDns,
    );
    expect(guard.checkUrl('http://mock-price.local:9000/').host).toBe('mock-price.local:9000');
    expect(blockedBy(() => guard.checkUrl('http://localhost:9000/')).rule).toBe('host');
  });

  it('refuses credentials in the URL and keeps query strings out of messages', () => {
    expect(blockedBy(() => strict.checkUrl('https://user:pw@api.prices.example/')).rule).toBe('credentials');
    const error = blockedBy(() => strict.checkUrl('https://169.254.169.254/path?api_key=SECRET123'));
    expect(error.message).not.toContain('SECRET123');
    expect(error.message).toContain('169.254.169.254');
    expect(error.host).toBe('169.254.169.254');
  });

  it('treats an unparseable URL as a ValidationError', () => {
    expect(() => strict.checkUrl('not a url')).toThrow(ValidationError);
    expect(() => strict.checkUrl('/relative/path')).toThrow(ValidationError);
  });
});

describe('SSRF guard: redirects', () => {
  it('resolves relative Locations and re-checks the new target', () => {
    const guard = createSsrfGuard({ allowHosts: ['*.prices.example'] }, noDns);
    const from = new URL('https://api.prices.example/v1/latest');
    expect(guard.checkRedirect(from, '/v2/latest').href).toBe('https://api.prices.example/v2/latest');
    expect(guard.checkRedirect(from, 'https://eu.prices.example/x').host).toBe('eu.prices.example');
    expect(blockedBy(() => guard.checkRedirect(from, 'https://169.254.169.254/')).rule).toBe('host');
    expect(blockedBy(() => guard.checkRedirect(from, 'https://evil.test/')).rule).toBe('host');
  });

  it('refuses an https -> http downgrade unless allowHttp', () => {
    const from = new URL('https://api.prices.example/');
    const error = blockedBy(() =>
      createSsrfGuard({}, noDns).checkRedirect(from, 'http://api.prices.example/'),
    );
    expect(error.rule).toBe('redirect');
    expect(error.message).toContain('downgrades https to http');
    const lax = createSsrfGuard({ allowHttp: true }, noDns);
    expect(lax.checkRedirect(from, 'http://api.prices.example/').protocol).toBe('http:');
    expect(blockedBy(() => lax.checkRedirect(from, 'http://127.0.0.1/')).rule).toBe('address');
  });
});

describe('SSRF guard: resolved addresses', () => {
  const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
  const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });
  const guard = createSsrfGuard({ allowLoopbackHosts: ['localhost', 'mock-price.local'] }, noDns);

  it('accepts public addresses and refuses a name if any of its addresses is not public', () => {
    expect(() =>
      guard.checkAddresses('api.prices.example', [v4('93.184.216.34'), v6('2606:2800::1')]),
    ).not.toThrow();
    const error = blockedBy(() =>
      guard.checkAddresses('api.prices.example', [v4('93.184.216.34'), v4('10.0.0.5')]),
    );
    expect(error).toMatchObject({ rule: 'address', address: '10.0.0.5', host: 'api.prices.example' });
    expect(error.message).toContain('10.0.0.0/8 (private)');
    for (const address of ['127.0.0.1', '169.254.169.254', '::1', '::ffff:10.0.0.5', 'fd00::5', '0.0.0.0']) {
      expect(blockedBy(() => guard.checkAddresses('rebind.test', [{ address, family: 4 }])).address).toBe(
        address,
      );
    }
  });

  it('lets named loopback hosts resolve to loopback and nothing else', () => {
    expect(() => guard.checkAddresses('localhost', [v4('127.0.0.1'), v6('::1')])).not.toThrow();
    expect(() => guard.checkAddresses('LOCALHOST.', [v4('127.0.0.1')])).not.toThrow();
    expect(() => guard.checkAddresses('mock-price.local', [v6('::ffff:127.0.0.1')])).not.toThrow();
    for (const address of ['10.0.0.5', '169.254.169.254', '0.0.0.0', '8.8.8.8']) {
      expect(blockedBy(() => guard.checkAddresses('mock-price.local', [v4(address)])).address).toBe(address);
    }
    expect(blockedBy(() => guard.checkAddresses('other.local', [v4('127.0.0.1')])).rule).toBe('address');
  });
});

describe('SSRF guard: the connection lookup', () => {
  const table: Record<string, ResolvedAddress[]> = {
    'api.prices.example': [
      { address: '2606:2800::1', family: 6 },
      { address: '93.184.216.34', family: 4 },
    ],
    'internal.test': [{ address: '10.0.0.5', family: 4 }],
  };
  const resolver: HostResolver = async (name) => table[name] ?? [];
  const guard = createSsrfGuard({}, resolver);

  function lookup(
    g: SsrfGuard,
    host: string,
    options: { all?: boolean; family?: number },
  ): Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
    return new Promise((resolve) => {
      g.lookup(host, options, (error, address, family) => resolve({ error, address, family }));
    });
  }

  it('hands checked addresses to the socket in both callback forms, honouring the family', async () => {
    expect(await lookup(guard, 'api.prices.example', { all: true })).toMatchObject({
      error: null,
      address: table['api.prices.example'],
    });
    expect(await lookup(guard, 'api.prices.example', {})).toMatchObject({
      address: '2606:2800::1',
      family: 6,
    });
    expect(await lookup(guard, 'api.prices.example', { family: 4 })).toMatchObject({
      address: '93.184.216.34',
      family: 4,
    });
  });

  it('fails the connection with SsrfBlockedError for a name resolving to a private address', async () => {
    const { error } = await lookup(guard, 'internal.test', { all: true });
    expect(error).toBeInstanceOf(SsrfBlockedError);
    expect(error).toMatchObject({ rule: 'address', address: '10.0.0.5' });
  });

  it('reports ENOTFOUND when no address of the wanted family exists', async () => {
    const { error } = await lookup(guard, 'nothing.test', {});
    expect(error?.code).toBe('ENOTFOUND');
  });
});

describe('options', () => {
  it('has safe defaults', () => {
    expect(ssrfGuardOptionsSchema.parse({})).toEqual({
      allowHosts: [],
      allowHttp: false,
      allowLoopbackHosts: [],
    });
  });

  it.each([
    [{ allowLoopbackHosts: ['127.0.0.1'] }],
    [{ allowLoopbackHosts: ['*.local'] }],
    [{ allowHosts: ['https://api.prices.example'] }],
    [{ allowHosts: ['*'] }],
    [{ allowHosts: ['a..b'] }],
    [{ allowHttp: 'yes' }],
    [{ allowHost: ['typo.example'] }],
  ])('refuses %j with a ConfigError', (options) => {
    expect(() => createSsrfGuard(options as never, noDns)).toThrow(ConfigError);
  });
});
