// The fault suite's TCP proxy against a loopback echo server: forwarding, latency, pause, drop, cut and refuse.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../faults/fault-proxy.js';
import { waitFor } from '../support/streams-fixture.js';

let echo: Server;
let echoPort: number;
let proxy: FaultProxy;
const clients: Socket[] = [];

beforeAll(async () => {
  echo = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await proxy.close();
});

interface Client {
  readonly socket: Socket;
  received(): string;
  closed(): { error: string | undefined } | undefined;
}

async function connect(): Promise<Client> {
  const socket = createConnection({ host: proxy.host, port: proxy.port });
  clients.push(socket);
  let text = '';
  let closed: { error: string | undefined } | undefined;
  let error: string | undefined;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  socket.on('close', () => (closed = { error }));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => text, closed: () => closed };
}

async function start(): Promise<void> {
  proxy = await startFaultProxy({ host: '127.0.0.1', port: echoPort });
}

describe('fault proxy', () => {
  it('forwards both ways and counts connections', async () => {
    await start();
    const c = await connect();
    c.socket.write('hello');
    await waitFor(() => c.received() === 'hello', 'the echo through the proxy', 5_000);
    expect(proxy.stats()).toMatchObject({ accepted: 1, open: 1, cut: 0 });
  });

  it('adds latency per direction and keeps the byte order when the delay changes', async () => {
    await start();
    proxy.setDelay(150, 'up');
    const c = await connect();
    const sentAt = Date.now();
    c.socket.write('a');
    await waitFor(() => proxy.stats().open === 1, 'the connection', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 30)); // 'a' is queued at the proxy with its delay
    proxy.setDelay(0, 'up');
    c.socket.write('b');
    await waitFor(() => c.received().length === 2, 'the delayed echo', 5_000);
    expect(c.received()).toBe('ab');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(140);
  });

  it('pause holds data without losing it; resume forwards it in order', async () => {
    await start();
    const c = await connect();
    proxy.pause();
    c.socket.write('one,');
    c.socket.write('two');
    const late = await connect(); // accepted while paused, stalled too
    late.socket.write('x');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(c.received()).toBe('');
    expect(late.received()).toBe('');
    proxy.resume();
    await waitFor(() => c.received() === 'one,two' && late.received() === 'x', 'held data', 5_000);
  });

  it('drop blackholes data; restore cuts the connections that lost bytes and leaves idle ones', async () => {
    await start();
    const idle = await connect();
    const busy = await connect();
    proxy.drop();
    busy.socket.write('lost');
    await waitFor(() => proxy.stats().droppedBytes === 4, 'the bytes to be dropped', 5_000);
    expect(busy.received()).toBe('');
    proxy.restore();
    await waitFor(() => busy.closed() !== undefined, 'the damaged connection to be cut', 5_000);
    expect(busy.closed()?.error).toBe('ECONNRESET');
    expect(idle.closed()).toBeUndefined();
    idle.socket.write('still');
    await waitFor(() => idle.received() === 'still', 'the idle connection to work', 5_000);
  });

  it('cut resets every open connection; refuse resets new ones until turned off', async () => {
    await start();
    const a = await connect();
    proxy.cut();
    await waitFor(() => a.closed() !== undefined, 'the cut', 5_000);
    expect(a.closed()?.error).toBe('ECONNRESET');

    proxy.refuse(true);
    const refused = createConnection({ host: proxy.host, port: proxy.port });
    clients.push(refused);
    let refusedError: string | undefined;
    refused.on('error', (e: NodeJS.ErrnoException) => (refusedError = e.code));
    await waitFor(() => refused.destroyed, 'the refused connection to close', 5_000);
    expect(refusedError).toBe('ECONNRESET');

    proxy.refuse(false);
    const b = await connect();
    b.socket.write('back');
    await waitFor(() => b.received() === 'back', 'a connection after refuse(false)', 5_000);
    expect(proxy.stats()).toMatchObject({ accepted: 3, cut: 2, open: 1 });
  });
});
