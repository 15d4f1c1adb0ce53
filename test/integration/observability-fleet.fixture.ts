/**
 * Run as a separate process by observability-fleet.test.ts: a real client with fleet stats makes
 * `count` calls to `url`, one failing call to `refusedUrl`, then closes (which flushes to Redis).
 * Usage: node --import tsx observability-fleet.fixture.ts <redis-url> <prefix> <url> <count> <refusedUrl>
 */
import { createClient } from '../../src/index.js'

const [redis, prefix, url, count, refusedUrl] = process.argv.slice(2) as [string, string, string, string, string]
const client = createClient({
  name: 'fleet-child',
  policy: { allow: ['127.0.0.1/32'] },
  cache: false,
  retry: false,
  // A long interval: only close() flushes, so the test knows when the numbers are in Redis.
  stats: { windowMs: 60_000, buckets: 6, fleet: { redis, prefix, intervalMs: 3_600_000 } },
})
for (let i = 0; i < Number(count); i++) await (await client.fetch(url)).text()
await client.fetch(refusedUrl).catch(() => {})
const local = client.stats().origins
await client.close()
process.stdout.write(JSON.stringify({ pid: process.pid, local }))
