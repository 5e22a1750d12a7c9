// runAt through the runner, the wheel and a real mover: a bet settles at its T_end (never early), a cancel
// before the open leaves no timer, a newer T_end moves it, and a repeated bet.opened after the timer fired
// meets the tombstone instead of settling again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import type { JobDefinition } from '../../src/pipelines/job-definition.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createTimerMover, type TimerMover } from '../../src/scheduler/timer-mover.js';
import { outcome } from '../../src/streams/outcome.js';
import { createStreamsFixture, waitFor, type StreamsFixture } from '../support/streams-fixture.js';

type Bet = { betId: string; tEnd?: string };

let fx: StreamsFixture;
let mover: TimerMover;

beforeAll(async () => {
  fx = await createStreamsFixture(import.meta.url, { partitions: 2 });
  const partitions = Array.from({ length: fx.partitions }, (_, i) => fx.keys.partition('playhub', i));
  mover = createTimerMover({ redis: fx.connect(), keys: fx.keys, partitions, maxPollMs: 100 });
  await mover.start();
});
afterAll(async () => {
  await mover.stop();
  await fx.close();
});

interface Settled {
  readonly betId: string;
  readonly tEnd: number;
  /** Redis time the fired entry entered the stream (its id's ms). */
  readonly firedAt: number;
}

async function startSettler(name: string) {
  const settled: Settled[] = [];
  const job: JobDefinition<Bet> = {
    name,
    domain: 'playhub',
    types: ['bet.opened', 'bet.cancelled'],
    handler: async (event, ctx) => {
      settled.push({
        betId: event.data.betId,
        tEnd: Number(event.data.tEnd),
        firedAt: Number(ctx.entryId.split('-')[0]),
      });
      return outcome.ack();
    },
    runAt: {
      at: (event) => (event.data.tEnd === undefined ? undefined : Number(event.data.tEnd)),
      timerId: (event) => event.data.betId,
      // the version a newer T_end carries, e.g. the bet's revision; here the T_end itself
      version: (event) => Number(event.data.tEnd ?? 0),
      cancelOn: ['bet.cancelled'],
    },
  };
  const runner = fx.runner(job);
  const outcomes: OutcomeEvent[] = [];
  runner.on('outcome', (o) => o.kind !== 'skip' && outcomes.push(o));
  await runner.start();
  return { settled, outcomes };
}

function opened(betId: string, tEnd: number): EventEnvelope {
  return fx.event(betId, { betId, tEnd: String(tEnd) });
}

describe('runAt', () => {
  it('settles each bet once at its T_end, never before (entry time is Redis time)', async () => {
    const { settled } = await startSettler('cfb.settle.at');
    const now = Date.now();
    const bets = Array.from({ length: 20 }, (_, i) => opened(`bet-at-${i}`, now + 300 + i * 50));
    await fx.publisher.publishBatch(bets);
    await waitFor(() => settled.length === 20, 'every bet settled');
    expect(new Set(settled.map((s) => s.betId)).size).toBe(20);
    for (const s of settled) expect(s.firedAt).toBeGreaterThanOrEqual(s.tEnd);
  });

  it('a cancel processed before the open leaves a tombstone: the bet never settles', async () => {
    const { settled, outcomes } = await startSettler('cfb.settle.cancel');
    const tEnd = Date.now() + 300;
    await fx.publisher.publish(fx.event('bet-c', { betId: 'bet-c' }, 'bet.cancelled'));
    await waitFor(() => outcomes.length === 1, 'the cancel handled');
    await fx.publisher.publish(opened('bet-c', tEnd));
    await waitFor(() => outcomes.length === 2, 'the open handled');
    expect(outcomes.map((o) => o.kind)).toEqual(['ack', 'defer']);
    // the schedule met the cancel's tombstone: reported as such, with no delay (no timer)
    expect(outcomes[1]?.reason).toBe('tombstoned');
    expect(outcomes[1]?.delayMs).toBeUndefined();
    const partition = fx.keys.partition('playhub', Number(/:(\d+)\}/.exec(outcomes[0]!.stream)?.[1]));
    expect(await fx.redis.zscore(partition.timers, 'cfb.settle.cancel:bet-c')).toBeNull();
    expect(await fx.redis.hget(partition.timerTombstones, 'cfb.settle.cancel:bet-c')).not.toBeNull();
    expect(settled).toEqual([]);
  });

  it('only a newer version moves the timer (version = T_end here): an older one leaves it', async () => {
    const { settled, outcomes } = await startSettler('cfb.settle.move');
    const first = Date.now() + 60_000;
    const moved = Date.now() + 400;
    await fx.publisher.publish(opened('bet-m', first));
    await waitFor(() => outcomes.length === 1, 'first schedule');
    await fx.publisher.publish(opened('bet-m', moved));
    await waitFor(() => outcomes.length === 2, 'second schedule');
    const partition = fx.keys.partition('playhub', Number(/:(\d+)\}/.exec(outcomes[0]!.stream)?.[1]));
    // the earlier T_end carries the lower version: the timer stays at the first T_end
    expect(Number(await fx.redis.zscore(partition.timers, 'cfb.settle.move:bet-m'))).toBe(first);
    const later = Date.now() + 80_000;
    await fx.publisher.publish(opened('bet-m', later));
    await waitFor(() => outcomes.length === 3, 'third schedule');
    expect(Number(await fx.redis.zscore(partition.timers, 'cfb.settle.move:bet-m'))).toBe(later);
    expect(settled).toEqual([]);
  });

  it('a bet.opened repeated after its timer fired meets the tombstone and does not settle again', async () => {
    const { settled, outcomes } = await startSettler('cfb.settle.late');
    const tEnd = Date.now() + 300;
    await fx.publisher.publish(opened('bet-l', tEnd));
    await waitFor(() => settled.length === 1, 'settled at T_end');
    // the same fact again (a producer retry with a new event id), now past T_end
    await fx.publisher.publish(opened('bet-l', tEnd));
    await waitFor(() => outcomes.length === 3, 'the repeat handled');
    expect(outcomes.map((o) => [o.kind, o.reason])).toEqual([
      ['defer', 'scheduled'],
      ['ack', undefined],
      ['defer', 'tombstoned'],
    ]);
    const partition = fx.keys.partition('playhub', Number(/:(\d+)\}/.exec(outcomes[0]!.stream)?.[1]));
    expect(await fx.redis.zscore(partition.timers, 'cfb.settle.late:bet-l')).toBeNull();
    expect(settled).toHaveLength(1);
  });
});
