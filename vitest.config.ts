import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/tripwire.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Real servers and a real redis-server per file: keep the 2-core machine from thrashing.
    maxWorkers: 2,
    pool: 'forks',
  },
})
