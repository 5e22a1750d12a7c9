// Every scenario of the fault suite in the order of the list.
import type { Scenario } from '../harness.js';
import { baseline } from './01-baseline.js';
import { killConsumers } from './02-kill-consumers.js';
import { slowHandler } from './03-slow-handler.js';
import { sigterm } from './04-sigterm.js';
import { redisKillAlways } from './05-redis-kill-always.js';
import { redisKillEverysec } from './06-redis-kill-everysec.js';
import { unsafeRedis } from './07-unsafe-redis.js';
import { redisFrozen } from './08-redis-frozen.js';
import { clientKill } from './09-client-kill.js';
import { redisUnreachable } from './10-redis-unreachable.js';
import { latency } from './11-latency.js';
import { downstreamFaults } from './12-downstream-faults.js';
import { ambiguousSuccess } from './13-ambiguous-success.js';
import { publishTwice } from './14-publish-twice.js';
import { poison } from './15-poison.js';
import { twoMovers } from './16-two-movers.js';
import { clockJumps } from './17-clock-jumps.js';
import { retentionTrim } from './18-retention-trim.js';

export const scenarios: readonly Scenario[] = [
  baseline,
  killConsumers,
  slowHandler,
  sigterm,
  redisKillAlways,
  redisKillEverysec,
  unsafeRedis,
  redisFrozen,
  clientKill,
  redisUnreachable,
  latency,
  downstreamFaults,
  ambiguousSuccess,
  publishTwice,
  poison,
  twoMovers,
  clockJumps,
  retentionTrim,
];
