// Packs read their own settings from the environment the worker was loaded from (.env included), not only
// process.env: a bad value there fails the start, before Redis is touched.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { startWorker } from '../../src/worker.js';

describe('pack settings come from the worker environment', () => {
  it('a bad PRICE_PROVIDERS given only in the environment option fails the start naming it', async () => {
    expect(process.env['PRICE_PROVIDERS']).toBeUndefined();
    const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' }, { envFile: false });
    const start = startWorker({ config, environment: { PRICE_PROVIDERS: 'not json' } });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(/PRICE_PROVIDERS/);
  });
});
