import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (file: string): string => fileURLToPath(new URL(`./src/${file}`, import.meta.url))

export default defineConfig({
  // The examples import the package by name, as users do; here the names mean the sources.
  resolve: {
    alias: [
      { find: /^safefetch$/, replacement: src('index.ts') },
      { find: /^safefetch\/testing$/, replacement: src('testing.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    setupFiles: ['test/helpers/tripwire.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Real servers and a real redis-server per file: keep the 2-core machine from thrashing.
    maxWorkers: 2,
    pool: 'forks',
  },
})
