import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests spawn real processes; on a loaded 2-core machine they can be slow.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Integration tests start real processes and servers; two cores are all we have.
    pool: 'forks',
    maxWorkers: 2,
  },
});
