/**
 * Fleet statistics across two real processes: this one and a child, each with its own real
 * client, both flushing into one real redis-server; readFleetStats() sees the sum
 * (docs/observability.md, "Fleet stats"). test/integration/fleet-stats.test.ts covers the sink
 * itself (deltas, expiry, failed flushes) with two sinks in one process.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, readFleetStats, type OriginStats } from '../../src/index.js'
import { redisAvailable, startRedis, type RedisServer } from '../support/redis.js'
import { startHttpServer, type TestServer, closedPort } from '../support/servers.js'
import { originHandler } from '../support/observability-origin.js'

const run = promisify(execFile)
const fixture = fileURLToPath(new URL('./observability-fleet.fixture.ts', import.meta.url))
const WINDOW = { windowMs: 60_000, buckets: 6 }
const available = redisAvailable()

let redisServer: RedisServer
let redis: Redis
let server: TestServer
beforeAll(async () => {
  if (!available) return
  redisServer = await startRedis()
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 })
  server = await startHttpServer(originHandler())
})
afterAll(async () => {
  await redis?.quit()
  await redisServer?.stop()
  await server?.close()
})

describe.skipIf(!available)('fleet stats across processes', () => {
  it('two processes flush into one Redis; any process reads the merged window', async () => {
    const prefix = `fleet-it:${process.pid}`
    const refused = `http://127.0.0.1:${await closedPort()}`
    // The child: 10 calls that take at least 40 ms, one refused connection.
    const child = run(process.execPath, ['--import', 'tsx', fixture, redisServer.url, prefix, `${server.origin}/slow?ms=40`, '10', `${refused}/`], {
      timeout: 30_000,
    })
    // This process: 10 fast calls, through a client of its own.
    const client = createClient({
      name: 'fleet-parent',
      policy: { allow: ['127.0.0.1/32'] },
      cache: false,
      stats: { ...WINDOW, fleet: { redis, prefix, intervalMs: 3_600_000 } },
    })
    for (let i = 0; i < 10; i++) await (await client.fetch(`${server.origin}/status/200`)).text()
    const local = client.stats().origins![server.origin]!
    await client.close() // flushes; the ioredis client we passed stays ours
    const { stdout } = await child
    const fromChild = JSON.parse(stdout) as { pid: number; local: Record<string, OriginStats> }
    expect(fromChild.pid).not.toBe(process.pid)
    expect(fromChild.local[server.origin]!.calls).toBe(10)
    expect(local.calls).toBe(10)

    const fleet = await readFleetStats(redis, { prefix, ...WINDOW })
    const merged = fleet.origins[server.origin]!
    expect(merged).toMatchObject({
      calls: 20,
      errors: 0,
      status: { '2xx': 20 },
      bytes: 10 * 'slow!'.length + 10 * 'status 200'.length,
    })
    expect(merged.latencyMs.count).toBe(20)
    // The sums merged: the fleet mean is the mean of the two processes' means (10 calls each).
    const childLocal = fromChild.local[server.origin]!
    expect(merged.latencyMs.mean!).toBeCloseTo((local.latencyMs.mean! + childLocal.latencyMs.mean!) / 2, 2)
    // The histograms merged: at most 10 samples (this process's) lie below rank 18, so p90 is
    // at least the child's 8th fastest, which slept 40 ms.
    expect(merged.latencyMs.p90!).toBeGreaterThanOrEqual(40 * (1 - 1 / 32) - 1)
    expect(merged.latencyMs.max!).toBeGreaterThanOrEqual(childLocal.latencyMs.max! * (1 - 1 / 32))
    expect(fleet.origins[refused]).toMatchObject({ calls: 1, errors: 1, errorsByCode: { ERR_NETWORK: 1 } })
    // Every key expires with the window.
    const keys = await redis.keys(`${prefix}:*`)
    expect(keys.length).toBeGreaterThan(0)
    for (const key of keys) {
      const ttl = await redis.pttl(key)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(WINDOW.windowMs + 10_000)
    }
  })
})
