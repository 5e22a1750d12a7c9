// The external fetcher against real listen(0) servers on 127.0.0.1: with the loopback allowance on for named hosts,
// everything else (loopback/private literals, private names, redirects to them, allowlist misses) is still refused
// before any connection; redirects, body cap, deadline, status mapping and header stripping on cross-origin hops.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentError, SsrfBlockedError, TransientError } from '../../src/errors.js';
import { createExternalFetcher } from '../../src/sinks/external-fetch.js';
import type { ExternalFetcher, ExternalFetchOptions } from '../../src/sinks/external-fetch.js';
import type { HostResolver, ResolvedAddress } from '../../src/sinks/ssrf-guard.js';

const MAX_BYTES = 1024;

interface MockProvider {
  readonly port: number;
  /** Request paths in arrival order. */
  readonly paths: string[];
  connections: number;
  close(): Promise<void>;
}

async function startMockProvider(): Promise<MockProvider> {
  const paths: string[] = [];
  const route = (req: IncomingMessage, res: ServerResponse, port: number): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const redirect = (location: string, status = 302): void => {
      res.writeHead(status, { location });
      res.end();
    };
    switch (url.pathname) {
      case '/ok':
        return json(200, { pair: 'BTC-USD', price: '6512345' });
      case '/echo':
        return json(200, { method: req.method, headers: req.headers });
      case '/redirect/same-origin':
        return redirect('/ok');
      case '/redirect/loopback-literal':
        return redirect(`http://127.0.0.1:${port}/ok`);
      case '/redirect/private-name':
        return redirect(`http://internal.test:${port}/ok`);
      case '/redirect/metadata':
        return redirect('http://169.254.169.254/latest/meta-data/');
      case '/redirect/cross-origin':
        return redirect(
          `http://mock-price.local:${port}/echo`,
          Number(url.searchParams.get('status') ?? 302),
        );
      case '/redirect/loop':
        return redirect('/redirect/loop');
      case '/big': {
        // chunked, no Content-Length: the cap must count the stream
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(MAX_BYTES));
        res.end('overflow');
        return;
      }
      case '/big-declared':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(10 * MAX_BYTES) });
        res.write('x');
        return;
      case '/hang':
        return;
      case '/hang-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial":');
        return;
      case '/not-json':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>maintenance</html>');
        return;
      default: {
        const status = /^\/status\/(\d{3})$/.exec(url.pathname)?.[1];
        if (status !== undefined) return json(Number(status), { error: 'as asked' }, { 'retry-after': '7' });
        return json(404, { error: 'no route' });
      }
    }
  };
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    route(req, res, (server.address() as AddressInfo).port);
  });
  const provider: MockProvider = {
    port: 0,
    paths,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => (provider.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(provider, { port: (server.address() as AddressInfo).port });
}

/** Injected DNS: no real lookups, and a record of every name asked. */
const dnsTable: Record<string, ResolvedAddress[]> = {
  localhost: [{ address: '127.0.0.1', family: 4 }],
  'mock-price.local': [{ address: '127.0.0.1', family: 4 }],
  'internal.test': [{ address: '10.0.0.5', family: 4 }],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
};
const lookedUp: string[] = [];
const fakeDns: HostResolver = async (name) => {
  lookedUp.push(name);
  const found = dnsTable[name];
  if (found === undefined)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  return found;
};

/** Connection attempts and established connections, as undici reports them. */
const connectAttempts: string[] = [];
const connected: string[] = [];
const onBeforeConnect = (message: unknown): void => {
  connectAttempts.push((message as { connectParams: { hostname: string } }).connectParams.hostname);
};
const onConnected = (message: unknown): void => {
  const { socket } = message as { socket: { remoteAddress?: string } };
  connected.push(socket.remoteAddress ?? '?');
};

let provider: MockProvider;
let fetcher: ExternalFetcher;
const warnings: { obj: object; msg: string }[] = [];
const logger = { warn: (obj: object, msg: string) => warnings.push({ obj, msg }) };
const loopbackOptions: ExternalFetchOptions = {
  allowHttp: true,
  allowLoopbackHosts: ['localhost', 'mock-price.local'],
  maxBytes: MAX_BYTES,
  timeoutMs: 500,
  connectTimeoutMs: 500,
  maxRedirects: 3,
};

beforeAll(async () => {
  subscribe('undici:client:beforeConnect', onBeforeConnect);
  subscribe('undici:client:connected', onConnected);
  provider = await startMockProvider();
  fetcher = createExternalFetcher(loopbackOptions, { logger, lookup: fakeDns });
});

afterAll(async () => {
  await fetcher.close();
  await provider.close();
  unsubscribe('undici:client:beforeConnect', onBeforeConnect);
  unsubscribe('undici:client:connected', onConnected);
});

beforeEach(() => {
  lookedUp.length = 0;
  connectAttempts.length = 0;
  connected.length = 0;
  provider.paths.length = 0;
});

async function blocked(promise: Promise<unknown>): Promise<SsrfBlockedError> {
  const error: unknown = await promise.then(
    () => new Error('expected the call to be blocked'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SsrfBlockedError);
  return error as SsrfBlockedError;
}

const url = (path: string, host = 'localhost'): string => `http://${host}:${provider.port}${path}`;

describe('with the loopback allowance on for named hosts', () => {
  it('logs the allowance once, at warn, when the fetcher is created', () => {
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.obj).toMatchObject({ allowLoopbackHosts: ['localhost', 'mock-price.local'] });
  });

  it('reaches the local mock provider by name', async () => {
    const price = z.object({ pair: z.string(), price: z.string() });
    expect(await fetcher.fetchJson(url('/ok'), { schema: price })).toEqual({
      pair: 'BTC-USD',
      price: '6512345',
    });
    expect(await fetcher.fetchText(url('/ok', 'mock-price.local'))).toContain('BTC-USD');
    expect(lookedUp).toEqual(['localhost', 'mock-price.local']);
    expect(connected.every((address) => address === '127.0.0.1')).toBe(true);
  });

  it.each([
    ['http://127.0.0.1:{port}/', '127.0.0.1'],
    ['http://[::1]:{port}/', '::1'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://[::ffff:127.0.0.1]:{port}/', '::ffff:7f00:1'],
    ['http://0.0.0.0:{port}/', '0.0.0.0'],
  ])('refuses %s before any lookup or connection attempt', async (template, address) => {
    const connectionsBefore = provider.connections;
    const error = await blocked(fetcher.fetchText(template.replace('{port}', String(provider.port))));
    expect(error).toMatchObject({ rule: 'address', address, code: 'SSRF_BLOCKED' });
    expect(lookedUp).toEqual([]);
    expect(connectAttempts).toEqual([]);
    expect(provider.connections).toBe(connectionsBefore);
  });

  it('refuses a name resolving to a private address inside the connection lookup, never connecting', async () => {
    const error = await blocked(fetcher.fetchJson(url('/ok', 'internal.test')));
    expect(error).toMatchObject({ rule: 'address', address: '10.0.0.5', host: 'internal.test' });
    expect(lookedUp).toEqual(['internal.test']);
    expect(connected).toEqual([]);
    expect(provider.paths).toEqual([]);
  });

  it('uses the same checked lookup for https connections', async () => {
    const error = await blocked(fetcher.fetchText('https://metadata.test/latest/meta-data/'));
    expect(error).toMatchObject({ rule: 'address', address: '169.254.169.254' });
    expect(lookedUp).toEqual(['metadata.test']);
    expect(connected).toEqual([]);
  });

  it('follows a same-origin redirect', async () => {
    expect(await fetcher.fetchJson(url('/redirect/same-origin'))).toMatchObject({ pair: 'BTC-USD' });
    expect(provider.paths).toEqual(['/redirect/same-origin', '/ok']);
  });

  it('refuses a redirect to http://127.0.0.1:<port>/ without requesting it', async () => {
    const error = await blocked(fetcher.fetchJson(url('/redirect/loopback-literal')));
    expect(error).toMatchObject({ rule: 'address', address: '127.0.0.1' });
    expect(provider.paths).toEqual(['/redirect/loopback-literal']);
  });

  it('refuses a redirect to a name that resolves privately', async () => {
    const error = await blocked(fetcher.fetchJson(url('/redirect/private-name')));
    expect(error).toMatchObject({ rule: 'address', address: '10.0.0.5', host: 'internal.test' });
    // localhost may ride a kept-alive connection; the private name is always resolved and refused
    expect(lookedUp.at(-1)).toBe('internal.test');
    expect(provider.paths).toEqual(['/redirect/private-name']);
    expect(connected.every((address) => address === '127.0.0.1')).toBe(true);
  });

  it('refuses a redirect to the metadata address', async () => {
    const error = await blocked(fetcher.fetchJson(url('/redirect/metadata')));
    expect(error).toMatchObject({ rule: 'address', address: '169.254.169.254' });
  });

  it('caps the number of redirects', async () => {
    const error: unknown = await fetcher.fetchText(url('/redirect/loop')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toContain('more than 3 redirects');
    expect(provider.paths).toHaveLength(4);
  });

  it('drops credentials on a cross-origin redirect and keeps them on the same origin', async () => {
    const headers = { authorization: 'Bearer provider-key', 'x-api-key': 'k1', accept: 'application/json' };
    const same = (await fetcher.fetchJson(url('/echo'), { headers })) as { headers: Record<string, string> };
    expect(same.headers).toMatchObject({ authorization: 'Bearer provider-key', 'x-api-key': 'k1' });
    const cross = (await fetcher.fetchJson(url('/redirect/cross-origin'), { headers })) as {
      headers: Record<string, string>;
    };
    expect(cross.headers.authorization).toBeUndefined();
    expect(cross.headers['x-api-key']).toBeUndefined();
    expect(cross.headers['user-agent']).toBe('fuze-workers');
    expect(cross.headers.host).toBe(`mock-price.local:${provider.port}`);
  });

  it('turns a POST into a GET on 303 and keeps it on 307', async () => {
    const post = {
      method: 'POST' as const,
      body: '{"event":"x"}',
      headers: { 'content-type': 'application/json' },
    };
    const after303 = (await fetcher.fetchJson(url('/redirect/cross-origin?status=303'), post)) as {
      method: string;
    };
    expect(after303.method).toBe('GET');
    const after307 = (await fetcher.fetchJson(url('/redirect/cross-origin?status=307'), post)) as {
      method: string;
    };
    expect(after307.method).toBe('POST');
  });

  it('aborts a body that passes maxBytes, counted on the stream or declared', async () => {
    for (const path of ['/big', '/big-declared']) {
      const error: unknown = await fetcher.fetchText(url(path)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentError);
      expect(String(error)).toContain(`more than ${MAX_BYTES} bytes`);
    }
  });

  it('gives up at timeoutMs on a provider that never answers, or never finishes the body', async () => {
    for (const path of ['/hang', '/hang-body']) {
      const error: unknown = await fetcher.fetchText(url(path)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect(String(error)).toContain('within 500 ms');
    }
  });

  it('maps statuses: 5xx/429 retry (with Retry-After), other 4xx are permanent, non-JSON is permanent', async () => {
    for (const status of [500, 503, 429, 408]) {
      const error: unknown = await fetcher.fetchJson(url(`/status/${status}`)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect(error).toMatchObject({ retryAfterMs: 7000 });
    }
    for (const status of [400, 401, 404, 410]) {
      const error: unknown = await fetcher.fetchJson(url(`/status/${status}`)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentError);
      expect(error).not.toBeInstanceOf(SsrfBlockedError);
    }
    await expect(fetcher.fetchJson(url('/not-json'))).rejects.toThrow(PermanentError);
    await expect(
      fetcher.fetchJson(url('/ok'), { schema: z.object({ rate: z.number() }) }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });

  it('maps a refused connection to a retry and an unknown name to a retry', async () => {
    const closed = await startMockProvider();
    const deadPort = closed.port;
    await closed.close();
    await expect(fetcher.fetchText(`http://localhost:${deadPort}/`)).rejects.toThrow(TransientError);
    await expect(fetcher.fetchText('https://unknown.test/')).rejects.toThrow(TransientError);
  });

  it("rejects with the caller's abort reason", async () => {
    const controller = new AbortController();
    const pending = fetcher.fetchText(url('/hang'), { signal: controller.signal });
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});

describe('without the allowance, or with an allowlist', () => {
  it('blocks plain http by default, and localhost (system DNS) even with http allowed', async () => {
    const strict = createExternalFetcher({}, { logger });
    const lax = createExternalFetcher({ allowHttp: true }, { logger });
    try {
      expect((await blocked(strict.fetchText(url('/ok')))).rule).toBe('scheme');
      const error = await blocked(lax.fetchText(url('/ok')));
      expect(error.rule).toBe('address');
      expect(provider.paths).toEqual([]);
      expect(warnings).toHaveLength(1);
    } finally {
      await Promise.all([strict.close(), lax.close()]);
    }
  });

  it('reaches localhost through the system resolver when it is a named loopback host', async () => {
    const local = createExternalFetcher({ allowHttp: true, allowLoopbackHosts: ['localhost'] });
    try {
      expect(await local.fetchJson(url('/ok'))).toMatchObject({ pair: 'BTC-USD' });
    } finally {
      await local.close();
    }
  });

  it('blocks an allowlist miss before resolving it, while the named loopback host still works', async () => {
    const listed = createExternalFetcher(
      { ...loopbackOptions, allowHosts: ['*.prices.example'], allowLoopbackHosts: ['localhost'] },
      { lookup: fakeDns },
    );
    try {
      const error = await blocked(listed.fetchText(url('/ok', 'mock-price.local')));
      expect(error).toMatchObject({ rule: 'host', host: `mock-price.local:${provider.port}` });
      expect(lookedUp).toEqual([]);
      expect(await listed.fetchJson(url('/ok'))).toMatchObject({ pair: 'BTC-USD' });
      const redirectError = await blocked(listed.fetchText(url('/redirect/cross-origin')));
      expect(redirectError).toMatchObject({ rule: 'host', host: `mock-price.local:${provider.port}` });
      expect(lookedUp).not.toContain('mock-price.local');
    } finally {
      await listed.close();
    }
  });
});
