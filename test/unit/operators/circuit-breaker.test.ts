// The circuit breaker's state machine on a virtual clock (TestScheduler), and marble tests of the operator
// that runs a handler stage through it.
import { map, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import {
  createCircuitBreaker,
  throughCircuitBreaker,
  type CircuitBreaker,
  type CircuitPermit,
} from '../../../src/pipelines/circuit-breaker.js';
import { testScheduler } from './support.js';

const options = { failures: 3, windowMs: 100, openMs: 50 };

/** Admits one call at once (closed or a free probe slot), failing the test if the caller would have to wait. */
function permitNow(breaker: CircuitBreaker): CircuitPermit {
  let permit: CircuitPermit | undefined;
  breaker
    .admit()
    .subscribe((p) => (permit = p))
    .unsubscribe();
  if (permit === undefined)
    throw new Error(`expected a permit at once, the ${breaker.state} circuit made us wait`);
  return permit;
}

describe('circuit breaker state machine (virtual clock)', () => {
  it('opens after N failures within the window, callers wait while open, a failed probe re-opens, a good one closes', () => {
    const scheduler = testScheduler();
    const log: string[] = [];
    scheduler.run(({ expectObservable }) => {
      const breaker = createCircuitBreaker(options, scheduler);
      const at = (ms: number, step: () => void): void => void scheduler.schedule(step, ms);
      const fail = (): void => breaker.record(permitNow(breaker), true);
      const permits = new Map<string, CircuitPermit>();
      const wait = (caller: string): void =>
        void breaker.admit().subscribe((p) => {
          permits.set(caller, p);
          log.push(`${scheduler.now()} ${caller} admitted${p.probe ? ' as the probe' : ''}`);
        });
      expectObservable(breaker.changes.pipe(map((c) => `${c.from}>${c.to}@${c.at}`))).toBe(
        '130ms a 49ms b 19ms c 49ms d 19ms e',
        {
          a: 'closed>open@130',
          b: 'open>half-open@180',
          c: 'half-open>open@200',
          d: 'open>half-open@250',
          e: 'half-open>closed@270',
        },
      );
      // 0 and 60 fall out of the window by 130; successes in between do not reset it
      at(0, fail);
      at(60, fail);
      at(90, () => breaker.record(permitNow(breaker), false));
      at(120, fail);
      at(125, () => log.push(`125 ${breaker.state}`));
      let stale: CircuitPermit | undefined;
      at(129, () => (stale = permitNow(breaker)));
      at(130, fail);
      at(140, () => {
        log.push(`140 ${breaker.state} ${breaker.msUntilHalfOpen()}`);
        // open: not refused, the caller waits and becomes the probe at half-open
        wait('w140');
        // a call admitted before the circuit opened does not count any more
        if (stale) breaker.record(stale, true);
      });
      // the probe is out: a second caller waits for its verdict
      at(190, () => wait('w190'));
      // the probe fails: open again, w190 keeps waiting and is the next probe
      at(200, () => breaker.record(permits.get('w140')!, true));
      at(210, () => log.push(`210 ${breaker.state} ${breaker.msUntilHalfOpen()}`));
      at(260, () => wait('w260'));
      // the probe succeeds: closed, w260 is admitted
      at(270, () => breaker.record(permits.get('w190')!, false));
      at(280, () => log.push(`280 ${breaker.state} ${breaker.msUntilHalfOpen()}`));
    });
    expect(log).toEqual([
      '125 closed',
      '140 open 40',
      '180 w140 admitted as the probe',
      '210 open 40',
      '250 w190 admitted as the probe',
      '270 w260 admitted',
      '280 closed 0',
    ]);
  });

  it('a probe released without a result frees the slot for the next caller', () => {
    const scheduler = testScheduler();
    const log: string[] = [];
    scheduler.run(() => {
      const breaker = createCircuitBreaker({ failures: 1, windowMs: 10, openMs: 5 }, scheduler);
      breaker.record(permitNow(breaker), true);
      scheduler.schedule(() => {
        const probe = permitNow(breaker);
        breaker.admit().subscribe((p) => log.push(`waiter ${p.probe ? 'is the probe' : 'other'}`));
        breaker.release(probe);
        log.push(breaker.state);
      }, 6);
    });
    expect(log).toEqual(['waiter is the probe', 'half-open']);
  });

  it('a waiting caller that unsubscribes takes no permit; a probe recorded synchronously admits each waiter once; dispose ends the wait', () => {
    const scheduler = testScheduler();
    const log: string[] = [];
    scheduler.run(() => {
      const breaker = createCircuitBreaker({ failures: 1, windowMs: 10, openMs: 5 }, scheduler);
      breaker.record(permitNow(breaker), true);
      const gone = breaker.admit().subscribe(() => log.push('gone admitted'));
      breaker.admit().subscribe((p) => {
        log.push(`${scheduler.now()} first probe=${p.probe}`);
        // the verdict arrives while this caller is being admitted: it must not get a second permit
        breaker.record(p, false);
      });
      breaker.admit().subscribe((p) => log.push(`${scheduler.now()} second probe=${p.probe}`));
      gone.unsubscribe();
      scheduler.schedule(() => {
        breaker.record(permitNow(breaker), true);
        breaker.admit().subscribe({
          next: () => log.push('never admitted'),
          complete: () => log.push(`${scheduler.now()} wait ended by dispose`),
        });
        breaker.dispose();
      }, 7);
    });
    expect(log).toEqual(['5 first probe=true', '5 second probe=false', '7 wait ended by dispose']);
  });

  it('whenClosedOrHalfOpen resolves on half-open, at once when not open, and on abort', async () => {
    const scheduler = testScheduler();
    const breaker = createCircuitBreaker({ failures: 1, windowMs: 10, openMs: 5 }, scheduler);
    await breaker.whenClosedOrHalfOpen();
    breaker.record(permitNow(breaker), true);
    expect(breaker.state).toBe('open');
    let resumed = false;
    const waiting = breaker.whenClosedOrHalfOpen().then(() => (resumed = true));
    await Promise.resolve();
    expect(resumed).toBe(false);
    scheduler.flush();
    await waiting;
    expect(breaker.state).toBe('half-open');

    const again = createCircuitBreaker({ failures: 1, windowMs: 10, openMs: 5 }, scheduler);
    again.record(permitNow(again), true);
    const stop = new AbortController();
    const aborted = again.whenClosedOrHalfOpen(stop.signal);
    stop.abort();
    await aborted;
    expect(again.state).toBe('open');
    again.dispose();
  });

  it('rejects options that cannot work', () => {
    expect(() => createCircuitBreaker({ failures: 0, windowMs: 10, openMs: 5 })).toThrow(ValidationError);
    expect(() => createCircuitBreaker({ failures: 1, windowMs: 10, openMs: 0.5 })).toThrow(/openMs/);
  });
});

describe('throughCircuitBreaker', () => {
  const isFailure = (result: string): boolean => result.endsWith(':fail');

  /** A breaker (2 failures open it for 10 ms) and a stage taking 2 ms whose result per item is scripted. */
  function scripted(scheduler: ReturnType<typeof testScheduler>, outcomes: Record<string, string>) {
    const breaker = createCircuitBreaker({ failures: 2, windowMs: 100, openMs: 10 }, scheduler);
    const called: string[] = [];
    const stage = (item: string) => {
      called.push(`${item}@${scheduler.now()}`);
      return scheduler.createColdObservable('--(r|)', { r: `${item}:${outcomes[item] ?? '?'}` });
    };
    const changes: string[] = [];
    breaker.changes.subscribe((c) => changes.push(`${c.to}@${c.at}`));
    return { breaker, stage, called, changes };
  }

  it('items arriving while open wait (the stage is not called) and run after a successful probe', () => {
    const scheduler = testScheduler();
    // a, b fail (2 ms each): open at 3 until 13; c and d wait; c is the probe at 13 and succeeds at 15, then
    // d runs; e (at 20) finds the circuit closed
    const { breaker, stage, called, changes } = scripted(scheduler, {
      a: 'fail',
      b: 'fail',
      c: 'ok',
      d: 'ok',
      e: 'ok',
    });
    scheduler.run(({ hot, expectObservable }) => {
      const items = hot('ab--c-d-------------e|');
      expectObservable(items.pipe(throughCircuitBreaker(breaker, stage, { isFailure }))).toBe(
        '--xy-----------c-d----(e|)',
        { x: 'a:fail', y: 'b:fail', c: 'c:ok', d: 'd:ok', e: 'e:ok' },
      );
    });
    expect(called).toEqual(['a@0', 'b@1', 'c@13', 'd@15', 'e@20']);
    expect(changes).toEqual(['open@3', 'half-open@13', 'closed@15']);
  });

  it('a failed probe opens the circuit again and the other items keep waiting for the next probe', () => {
    const scheduler = testScheduler();
    // c is the probe at 13 and fails at 15: open until 25; d (waiting since 6) is the next probe and succeeds
    // at 27; e (arrived at 20, while open) waits for that verdict and runs at 27
    const { breaker, stage, called, changes } = scripted(scheduler, {
      a: 'fail',
      b: 'fail',
      c: 'fail',
      d: 'ok',
      e: 'ok',
    });
    scheduler.run(({ hot, expectObservable }) => {
      const items = hot('ab--c-d-------------e|');
      expectObservable(items.pipe(throughCircuitBreaker(breaker, stage, { isFailure }))).toBe(
        '--xy-----------c-----------d-(e|)',
        { x: 'a:fail', y: 'b:fail', c: 'c:fail', d: 'd:ok', e: 'e:ok' },
      );
    });
    expect(called).toEqual(['a@0', 'b@1', 'c@13', 'd@25', 'e@27']);
    expect(changes).toEqual(['open@3', 'half-open@13', 'open@15', 'half-open@25', 'closed@27']);
  });

  it('an item unsubscribed while waiting is never run and takes no probe slot', () => {
    const scheduler = testScheduler();
    const { breaker, stage, called } = scripted(scheduler, { a: 'fail', b: 'fail', c: 'ok', d: 'ok' });
    scheduler.run(({ hot, expectObservable }) => {
      const results = hot('ab--c|').pipe(throughCircuitBreaker(breaker, stage, { isFailure }));
      // c waits from 4; the consumer leaves at 8, before half-open at 13
      expectObservable(results, '^-------!').toBe('--xy', { x: 'a:fail', y: 'b:fail' });
      // a later caller is the probe at 13
      scheduler.schedule(() => {
        of('d')
          .pipe(throughCircuitBreaker(breaker, stage, { isFailure }))
          .subscribe();
      }, 9);
    });
    expect(called).toEqual(['a@0', 'b@1', 'd@13']);
    expect(breaker.state).toBe('closed');
  });

  it('counts a stage error as a failure and passes the error on', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const breaker = createCircuitBreaker({ failures: 1, windowMs: 100, openMs: 10 }, scheduler);
      const failing = () => cold('-#', undefined, new Error('reset'));
      expectObservable(
        cold('a|').pipe(throughCircuitBreaker(breaker, failing, { isFailure: () => false })),
      ).toBe('-#', undefined, new Error('reset'));
      scheduler.schedule(() => expect(breaker.state).toBe('open'), 2);
    });
  });
});
