// Reads the operator stats of every job for the admin API and /health/queues, sharing one Redis read between
// requests that arrive together or within `reuseMs`, and feeds each reading into the lag history.
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import type { KeyBuilder } from '../../streams/keys.js';
import type { RedisClient } from '../../streams/scripts.js';
import { readOperatorStats } from '../control/group-stats.js';
import type { OperatorStats } from '../control/group-stats.js';
import type { LagHistory } from './lag-history.js';

export interface StatsReading {
  /** ms when it was read. */
  readonly at: number;
  readonly stats: OperatorStats;
}

export interface StatsSampler {
  read(): Promise<StatsReading>;
  /** The next read goes to Redis (after an admin action changed what it shows). */
  invalidate(): void;
}

export interface StatsSamplerDeps {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  readonly history: LagHistory;
  readonly clock?: Clock;
  /** A reading younger than this is answered again instead of reading Redis; default 1000 ms. */
  readonly reuseMs?: number;
}

export function createStatsSampler(deps: StatsSamplerDeps): StatsSampler {
  const clock = deps.clock ?? systemClock;
  const reuseMs = deps.reuseMs ?? 1000;
  let last: StatsReading | undefined;
  let inflight: Promise<StatsReading> | undefined;

  async function readNow(): Promise<StatsReading> {
    const stats = await readOperatorStats({ redis: deps.redis, keys: deps.keys, clock });
    const reading = { at: clock.now(), stats };
    deps.history.record(stats.groups, reading.at);
    last = reading;
    return reading;
  }

  return {
    read() {
      if (last !== undefined && clock.now() - last.at < reuseMs) return Promise.resolve(last);
      inflight ??= readNow().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    invalidate() {
      last = undefined;
    },
  };
}
