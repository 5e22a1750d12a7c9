// An in-repo TCP fault proxy (no toxiproxy here): forwards a listen(0) port to a target and can add latency,
// stall traffic (pause), blackhole it (drop), cut every connection and refuse new ones, for the fault suite.
import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type Direction = 'up' | 'down' | 'both';

export interface FaultProxyStats {
  /** Connections accepted since the start. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Connections closed by cut(), refuse or restore() after a drop. */
  readonly cut: number;
  /** Bytes discarded while dropping. */
  readonly droppedBytes: number;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** redis://host:port */
  readonly url: string;
  /** Every chunk waits this long before it is forwarded (`up` = client to target); 0 = none. Order is kept. */
  setDelay(ms: number, direction?: Direction): void;
  /** Stalls both directions: data is held (not lost) until resume(); new connections are accepted and stalled. */
  pause(): void;
  resume(): void;
  /**
   * Blackhole: data in both directions is discarded and new connections are accepted into the blackhole, like a
   * network partition. A connection that lost bytes cannot carry a protocol on, so restore() cuts it.
   */
  drop(): void;
  /** Ends drop and pause: connections that lost data are cut, held data is forwarded. */
  restore(): void;
  /** Resets every open connection now. */
  cut(): void;
  /** While on, new connections are reset at once (target down); open ones are left alone. */
  refuse(on: boolean): void;
  stats(): FaultProxyStats;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

interface Lane {
  readonly from: Socket;
  readonly to: Socket;
  readonly queue: { data: Buffer; at: number }[];
  timer: NodeJS.Timeout | undefined;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly up: Lane;
  readonly down: Lane;
  /** Bytes were dropped: the stream has a gap. */
  damaged: boolean;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  const delays = { up: 0, down: 0 };
  let paused = false;
  let dropping = false;
  let refusing = false;
  let accepted = 0;
  let cutCount = 0;
  let droppedBytes = 0;

  function pump(lane: Lane): void {
    if (lane.timer !== undefined) return;
    while (!paused && lane.queue.length > 0) {
      const head = lane.queue[0];
      if (head === undefined) break;
      const wait = head.at - Date.now();
      if (wait > 0) {
        lane.timer = setTimeout(() => {
          lane.timer = undefined;
          pump(lane);
        }, wait);
        return;
      }
      lane.queue.shift();
      if (!lane.to.destroyed) lane.to.write(head.data);
    }
  }

  function forward(pair: Pair, lane: Lane, delayMs: number, data: Buffer): void {
    if (dropping) {
      droppedBytes += data.length;
      pair.damaged = true;
      return;
    }
    // never before the chunk queued ahead of it, so a delay change cannot reorder the stream
    const last = lane.queue[lane.queue.length - 1];
    lane.queue.push({ data, at: Math.max(Date.now() + delayMs, last?.at ?? 0) });
    pump(lane);
  }

  function resume(): void {
    paused = false;
    for (const pair of pairs) for (const lane of [pair.up, pair.down]) pump(lane);
  }

  function destroyPair(pair: Pair, reset: boolean): void {
    if (!pairs.delete(pair)) return;
    for (const lane of [pair.up, pair.down]) {
      clearTimeout(lane.timer);
      lane.queue.length = 0;
    }
    if (reset) {
      cutCount += 1;
      pair.client.resetAndDestroy();
    } else {
      pair.client.destroy();
    }
    pair.upstream.destroy();
  }

  const server = createServer((client) => {
    accepted += 1;
    if (refusing) {
      cutCount += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: target.host, port: target.port });
    const pair: Pair = {
      client,
      upstream,
      up: { from: client, to: upstream, queue: [], timer: undefined },
      down: { from: upstream, to: client, queue: [], timer: undefined },
      damaged: false,
    };
    pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (data: Buffer) => forward(pair, pair.up, delays.up, data));
    upstream.on('data', (data: Buffer) => forward(pair, pair.down, delays.down, data));
    // either side ending or failing ends the pair; errors are expected when the suite cuts connections
    for (const socket of [client, upstream]) {
      socket.on('error', () => destroyPair(pair, false));
      socket.on('close', () => destroyPair(pair, false));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { address: host, port } = server.address() as AddressInfo;

  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    setDelay(ms, direction = 'both') {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay must be >= 0 ms, got ${ms}`);
      if (direction !== 'down') delays.up = ms;
      if (direction !== 'up') delays.down = ms;
    },
    pause() {
      paused = true;
    },
    resume,
    drop() {
      dropping = true;
      // what was held before the drop began is lost too
      for (const pair of pairs) {
        for (const lane of [pair.up, pair.down]) {
          if (lane.queue.length > 0) pair.damaged = true;
          droppedBytes += lane.queue.reduce((sum, chunk) => sum + chunk.data.length, 0);
          lane.queue.length = 0;
        }
      }
    },
    restore() {
      dropping = false;
      for (const pair of [...pairs]) if (pair.damaged) destroyPair(pair, true);
      resume();
    },
    cut() {
      for (const pair of [...pairs]) destroyPair(pair, true);
    },
    refuse(on) {
      refusing = on;
    },
    stats: () => ({ accepted, open: pairs.size, cut: cutCount, droppedBytes }),
    close() {
      for (const pair of [...pairs]) destroyPair(pair, false);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
