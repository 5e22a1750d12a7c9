// `npm run demo`: a private Redis, two consumers of one job, a producer publishing a realistic mix (flaky
// downstream, duplicates, a poison event) and a live summary. `--duration N` ends by itself with a report.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { monotonicFactory } from 'ulid';
import { z } from 'zod';
import { TransientError } from '../src/errors.js';
import { createPublisher, createEventRegistry, fnv1a32 } from '../src/events/index.js';
import { createJobRunner, type OutcomeEvent } from '../src/pipelines/job-runner.js';
import { createKeyBuilder } from '../src/streams/keys.js';
import { outcome } from '../src/streams/outcome.js';
import { startRedisServer } from '../test/support/redis-server.js';

const { values } = parseArgs({
  options: { duration: { type: 'string' }, rate: { type: 'string', default: '50' } },
});
const durationS = values.duration === undefined ? undefined : Number(values.duration);
const rate = Number(values.rate);
if ((durationS !== undefined && !(durationS > 0)) || !(rate > 0)) {
  console.error('usage: npm run demo -- [--duration <seconds>] [--rate <events per second>]');
  process.exit(2);
}

const server = await startRedisServer({ appendonly: true, appendfsync: 'everysec' });
const redis = new Redis(server.url);
const keys = createKeyBuilder({ prefix: 'demo' });
const registry = createEventRegistry();
registry.register({
  type: 'bet.opened',
  domain: 'playhub',
  schema: z.strictObject({ betId: z.string(), stake: z.string().regex(/^\d+$/) }),
});
const partitions = 4;
const publisher = createPublisher({ redis, keys, registry, partitions: () => partitions });

const counts = {
  published: 0,
  duplicatesPrevented: 0,
  ack: 0,
  retry: 0,
  dead: 0,
  duplicate: 0,
  skip: 0,
  defer: 0,
};
const settleBet = {
  name: 'demo.settle',
  domain: 'playhub',
  types: ['bet.opened'],
  concurrency: 32,
  handler: async (event: { data: { betId: string } }, ctx: { attempt: number }) => {
    // a flaky downstream: one bet in ten answers 503 twice before it settles
    if (fnv1a32(event.data.betId) % 10 === 0 && ctx.attempt <= 2)
      throw new TransientError('playhub answered 503');
    return outcome.ack();
  },
};
const settings = { backoff: { baseMs: 300, maxMs: 5000, floorRatio: 0.5 }, retryPollMs: 100 };
const runners = [0, 1].map(() =>
  createJobRunner(settleBet, { redis: redis.duplicate(), keys, registry, partitions, settings }),
);
for (const runner of runners) {
  runner.on('outcome', (o: OutcomeEvent) => (counts[o.kind] += 1));
  runner.on('dataLoss', (a) => console.error('DATA LOSS', a));
  await runner.start();
}

const nextId = monotonicFactory();
let betNo = 0;
const producer = setInterval(() => {
  const batch = Array.from({ length: Math.max(1, Math.round(rate / 5)) }, () => {
    betNo += 1;
    return {
      id: nextId(),
      type: 'bet.opened',
      key: `bet-${betNo}`,
      occurredAt: new Date().toISOString(),
      source: 'playhub',
      schemaVersion: 1,
      data: { betId: `bet-${betNo}`, stake: String(100 * betNo) },
    };
  });
  // producers retry after timeouts: every batch is published twice; the publisher dedupes by event id
  void publisher
    .publishBatch(batch)
    .then(() => publisher.publishBatch(batch))
    .then((results) => {
      counts.published += batch.length;
      counts.duplicatesPrevented += results.filter((r) => r.duplicate).length;
    });
}, 200);

// a poison event from a producer that skipped validation: invalid data for a subscribed type -> DLQ
await redis.xadd(keys.partition('playhub', 0).stream, '*', 'id', nextId(), 'type', 'bet.opened', 'key', 'bet-x',
  'occurredAt', new Date().toISOString(), 'source', 'playhub', 'v', '1', 'data', '{"betId":7}'); // prettier-ignore

console.log(
  `fuze-workers demo: private Redis at ${server.url}, job demo.settle with 2 consumers, ${rate} events/s`,
);
console.log('dashboard: not built yet (issue 10); this demo prints its summary here. Ctrl-C to stop.');
const summary = (): string =>
  `published ${counts.published}, duplicates prevented ${counts.duplicatesPrevented}, settled ${counts.ack}, ` +
  `retries ${counts.retry}, dead-lettered ${counts.dead}`;
const ticker = setInterval(() => console.log(summary()), 2000);

let stopping = false;
async function finish(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(producer);
  clearInterval(ticker);
  await Promise.all(runners.map((r) => r.stop(5000)));
  const dlq = await Promise.all(
    Array.from({ length: partitions }, (_, p) => redis.xlen(keys.partition('playhub', p).dlq)),
  );
  console.log(JSON.stringify({ report: { ...counts, dlqEntries: dlq.reduce((a, b) => a + b, 0) } }, null, 2));
  redis.disconnect();
  await server.shutdown();
  process.exit(0);
}
process.on('SIGINT', () => void finish());
process.on('SIGTERM', () => void finish());
if (durationS !== undefined) setTimeout(() => void finish(), durationS * 1000);
