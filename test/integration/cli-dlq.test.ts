// `workers dlq` against a real redis-server and real job runners: list and show with filters (job, type, reason,
// fingerprint), requeue aimed at the failed job only (declined -> exit 3, --yes), export JSONL/CSV, drop.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createEventRegistry } from '../../src/events/registry.js';
import { createPublisher } from '../../src/events/publisher.js';
import { createJobRunner } from '../../src/pipelines/job-runner.js';
import type { JobRunner, OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { outcome } from '../../src/streams/outcome.js';
import { runCli } from '../support/cli-process.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { betOpened, DOMAIN, waitFor } from '../support/streams-fixture.js';

type Bet = z.infer<typeof betOpened>;

const db = useRedisPerFile();
const prefix = testPrefix(import.meta.url);
const keys = createKeyBuilder({ prefix });
const PARTITIONS = 2;
const fixed = new Set<string>();
const settled: OutcomeEvent[] = [];
const audited: OutcomeEvent[] = [];
const runners: JobRunner[] = [];
const connections: Redis[] = [];
const eventIds = new Map<string, string>();
let env: Record<string, string>;
let dir: string;

interface Listed {
  id: string;
  group: string;
  type: string;
  reason: string;
  error: string;
  fingerprint: string;
  failures: number;
  eventId: string;
  data: Bet;
}

const workers = (args: readonly string[], input?: string) =>
  runCli(args, { env, ...(input === undefined ? {} : { input }) });

function startRunner(
  name: string,
  handler: (bet: Bet) => ReturnType<typeof outcome.ack>,
  seen: OutcomeEvent[],
) {
  const redis = new Redis(db.server.url, { maxRetriesPerRequest: 3 });
  connections.push(redis);
  const registry = createEventRegistry();
  registry.register({ type: 'bet.opened', domain: DOMAIN, schema: betOpened });
  const runner = createJobRunner<Bet>(
    {
      name,
      domain: DOMAIN,
      types: ['bet.opened'],
      startId: '0',
      handler: async (event) => handler(event.data),
    },
    { redis, keys, registry, partitions: PARTITIONS, settings: { blockMs: 200 } },
  );
  runner.on('outcome', (event) => seen.push(event));
  runners.push(runner);
  return runner.start();
}

beforeAll(async () => {
  env = { REDIS_URL: db.server.url, QUEUE_PREFIX: prefix, PARTITIONS_DEFAULT: String(PARTITIONS) };
  dir = await mkdtemp(join(tmpdir(), 'cli-dlq-'));
  await startRunner(
    'dlq.settle',
    ({ betId }) => {
      if (fixed.has(betId)) return outcome.ack();
      if (betId.startsWith('x'))
        return outcome.dead('rejected by escrow', `bet "${betId}" rejected: code ${betId.length * 1111}`);
      if (betId.startsWith('y'))
        return outcome.dead('upstream exploded', 'TypeError: cannot read properties of undefined');
      return outcome.ack();
    },
    settled,
  );
  await startRunner('dlq.audit', () => outcome.ack(), audited);
  const registry = createEventRegistry();
  registry.register({ type: 'bet.opened', domain: DOMAIN, schema: betOpened });
  const publisher = createPublisher({ redis: db.redis, keys, registry, partitions: () => PARTITIONS });
  for (const betId of ['x1', 'x22', 'y1', 'ok1']) {
    const id = ulid();
    eventIds.set(betId, id);
    await publisher.publish({
      id,
      type: 'bet.opened',
      key: betId,
      occurredAt: new Date().toISOString(),
      source: 'playhub',
      schemaVersion: 1,
      data: { betId },
    });
  }
  await waitFor(() => settled.filter((o) => o.kind === 'dead').length === 3, 'three dead letters');
  await waitFor(() => audited.filter((o) => o.kind === 'ack').length === 4, 'the audit job acking all four');
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop(0)));
  for (const c of connections) c.disconnect();
  await rm(dir, { recursive: true, force: true });
});

describe('workers dlq', () => {
  it('lists, filters and shows dead letters; requeue aims at the failed job only; export; drop', async () => {
    const [all, table, exploded, badId, missing, nothing] = await Promise.all([
      workers(['--json', 'dlq', 'list']),
      workers(['dlq', 'list']),
      workers([
        '--json',
        'dlq',
        'list',
        '--job',
        'dlq.settle',
        '--type',
        'bet.opened',
        '--reason',
        'EXPLODED',
      ]),
      workers(['dlq', 'show', 'not-an-id']),
      workers(['dlq', 'show', `${DOMAIN}:0:1-0`]),
      workers(['dlq', 'requeue']),
    ]);
    const letters = all.json<Listed[]>();
    expect(letters.map((l) => l.data.betId).sort()).toEqual(['x1', 'x22', 'y1']);
    for (const letter of letters) expect(letter).toMatchObject({ group: 'dlq.settle', type: 'bet.opened' });
    const byBet = new Map(letters.map((l) => [l.data.betId, l]));
    const x1 = byBet.get('x1') as Listed;
    const y1 = byBet.get('y1') as Listed;
    // errors that differ only by ids and numbers share a fingerprint
    expect(byBet.get('x22')?.fingerprint).toBe(x1.fingerprint);
    expect(y1.fingerprint).not.toBe(x1.fingerprint);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('FINGERPRINT');
    expect(table.stdout).toContain(y1.id);
    expect(exploded.json<Listed[]>().map((l) => l.id)).toEqual([y1.id]);
    expect([badId.code, missing.code, nothing.code]).toEqual([2, 1, 2]);

    const [sameShape, shown, declined] = await Promise.all([
      workers(['--json', 'dlq', 'list', '--fingerprint', x1.fingerprint.slice(0, 6)]),
      workers(['--json', 'dlq', 'show', y1.id]),
      workers(['dlq', 'requeue', y1.id], 'n\n'),
    ]);
    expect(
      sameShape
        .json<Listed[]>()
        .map((l) => l.data.betId)
        .sort(),
    ).toEqual(['x1', 'x22']);
    expect(shown.json()).toMatchObject({
      id: y1.id,
      reason: 'upstream exploded',
      error: 'TypeError: cannot read properties of undefined',
      eventId: eventIds.get('y1'),
      data: { betId: 'y1' },
    });
    expect(declined.code).toBe(3);
    expect(declined.stderr).toContain('Requeue 1 dead letter of dlq.settle?');

    fixed.add('y1');
    const requeued = await workers(['--json', 'dlq', 'requeue', y1.id, '--yes']);
    expect(requeued.code).toBe(0);
    expect(requeued.json()).toMatchObject({ requeued: 1, missing: 0 });
    const eventId = eventIds.get('y1');
    await waitFor(
      () => settled.some((o) => o.eventId === eventId && o.kind === 'ack'),
      'the failed job handling the requeued event',
    );
    await waitFor(
      () => audited.some((o) => o.eventId === eventId && o.kind === 'skip'),
      'the audit job skipping it',
    );
    expect(audited.filter((o) => o.eventId === eventId && o.kind === 'ack')).toHaveLength(1);

    const csvFile = join(dir, 'dead.csv');
    const [csv, jsonl, dropDeclined] = await Promise.all([
      workers(['dlq', 'export', '--format', 'csv', '--out', csvFile]),
      workers(['dlq', 'export', '--job', 'dlq.settle']),
      workers(['dlq', 'drop', '--fingerprint', x1.fingerprint]),
    ]);
    expect(csv.code).toBe(0);
    const rows = (await readFile(csvFile, 'utf8')).trimEnd().split('\r\n');
    expect(rows[0]).toMatch(/^id,failedAt,domain,partition,group,type,eventId,key,reason,fingerprint,/);
    expect(rows).toHaveLength(3);
    expect(rows.join('\n')).toContain('"bet ""x1"" rejected: code 2222"');
    const lines = jsonl.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Listed);
    expect(lines.map((l) => l.data.betId).sort()).toEqual(['x1', 'x22']);
    expect(dropDeclined.code).toBe(3);

    const dropped = await workers([
      '--json',
      '--progress',
      'dlq',
      'drop',
      '--fingerprint',
      x1.fingerprint,
      '--yes',
    ]);
    expect(dropped.code).toBe(0);
    expect(dropped.json()).toMatchObject({ dropped: 2, missing: 0 });
    expect(dropped.stderr).toContain('100%');
    const left = await Promise.all([0, 1].map((i) => db.redis.xlen(keys.partition(DOMAIN, i).dlq)));
    expect(left).toEqual([0, 0]);
  });
});
