/**
 * Issue #5: the heap stays flat over 200 000 memory-cache hits through the real client
 * (measured elsewhere: undici's cache interceptor grew ~5.5 KB per hit, got's ~14.6 KB). Measured in a child
 * process with --expose-gc (cache-heap.fixture.ts), so the runner's own allocations do not count.
 * Not a timing test: the bound is on bytes, and the hits are capped at 200 000.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const run = promisify(execFile)
const fixture = fileURLToPath(new URL('./cache-heap.fixture.ts', import.meta.url))

it('keeps the heap flat over 200 000 hits through the real client (memory store)', async () => {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', fixture, '200000'], { timeout: 170_000 })
  const result = JSON.parse(stdout) as {
    hits: number
    before: number
    after: number
    perHit: number
    seconds: number
    originRequests: number
    lastStatus: string
  }
  const mib = (bytes: number): string => (bytes / 1048576).toFixed(1)
  console.log(
    `heap ${mib(result.before)} MiB -> ${mib(result.after)} MiB over ${result.hits} hits: ${result.perHit.toFixed(2)} bytes/hit (${(result.hits / result.seconds).toFixed(0)} hits/s sequential)`,
  )
  expect(result.originRequests).toBe(1)
  expect(result.lastStatus).toBe('hit')
  // Flat: under 5 MiB over 200 000 hits is < 27 bytes/hit, against undici's ~5 500 and got's ~14 600.
  expect(result.after - result.before).toBeLessThan(5 * 1024 * 1024)
}, 180_000)
