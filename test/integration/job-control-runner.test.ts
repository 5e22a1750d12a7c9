// Pause, resume and drain on real job runners (issue 10): the CLI's control key is polled; once a runner reports
// a state applied (`control` event), a paused job reads nothing (the entries stay unread in the group) and a
// draining one reads no new entries but still takes its due retries; resume handles everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobControl, type JobControl } from '../../src/ops/control/job-control.js';
import type { ControlEvent, JobRunner, OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { outcome } from '../../src/streams/outcome.js';
import { createStreamsFixture, DOMAIN, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

const N = 20;
/** Long enough for several control polls, reads and retry polls of every runner: what must not happen would. */
const QUIET_MS = 400;
const settings = { controlPollMs: 50, retryPollMs: 20, blockMs: 500 };

let fx: StreamsFixture;
let control: JobControl;
beforeAll(async () => {
  fx = await createStreamsFixture(import.meta.url, { partitions: 2 });
  control = createJobControl({ redis: fx.redis, keys: fx.keys });
});
afterAll(async () => fx.close());

/**
 * The group's entries not yet delivered to any consumer (after its last-delivered-id, what XINFO GROUPS `lag` counts
 * when Redis can tell it) and delivered but not acked, over every partition.
 */
async function backlog(group: string): Promise<{ unread: number; pending: number }> {
  let unread = 0;
  let pending = 0;
  for (let p = 0; p < fx.partitions; p++) {
    const stream = fx.keys.partition(DOMAIN, p).stream;
    for (const info of (await fx.redis.xinfo('GROUPS', stream)) as unknown[][]) {
      const fields = new Map<unknown, unknown>();
      for (let i = 0; i + 1 < info.length; i += 2) fields.set(info[i], info[i + 1]);
      if (fields.get('name') !== group) continue;
      const after = (await fx.redis.xrange(stream, `(${String(fields.get('last-delivered-id'))}`, '+'))
        .length;
      const lag = fields.get('lag');
      if (typeof lag === 'number') expect(lag).toBe(after);
      unread += after;
      pending += Number(fields.get('pending'));
    }
  }
  return { unread, pending };
}

function watch(runner: JobRunner) {
  const controls: ControlEvent[] = [];
  const outcomes: OutcomeEvent[] = [];
  runner.on('control', (c) => controls.push(c));
  runner.on('outcome', (o) => outcomes.push(o));
  return { controls, outcomes };
}

/** Observes for QUIET_MS that `check` keeps holding (an absence can only be observed over a span). */
async function holdsFor(check: () => Promise<void>): Promise<void> {
  const until = Date.now() + QUIET_MS;
  while (Date.now() < until) {
    await check();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('job control', () => {
  it('pause: once both runners applied it nothing is read or handled; resume handles everything', async () => {
    const group = 'control.pause';
    const calls: string[] = [];
    const job = {
      name: group,
      domain: DOMAIN,
      types: ['bet.opened'],
      concurrency: 4,
      handler: async (event: { id: string }) => {
        calls.push(event.id);
        return outcome.ack();
      },
    };
    const runners = [fx.runner(job, { settings }), fx.runner(job, { settings })];
    const watched = runners.map(watch);
    await Promise.all(runners.map((r) => r.start()));

    const paused = await control.set(group, 'paused', { by: 'test', reason: 'maintenance' });
    const applied = { job: group, state: 'paused', version: paused.version };
    await waitFor(() => watched.every((w) => w.controls.length === 1), 'both runners applied the pause');
    for (const w of watched) expect(w.controls).toEqual([applied]);

    await fx.publisher.publishBatch(Array.from({ length: N }, (_, i) => fx.event(`pause-${i}`)));
    await holdsFor(async () => {
      expect(await backlog(group)).toEqual({ unread: N, pending: 0 });
      expect(calls).toEqual([]);
    });

    const resumed = await control.set(group, 'running');
    await waitFor(() => calls.length === N, 'every event handled after resume');
    await waitFor(async () => (await backlog(group)).pending === 0, 'all acked');
    expect(await backlog(group)).toEqual({ unread: 0, pending: 0 });
    expect(new Set(calls).size).toBe(N);
    for (const w of watched) {
      expect(w.controls.at(-1)).toEqual({ job: group, state: 'running', version: resumed.version });
    }
    await Promise.all(runners.map((r) => r.stop(0)));
  });

  it('a runner started while its job is paused applies it before its first read', async () => {
    const group = 'control.start';
    const paused = await control.set(group, 'paused');
    const calls: string[] = [];
    const runner = fx.runner(
      {
        name: group,
        domain: DOMAIN,
        types: ['bet.opened'],
        handler: async (event) => {
          calls.push(event.id);
          return outcome.ack();
        },
      },
      { settings },
    );
    const { controls } = watch(runner);
    await runner.start();
    expect(controls).toEqual([{ job: group, state: 'paused', version: paused.version }]);
    await fx.publisher.publishBatch(Array.from({ length: N }, (_, i) => fx.event(`start-${i}`)));
    await holdsFor(async () => {
      expect(await backlog(group)).toEqual({ unread: N, pending: 0 });
      expect(calls).toEqual([]);
    });
    await runner.stop(0);
  });

  it('drain: new entries stay unread, a due retry is still handled; resume reads the rest', async () => {
    const group = 'control.drain';
    const calls: string[] = [];
    const first = fx.event('drain-retry');
    const runner = fx.runner(
      {
        name: group,
        domain: DOMAIN,
        types: ['bet.opened'],
        handler: async (event, ctx) => {
          calls.push(event.id);
          return event.id === first.id && ctx.attempt === 1 ? outcome.retry('not yet', 600) : outcome.ack();
        },
      },
      { settings },
    );
    const { controls, outcomes } = watch(runner);
    await runner.start();
    await fx.publisher.publish(first);
    await waitFor(() => outcomes.some((o) => o.kind === 'retry'), 'the first attempt failed');

    const draining = await control.set(group, 'draining');
    await waitFor(() => controls.length === 1, 'the drain applied');
    expect(controls).toEqual([{ job: group, state: 'draining', version: draining.version }]);
    const later = Array.from({ length: N }, (_, i) => fx.event(`drain-${i}`));
    await fx.publisher.publishBatch(later);

    // the retry comes due while draining and is handled; the new entries are never read
    await waitFor(() => outcomes.some((o) => o.kind === 'ack'), 'the due retry handled while draining');
    expect(outcomes.map((o) => [o.kind, o.source, o.eventId])).toEqual([
      ['retry', 'new', first.id],
      ['ack', 'retry', first.id],
    ]);
    await holdsFor(async () => {
      expect(await backlog(group)).toEqual({ unread: N, pending: 0 });
      expect(calls).toEqual([first.id, first.id]);
    });

    await control.set(group, 'running');
    await waitFor(() => calls.length === N + 2, 'the new entries handled after resume');
    expect(new Set(calls.slice(2))).toEqual(new Set(later.map((e) => e.id)));
    await runner.stop(0);
  });
});
