// The SSRF guard for calls to external providers: scheme, host allowlist and address rules, checked on the URL
// before connecting and on every resolved address inside the connection's own DNS lookup (no rebinding window).
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { z } from 'zod';
import { ConfigError, SsrfBlockedError, ValidationError } from '../errors.js';
import { classifyAddress } from './address-ranges.js';

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

const hostName = z
  .string()
  .trim()
  .toLowerCase()
  .transform((name) => name.replace(/\.$/, ''));

export const ssrfGuardOptionsSchema = z.strictObject({
  allowHosts: z
    .array(
      hostName.refine((p) => HOST_NAME.test(p.startsWith('*.') ? p.slice(2) : p), {
        message: 'expected a host name or a *.suffix pattern',
      }),
    )
    .default([])
    .describe(
      'hosts that may be called: exact names or *.example.com (subdomains only); empty = any public host',
    ),
  allowHttp: z.boolean().default(false).describe('allow plain http:// (https only by default)'),
  allowLoopbackHosts: z
    .array(
      hostName.refine((name) => HOST_NAME.test(name) && isIP(name) === 0, {
        message: 'expected a host name (not an IP address or a pattern)',
      }),
    )
    .default([])
    .describe(
      'named hosts (e.g. localhost, mock-price.local) allowed to resolve to loopback only, for tests and the demo; ' +
        'implicitly on the allowlist; off by default',
    ),
});

export type SsrfGuardOptions = z.input<typeof ssrfGuardOptionsSchema>;
export type SsrfGuardSettings = z.output<typeof ssrfGuardOptionsSchema>;

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses; injectable so tests can make a name resolve to 10.0.0.5. */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: HostResolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, order: 'verbatim' });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

export interface SsrfGuard {
  readonly settings: SsrfGuardSettings;
  /** Checks scheme, credentials, allowlist and an IP literal host; returns the parsed URL or throws. */
  checkUrl(url: string | URL): URL;
  /** Resolves a redirect's Location against the current URL and checks it like a first request. */
  checkRedirect(from: URL, location: string): URL;
  /** Throws unless every address of `hostname` is allowed (one bad record refuses the whole name). */
  checkAddresses(hostname: string, addresses: readonly ResolvedAddress[]): void;
  /** A `net.connect` lookup: resolves, checks every address, and hands only checked ones to the socket. */
  readonly lookup: LookupFunction;
}

/** URL hosts without IPv6 brackets or a trailing dot, so `[::1]` and `localhost.` are judged as `::1`, `localhost`. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

/** Parses component options with a zod schema; wrong options are a ConfigError (the process must not start). */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  options: unknown,
  component: string,
): z.output<S> {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new ConfigError(`${component} options are invalid: ${problems}`, undefined, { cause: parsed.error });
}

export function createSsrfGuard(
  options: SsrfGuardOptions,
  resolve: HostResolver = systemResolver,
): SsrfGuard {
  const settings = parseOptions(ssrfGuardOptionsSchema, options, 'SSRF guard');
  const loopbackHosts = new Set(settings.allowLoopbackHosts);

  function hostAllowed(host: string): boolean {
    if (loopbackHosts.has(host) || settings.allowHosts.length === 0) return true;
    return settings.allowHosts.some((p) =>
      p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : host === p,
    );
  }

  function checkUrl(input: string | URL): URL {
    let url: URL;
    try {
      url = new URL(input);
    } catch (error) {
      throw new ValidationError('not a valid absolute URL', [], { cause: error });
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && settings.allowHttp)) {
      const allowed = settings.allowHttp ? 'https: or http:' : 'https: only (allowHttp is off)';
      throw new SsrfBlockedError('scheme', url.host, `scheme ${url.protocol} not allowed, ${allowed}`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new SsrfBlockedError(
        'credentials',
        url.host,
        'credentials in the URL are refused; send them as headers',
      );
    }
    const host = bareHost(url);
    if (host === '' || !hostAllowed(host)) {
      throw new SsrfBlockedError('host', url.host, 'host is not on the allowlist');
    }
    if (isIP(host) !== 0) {
      // IP literals never reach a lookup, so they are judged here, before any connection; loopback needs a name
      const verdict = classifyAddress(host);
      if (verdict.kind !== 'public') {
        throw new SsrfBlockedError('address', url.host, `address ${host} is in ${verdict.range}`, host);
      }
    }
    return url;
  }

  function checkRedirect(from: URL, location: string): URL {
    let to: URL;
    try {
      to = new URL(location, from);
    } catch (error) {
      throw new SsrfBlockedError('redirect', from.host, 'redirect Location is not a valid URL', undefined, {
        cause: error,
      });
    }
    if (from.protocol === 'https:' && to.protocol === 'http:' && !settings.allowHttp) {
      throw new SsrfBlockedError('redirect', to.host, `redirect from ${from.host} downgrades https to http`);
    }
    return checkUrl(to);
  }

  function checkAddresses(hostname: string, addresses: readonly ResolvedAddress[]): void {
    const host = hostname.toLowerCase().replace(/\.$/, '');
    const loopbackAllowed = loopbackHosts.has(host);
    for (const { address } of addresses) {
      const verdict = classifyAddress(address);
      if (loopbackAllowed && verdict.kind !== 'loopback') {
        const where = verdict.range ?? 'a public range';
        throw new SsrfBlockedError(
          'address',
          host,
          `named loopback host resolved to ${address} (${where})`,
          address,
        );
      }
      if (!loopbackAllowed && verdict.kind !== 'public') {
        throw new SsrfBlockedError('address', host, `resolved to ${address} in ${verdict.range}`, address);
      }
    }
  }

  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    const resolved = resolve(hostname).then((addresses) => {
      checkAddresses(hostname, addresses);
      const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
      const usable = addresses.filter((a) => family === 0 || a.family === family);
      if (usable.length === 0) {
        throw Object.assign(new Error(`no usable address for ${hostname}`), { code: 'ENOTFOUND' });
      }
      return usable;
    });
    resolved.then(
      (usable) => {
        const first = usable[0] as ResolvedAddress;
        if (lookupOptions.all === true)
          callback(
            null,
            usable.map((a) => ({ ...a })),
          );
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };

  return { settings, checkUrl, checkRedirect, checkAddresses, lookup };
}
