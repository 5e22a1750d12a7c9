// Marble tests of the decode + validate operator: skips, crash-loop guard, poison and valid events.
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { decodeValidate } from '../../../src/pipelines/decode-validate.js';
import { needsHandler, type Prepared } from '../../../src/pipelines/prepared.js';
import { outcome } from '../../../src/streams/outcome.js';
import { delivery, deliveryOf, event, registry, testScheduler } from './support.js';

const options = { group: 'bet.settle', types: ['bet.opened'], maxDeliveries: 5, registry: registry() };

/** What happens to an item, in one line: handled (with its key), or the verdict. */
function summary(item: Prepared): string {
  if (needsHandler(item)) return `handle ${item.event.key}`;
  const { verdict } = item;
  return verdict.kind === 'dead' ? `dead ${verdict.reason}` : `${verdict.kind} ${item.settledAs ?? ''}`;
}

describe('decodeValidate', () => {
  it('maps each batch in order, keeping batch timing; valid events come out decoded and validated', () => {
    const valid = event('k1');
    const ownGroup = event('k4', { targetGroup: 'bet.settle' });
    const handled = deliveryOf(valid);
    const otherType = deliveryOf(event('k2', { type: 'bet.cancelled' }));
    const otherGroup = deliveryOf(event('k3', { targetGroup: 'someone.else' }));
    const forUs = deliveryOf(ownGroup);
    testScheduler().run(({ cold, expectObservable }) => {
      const batches = cold('a--b|', { a: [handled, otherType], b: [otherGroup, forUs] });
      expectObservable(batches.pipe(decodeValidate(options))).toBe('x--y|', {
        x: [
          { delivery: handled, event: valid },
          { delivery: otherType, verdict: outcome.ack(), settledAs: 'skip' },
        ],
        y: [
          { delivery: otherGroup, verdict: outcome.ack(), settledAs: 'skip' },
          { delivery: forUs, event: ownGroup },
        ],
      });
    });
  });

  it('dead-letters crash loops and invalid data for a subscribed type; skips entries without a type', () => {
    const batch = [
      deliveryOf(event('k1'), { deliveries: 6 }),
      deliveryOf(event('k2'), { deliveries: 5 }),
      deliveryOf(event('k3', { data: { betId: 42 } })),
      delivery(['type', 'bet.opened', 'data', '{']),
      delivery(['id', 'x']),
    ];
    testScheduler().run(({ cold, expectObservable }) => {
      const prepared = cold('a|', { a: batch }).pipe(
        decodeValidate(options),
        map((items) => items.map(summary)),
      );
      expectObservable(prepared).toBe('x|', {
        x: ['dead crash-loop', 'handle k2', 'dead invalid', 'dead invalid', 'ack skip'],
      });
    });
  });

  it('keeps why an entry was refused as the DLQ error', () => {
    const errors: (string | undefined)[] = [];
    testScheduler().run(({ cold }) => {
      const batch = [
        deliveryOf(event('k3', { data: { betId: 42 } })),
        deliveryOf(event('k1'), { deliveries: 9 }),
      ];
      cold('a|', { a: batch })
        .pipe(decodeValidate(options))
        .subscribe((items) => {
          for (const item of items) {
            if (!needsHandler(item) && item.verdict.kind === 'dead') errors.push(item.verdict.error);
          }
        });
    });
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/betId/);
    expect(errors[1]).toBe('delivered 9 times');
  });
});
