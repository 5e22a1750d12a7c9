// Scenario 5: kill -9 of Redis with appendfsync always, then a restart on the same AOF.
import { redisCrashScenario } from '../redis-crash.js';

export const redisKillAlways = redisCrashScenario('05-redis-kill-always', 'always');
