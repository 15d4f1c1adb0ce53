/**
 * Fleet statistics against a real redis-server: two "processes" (two HostStats with their own
 * sinks) flush into one Redis; any reader sees the merged numbers.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FleetStatsSink, fleetKey, readFleetStats, resolveFleetOptions } from '../../src/observe/fleet-stats.js'
import { HostStats, resolveStatsOptions } from '../../src/observe/host-stats.js'
import { createObserveState, closeObserveState, resolveObserveOptions } from '../../src/observe/observe-state.js'
import type { CallSample } from '../../src/observe/stat-counters.js'
import { startRedis, type RedisServer } from '../support/redis.js'

const A = 'https://a.example.test'
const B = 'https://b.example.test'
const WINDOW = { windowMs: 60_000, buckets: 6 } // 10 s slots

function sample(over: Partial<CallSample> = {}): CallSample {
  return { status: 200, attempts: 1, redirects: 0, bytes: 100, durationMs: 10, attemptLog: [], ...over }
}

function failed(errorCode: NonNullable<CallSample['errorCode']>): CallSample {
  return { errorCode, attempts: 1, redirects: 0, bytes: 0, durationMs: 10, attemptLog: [] }
}

let server: RedisServer
let redis: Redis
let prefix: string
let testNumber = 0

beforeAll(async () => {
  server = await startRedis()
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 })
})

afterAll(async () => {
  await redis?.quit()
  await server?.stop()
})

beforeEach(() => {
  prefix = `test:${++testNumber}`
})

function process_(now: () => number): { stats: HostStats; sink: FleetStatsSink } {
  const stats = new HostStats(resolveStatsOptions(WINDOW), now)
  const sink = new FleetStatsSink(stats, resolveFleetOptions({ redis, prefix })!, (err) => {
    throw err
  })
  return { stats, sink }
}

describe('fleet stats in Redis', () => {
  it('merges the counters and latency histograms of several processes', async () => {
    // Frozen near real time: Redis expires the slot keys on its own clock.
    const t = Date.now()
    const now = (): number => t
    const one = process_(now)
    const two = process_(now)
    for (let ms = 1; ms <= 500; ms++) one.stats.record(A, sample({ durationMs: ms }))
    for (let ms = 501; ms <= 1000; ms++) two.stats.record(A, sample({ durationMs: ms, cache: 'hit' }))
    two.stats.record(B, failed('ERR_DNS'))
    await Promise.all([one.sink.flush(), two.sink.flush()])

    const fleet = await readFleetStats(redis, { prefix, ...WINDOW, now })
    expect(fleet.windowMs).toBe(60_000)
    const a = fleet.origins[A]!
    expect(a).toMatchObject({ calls: 1000, bytes: 100_000, status: { '2xx': 1000 }, cache: { hit: 500 } })
    expect(a.latencyMs.mean).toBeCloseTo(500.5, 2)
    for (const [q, exact] of [
      ['p50', 500],
      ['p90', 900],
      ['p99', 990],
    ] as const) {
      expect(Math.abs(a.latencyMs[q]! - exact) / exact).toBeLessThanOrEqual(0.05)
    }
    expect(fleet.origins[B]).toMatchObject({ calls: 1, errors: 1, errorsByCode: { ERR_DNS: 1 } })
  })

  it('adds only what is new at each flush, and expires slots with the window', async () => {
    let t = Date.now()
    const now = (): number => t
    const one = process_(now)
    one.stats.record(A, sample())
    await one.sink.flush()
    await one.sink.flush() // nothing new: nothing added
    one.stats.record(A, sample())
    await one.sink.flush()
    expect((await readFleetStats(redis, { prefix, ...WINDOW, now })).origins[A]!.calls).toBe(2)

    const epoch = Math.floor(t / 10_000)
    const ttl = await redis.pttl(fleetKey(prefix, 10_000, epoch))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(70_000 + 1_000)

    t += 61_000 // the slot has left the window for readers too
    expect((await readFleetStats(redis, { prefix, ...WINDOW, now })).origins[A]).toBeUndefined()
  })

  it('a sink configured with a redis:// URL connects lazily and closes its own connection', async () => {
    const state = createObserveState(resolveObserveOptions({ stats: { ...WINDOW, fleet: { redis: server.url, prefix, intervalMs: 60_000 } } }), { name: 'x' })
    state.stats!.record(A, sample())
    await closeObserveState(state) // flushes what is left
    expect((await readFleetStats(redis, { prefix, ...WINDOW })).origins[A]!.calls).toBe(1)
  })

  it('counts a failed flush and reports it, without throwing', async () => {
    const errors: unknown[] = []
    const stats = new HostStats(resolveStatsOptions(WINDOW))
    const broken = {
      pipeline: () => ({ hincrby() {}, pexpireat() {}, hgetall() {}, exec: async () => [[new Error('READONLY'), null]] as [Error | null, unknown][] }),
    }
    const sink = new FleetStatsSink(stats, resolveFleetOptions({ redis: broken, prefix })!, (e) => errors.push(e))
    stats.record(A, sample())
    await sink.flush()
    expect(sink.failures).toBe(1)
    expect(String(errors[0])).toContain('READONLY')
  })
})
