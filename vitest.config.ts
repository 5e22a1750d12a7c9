// Test runner configuration: real redis-server processes, so files run in forks with generous timeouts.
import { defineConfig } from 'vitest/config';

export const testConfig = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    reporters: ['default'],
  },
});

export { testConfig as default };
