import { fileURLToPath } from 'node:url'
import { configDefaults, defineConfig } from 'vitest/config'

const src = (file: string): string => fileURLToPath(new URL(`./src/${file}`, import.meta.url))

/**
 * Tests that spend their time outside the library: child processes (the CLI through tsx, the
 * packed tarball, several processes on one Redis) and heap measurements that run hundreds of
 * thousands of calls. `npm test` runs the `fast` project; `npm run test:slow` runs these; CI
 * (.ci/run) runs both.
 */
const SLOW = [
  'test/cli/check.test.ts',
  'test/cli/get.test.ts',
  'test/cli/bin.test.ts',
  'test/integration/packed-consumer.test.ts',
  'test/integration/body-memory.test.ts',
  'test/integration/cache-heap.test.ts',
  'test/integration/call-heap.test.ts',
  'test/integration/observability-fleet.test.ts',
]

export default defineConfig({
  // The examples import the package by name, as users do; here the names mean the sources.
  resolve: {
    alias: [
      { find: /^safefetch$/, replacement: src('index.ts') },
      { find: /^safefetch\/testing$/, replacement: src('testing.ts') },
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'fast', isolate: false, include: ['test/**/*.test.ts', 'examples/**/*.test.ts'], exclude: [...configDefaults.exclude, ...SLOW] },
      },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
    setupFiles: ['test/support/tripwire.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Real servers and a real redis-server per file: keep the 2-core machine from thrashing.
    maxWorkers: 2,
    pool: 'forks',
  },
})
