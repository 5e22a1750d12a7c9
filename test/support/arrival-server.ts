// A loopback mock provider that records when each call arrived, for the rate limit tests (requests in a window).
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ArrivalServer {
  readonly url: string;
  /** Arrival time (Date.now()) of every POST, in order (other methods are warm-ups, not counted). */
  readonly arrivals: number[];
  close(): Promise<void>;
}

export async function startArrivalServer(): Promise<ArrivalServer> {
  const arrivals: number[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST') arrivals.push(Date.now());
    req.resume();
    req.once('end', () => {
      res.writeHead(204);
      res.end();
    });
  });
  server.keepAliveTimeout = 1_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/calls`,
    arrivals,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
