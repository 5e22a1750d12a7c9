// Scenario 6: kill -9 of Redis with appendfsync everysec. A process kill keeps the page cache, so this measures a
// Redis process crash only; the window of an OS crash (up to about 1 s of writes) comes from Redis' documentation.
import { redisCrashScenario } from '../redis-crash.js';

export const redisKillEverysec = redisCrashScenario('06-redis-kill-everysec', 'everysec');
