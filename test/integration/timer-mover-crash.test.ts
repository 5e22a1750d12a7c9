// A real mover process killed with SIGKILL mid-run and restarted: no timer is lost, none enters the stream twice,
// none early. The move script is atomic, so at any kill point each timer is either still pending or fired once.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monotonicFactory } from 'ulid';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { decodeEntry } from '../../src/events/wire.js';
import { createTimerWheel, type TimerRequest } from '../../src/scheduler/timer-wheel.js';
import { createKeyBuilder, type PartitionKeys } from '../../src/streams/keys.js';
import type { MoverEnv } from '../support/mover-process.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';

const MOVER_PATH = fileURLToPath(new URL('../support/mover-process.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOMAIN = 'escrow';
const PARTITIONS = 4;

const keys = createKeyBuilder({ prefix: testPrefix(import.meta.url) });
const db = useRedisPerFile();
const nextId = monotonicFactory();
const live = new Set<ChildProcess>();

afterEach(async () => {
  await Promise.all([...live].map((child) => killAndWait(child)));
});

interface MoverLine {
  readonly ready?: boolean;
  readonly moved?: { partition: number; count: number };
  readonly error?: string;
}

interface MoverChild {
  readonly child: ChildProcess;
  /** Timers this process reported moved so far. */
  moved(): number;
  errors(): string[];
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

async function spawnMover(batch: number): Promise<MoverChild> {
  const env: Record<keyof MoverEnv, string> = {
    REDIS_URL: db.server.url,
    KEY_PREFIX: keys.prefix,
    DOMAIN,
    PARTITIONS: String(PARTITIONS),
    BATCH: String(batch),
    MAX_POLL_MS: '200',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', MOVER_PATH], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  let moved = 0;
  const errors: string[] = [];
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    const line = JSON.parse(text) as MoverLine;
    if (line.ready) markReady();
    if (line.moved) moved += line.moved.count;
    if (line.error) errors.push(line.error);
  });
  const failed = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`mover exited before ready (${code ?? signal}): ${stderr}`)),
    ),
  );
  await Promise.race([ready, failed]);
  return { child, moved: () => moved, errors: () => errors };
}

function timerEvent(n: number, dueMs: number): EventEnvelope {
  return {
    id: nextId(),
    type: 'escrow.expiry_due',
    key: `escrow-${n}`,
    occurredAt: new Date().toISOString(),
    source: 'escrow',
    schemaVersion: 1,
    data: { n, dueMs },
  };
}

async function redisNow(): Promise<number> {
  const [seconds, micros] = await db.redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

async function counts(ps: PartitionKeys[]): Promise<{ pending: number; fired: number }> {
  let pending = 0;
  let fired = 0;
  for (const p of ps) {
    pending += await db.redis.zcard(p.timers);
    fired += await db.redis.xlen(p.stream);
  }
  return { pending, fired };
}

describe('mover process killed with SIGKILL', () => {
  it('loses no timer and fires none twice or early across a kill -9 and a restart', async () => {
    const COUNT = 6_000;
    const ps = Array.from({ length: PARTITIONS }, (_, i) => keys.partition(DOMAIN, i));
    // small batches: many script calls in flight when the kill lands
    const first = await spawnMover(20);

    const wheel = createTimerWheel({ redis: db.redis, keys });
    const base = (await redisNow()) + 500;
    const byPartition = ps.map(() => [] as TimerRequest[]);
    for (let i = 0; i < COUNT; i++) {
      const dueMs = base + Math.floor((i * 3_000) / COUNT);
      byPartition[i % PARTITIONS]!.push({ id: `escrow.expire:${i}`, dueMs, event: timerEvent(i, dueMs) });
    }
    await Promise.all(ps.map((p, i) => wheel.scheduleMany(p, byPartition[i]!)));

    await waitFor(() => first.moved() >= COUNT / 4, 'the first mover to be under way', 20_000);
    await killAndWait(first.child);
    const atKill = await counts(ps);
    // every timer is either still pending or in the stream once: nothing half-moved
    expect(atKill.pending + atKill.fired).toBe(COUNT);
    expect(atKill.pending).toBeGreaterThan(0);

    const second = await spawnMover(500);
    await waitFor(
      async () => (await counts(ps)).pending === 0,
      'the restarted mover to move the rest',
      20_000,
    );
    expect(first.errors()).toEqual([]);
    expect(second.errors()).toEqual([]);

    const seen = new Map<number, number>();
    const early: string[] = [];
    for (const p of ps) {
      for (const [entryId, fields] of await db.redis.xrange(p.stream, '-', '+')) {
        const { n, dueMs } = decodeEntry(fields).data as { n: number; dueMs: number };
        seen.set(n, (seen.get(n) ?? 0) + 1);
        if (Number(entryId.split('-')[0]) < dueMs) early.push(`${n}: ${entryId} < ${dueMs}`);
      }
    }
    expect(seen.size).toBe(COUNT);
    expect([...seen.values()].every((times) => times === 1)).toBe(true);
    expect(early).toEqual([]);
    // every fired timer left a tombstone, so a redelivered schedule cannot bring it back
    let tombstones = 0;
    for (const p of ps) tombstones += await db.redis.hlen(p.timerTombstones);
    expect(tombstones).toBe(COUNT);
    console.log(
      `kill -9 after ${atKill.fired} of ${COUNT} fired (first process reported ${first.moved()}); ` +
        `restarted mover moved ${second.moved()}`,
    );
  });
});
