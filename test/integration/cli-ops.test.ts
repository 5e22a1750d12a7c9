// The `workers` binary against a real redis-server: exit codes, --help, keys, publish, stats, pause/resume/drain
// control keys, groups delete (refused with pending, --force), timers list/cancel and replay (dry run, execute).
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEventRegistry } from '../../src/events/registry.js';
import { createPublisher } from '../../src/events/publisher.js';
import type { Publisher } from '../../src/events/publisher.js';
import { createJobControl } from '../../src/ops/control/job-control.js';
import { createTimerWheel } from '../../src/scheduler/timer-wheel.js';
import { parseServicePrivateJwk } from '../../src/sinks/service-keys.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { runCli } from '../support/cli-process.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { betOpened, DOMAIN } from '../support/streams-fixture.js';

const db = useRedisPerFile();
const prefix = testPrefix(import.meta.url);
const keys = createKeyBuilder({ prefix });
const PARTITIONS = 2;
let env: Record<string, string>;
let publisher: Publisher;

const workers = (args: readonly string[], input?: string) =>
  runCli(args, { env, ...(input === undefined ? {} : { input }) });

function bet(betId: string) {
  return {
    id: ulid(),
    type: 'bet.opened',
    key: betId,
    occurredAt: new Date().toISOString(),
    source: 'playhub',
    schemaVersion: 1,
    data: { betId },
  };
}

/** Makes every entry of the playhub streams pending in `group` (read, never acked), as a stuck job would. */
async function holdAll(group: string): Promise<number> {
  let held = 0;
  for (let i = 0; i < PARTITIONS; i += 1) {
    const stream = keys.partition(DOMAIN, i).stream;
    await db.redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    const reply = (await db.redis.xreadgroup('GROUP', group, 'stuck-1', 'STREAMS', stream, '>')) as
      [string, unknown[]][] | null;
    held += reply?.[0]?.[1].length ?? 0;
  }
  return held;
}

async function ackAll(group: string): Promise<void> {
  for (let i = 0; i < PARTITIONS; i += 1) {
    const stream = keys.partition(DOMAIN, i).stream;
    const pending = (await db.redis.xpending(stream, group, '-', '+', 100)) as [string, ...unknown[]][];
    if (pending.length > 0) await db.redis.xack(stream, group, ...pending.map((p) => p[0]));
  }
}

beforeAll(async () => {
  env = { REDIS_URL: db.server.url, QUEUE_PREFIX: prefix, PARTITIONS_DEFAULT: String(PARTITIONS) };
  const registry = createEventRegistry();
  registry.register({ type: 'bet.opened', domain: DOMAIN, schema: betOpened });
  publisher = createPublisher({ redis: db.redis, keys, registry, partitions: () => PARTITIONS });
});

describe('workers CLI: usage, keys, publish', () => {
  it('--help everywhere exits 0 and documents the exit codes; usage and config errors exit 2, Redis down 1', async () => {
    const [help, dlqHelp, unknown, missingArg, badValue, badJob, badConfig, down] = await Promise.all([
      workers(['--help']),
      workers(['dlq', 'requeue', '--help']),
      workers(['bogus']),
      workers(['groups', 'delete']),
      workers(['drain', 'some.job', '--timeout', 'soon']),
      workers(['pause', 'no spaces allowed']),
      runCli(['stats'], { env: { ...env, PARTITIONS_DEFAULT: '0' } }),
      runCli(['stats'], { env: { ...env, REDIS_URL: 'redis://127.0.0.1:1' } }),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    for (const command of [
      'stats',
      'pause',
      'drain',
      'dlq',
      'replay',
      'backfill',
      'timers',
      'publish',
      'keys',
    ])
      expect(help.stdout).toContain(command);
    expect(dlqHelp.code).toBe(0);
    expect(dlqHelp.stdout).toContain('--yes');
    expect(dlqHelp.stdout).toContain('3  refused');
    expect(unknown.code).toBe(2);
    expect(missingArg.code).toBe(2);
    expect([badValue.code, badJob.code]).toEqual([2, 2]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain('PARTITIONS_DEFAULT');
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot connect to Redis');
  });

  it('keys generate --json prints a usable Ed25519 JWK pair', async () => {
    const run = await workers(['--json', 'keys', 'generate', '--kid', 'ops-1']);
    expect(run.code).toBe(0);
    const { kid, privateJwk, publicJwk } = run.json<{
      kid: string;
      privateJwk: Record<string, string>;
      publicJwk: Record<string, string>;
    }>();
    expect(kid).toBe('ops-1');
    expect(publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: 'ops-1', alg: 'EdDSA' });
    expect(publicJwk['d']).toBeUndefined();
    expect(parseServicePrivateJwk(JSON.stringify(privateJwk)).publicJwk.x).toBe(publicJwk['x']);
  });

  it('publish validates with the registry and is idempotent by --id', async () => {
    const id = ulid();
    const data = JSON.stringify({
      schedule: 'ops.manual',
      tick: '2026-01-01T00:00:00.000Z',
      scheduledAt: '2026-01-01T00:00:00.000Z',
      cause: 'backfill',
    });
    const first = await workers(['--json', 'publish', 'cron.tick', data, '--id', id, '--key', 'ops.manual']);
    expect(first.code).toBe(0);
    const published = first.json<{ duplicate: boolean; domain: string; stream: string; entryId: string }>();
    expect(published).toMatchObject({ duplicate: false, domain: 'cron' });
    const [again, invalid, unknownType] = await Promise.all([
      workers(['--json', 'publish', 'cron.tick', data, '--id', id, '--key', 'ops.manual']),
      workers(['publish', 'cron.tick', '{"schedule":""}']),
      workers(['publish', 'nope.happened', '{}']),
    ]);
    expect(again.json()).toMatchObject({ duplicate: true, entryId: published.entryId });
    const entries = await db.redis.xrange(published.stream, '-', '+');
    expect(entries.filter(([, fields]) => fields.includes(id))).toHaveLength(1);
    expect([invalid.code, unknownType.code]).toEqual([2, 2]);
    expect(invalid.stderr).toContain('invalid data');
  });
});

describe('workers CLI: stats, job control, groups', () => {
  it('stats --json shows a stuck group; pause/resume write the control key; drain waits for pending', async () => {
    await publisher.publishBatch(['s1', 's2', 's3'].map(bet));
    expect(await holdAll('ops.stuck')).toBe(3);

    const stats = await workers(['--json', 'stats', '--domain', DOMAIN]);
    expect(stats.code).toBe(0);
    const { domains, groups } = stats.json<{
      domains: { domain: string; partitions: number; length: number }[];
      groups: { group: string; pending: number; lag: number; consumers: number; state: string }[];
    }>();
    expect(domains).toEqual([expect.objectContaining({ domain: DOMAIN, partitions: PARTITIONS, length: 3 })]);
    expect(groups.find((g) => g.group === 'ops.stuck')).toMatchObject({
      pending: 3,
      lag: 0,
      consumers: 1,
      state: 'running',
    });

    const control = createJobControl({ redis: db.redis, keys });
    const paused = await workers(['pause', 'ops.stuck', '--reason', 'incident 42']);
    expect(paused.code).toBe(0);
    expect(await control.get('ops.stuck')).toMatchObject({
      state: 'paused',
      version: 1,
      reason: 'incident 42',
    });
    const [table, stuck] = await Promise.all([
      workers(['stats']),
      workers(['--json', 'drain', 'ops.stuck', '--timeout', '300ms', '--settle', '0']),
    ]);
    expect(table.stdout).toMatch(/ops\.stuck\s+(paused|draining)/);
    expect(stuck.code).toBe(1);
    expect(stuck.json()).toMatchObject({ drained: false, state: 'draining', pending: 3, pendingAtStart: 3 });
    expect((await control.get('ops.stuck')).state).toBe('draining');
    const resumed = await workers(['--json', 'resume', 'ops.stuck']);
    expect(resumed.json()).toMatchObject({ state: 'running', version: 3, groupExists: true });
    expect(await control.changeCounter()).toBe(3);

    await ackAll('ops.stuck');
    const drained = await workers(['--json', 'drain', 'ops.stuck', '--settle', '0']);
    expect(drained.code).toBe(0);
    expect(drained.json()).toMatchObject({ drained: true, state: 'paused', pending: 0 });
    expect((await control.get('ops.stuck')).state).toBe('paused');
  });

  it('groups delete is refused while the group has pending entries (exit 3) and deletes with --force', async () => {
    await publisher.publishBatch(['g1', 'g2'].map(bet));
    expect(await holdAll('ops.held')).toBeGreaterThanOrEqual(2);
    await holdAll('ops.idle');
    await ackAll('ops.idle');

    const [refused, listed] = await Promise.all([
      workers(['groups', 'delete', 'ops.held']),
      workers(['--json', 'groups', 'list', '--domain', DOMAIN]),
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('pending');
    const names = listed.json<{ group: string }[]>().map((g) => g.group);
    expect(names).toEqual(expect.arrayContaining(['ops.held', 'ops.idle']));

    const [forced, idle] = await Promise.all([
      workers(['--json', 'groups', 'delete', 'ops.held', '--force']),
      workers(['groups', 'delete', 'ops.idle']),
    ]);
    expect(forced.code).toBe(0);
    expect(forced.json()).toMatchObject({ status: 'deleted', deletedPartitions: ['playhub:0', 'playhub:1'] });
    expect(idle.code).toBe(0);
    const [after, absent] = await Promise.all([
      workers(['--json', 'groups', 'list']),
      workers(['groups', 'delete', 'ops.held']),
    ]);
    const left = after.json<{ group: string }[]>().map((g) => g.group);
    expect(left).not.toContain('ops.held');
    expect(left).not.toContain('ops.idle');
    expect(absent.code).toBe(1);
  });
});

describe('workers CLI: timers and replay', () => {
  it('timers list shows pending timers by due time; cancel removes one and fails for an unknown id', async () => {
    const wheel = createTimerWheel({ redis: db.redis, keys });
    const partition = keys.partition(DOMAIN, 1);
    const due = Date.now() + 3_600_000;
    await wheel.schedule(partition, { id: 'ops.remind:t1', dueMs: due, event: bet('t1') });
    await wheel.schedule(partition, { id: 'other.job:t2', dueMs: due + 1000, event: bet('t2') });

    const [all, past, ahead] = await Promise.all([
      workers(['--json', 'timers', 'list']),
      workers(['--json', 'timers', 'list', '--job', 'ops.remind', '--to', '2h']),
      workers(['--json', 'timers', 'list', '--job', 'ops.remind']),
    ]);
    expect(all.json<{ id: string }[]>().map((t) => t.id)).toEqual(['ops.remind:t1', 'other.job:t2']);
    expect(past.json<unknown[]>()).toHaveLength(0); // --to 2h = due two hours ago at the latest
    expect(ahead.json()).toEqual([
      expect.objectContaining({ id: 'ops.remind:t1', domain: DOMAIN, partition: 1, type: 'bet.opened' }),
    ]);

    const cancelled = await workers(['timers', 'cancel', 'ops.remind:t1']);
    expect(cancelled.code).toBe(0);
    expect(await wheel.get(partition, 'ops.remind:t1')).toBeUndefined();
    const again = await workers(['timers', 'cancel', 'ops.remind:t1']);
    expect(again.code).toBe(1);
  });

  it('replay is a dry run by default and re-emits the range to one job with --execute, then drops its shadow group', async () => {
    const from = new Date().toISOString();
    await publisher.publishBatch(['r1', 'r2', 'r3'].map(bet));
    const [dry, noJob, badFrom] = await Promise.all([
      workers(['--json', 'replay', '--stream', DOMAIN, '--from', from, '--job', 'ops.replayed']),
      workers(['replay', '--stream', DOMAIN, '--from', from, '--execute']),
      workers(['replay', '--stream', DOMAIN, '--from', 'yesterday-ish']),
    ]);
    expect([noJob.code, badFrom.code]).toEqual([2, 2]);
    expect(dry.code).toBe(0);
    expect(dry.json()).toMatchObject({ dryRun: true, matched: 3, emitted: 0, byType: { 'bet.opened': 3 } });
    const lengthBefore = (
      await Promise.all([0, 1].map((i) => db.redis.xlen(keys.partition(DOMAIN, i).stream)))
    ).reduce((a, b) => a + b, 0);

    const run = await workers([
      '--json',
      'replay',
      '--stream',
      DOMAIN,
      '--from',
      from,
      '--job',
      'ops.replayed',
      '--execute',
    ]);
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ dryRun: false, matched: 3, emitted: 3 });
    const replayed: string[] = [];
    for (const i of [0, 1]) {
      const stream = keys.partition(DOMAIN, i).stream;
      for (const [, fields] of await db.redis.xrange(stream, '-', '+')) {
        const at = fields.indexOf('targetGroup');
        if (at >= 0 && fields[at + 1] === 'ops.replayed')
          replayed.push(fields[fields.indexOf('key') + 1] ?? '');
      }
      const groups = (await db.redis.xinfo('GROUPS', stream)) as unknown[][];
      expect(groups.map((g) => g[1])).not.toContainEqual(expect.stringMatching(/^replay-/));
    }
    expect(replayed.sort()).toEqual(['r1', 'r2', 'r3']);
    const lengthAfter = (
      await Promise.all([0, 1].map((i) => db.redis.xlen(keys.partition(DOMAIN, i).stream)))
    ).reduce((a, b) => a + b, 0);
    expect(lengthAfter).toBe(lengthBefore + 3);
  });
});
