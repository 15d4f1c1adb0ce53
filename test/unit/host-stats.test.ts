import { describe, expect, it } from 'vitest'
import type { CallRecord } from '../../src/types.js'
import { SafeFetchError } from '../../src/errors.js'
import { HostStats, resolveStatsOptions } from '../../src/observe/host-stats.js'
import type { CallSample } from '../../src/observe/stat-counters.js'
import { Clock } from '../support/clocks.js'

function sample(over: Partial<CallRecord> = {}): CallSample {
  return { status: 200, attempts: 1, redirects: 0, bytes: 100, durationMs: 10, attemptLog: [], ...over }
}

const A = 'https://a.example.test'
const B = 'https://b.example.test'

describe('HostStats counting', () => {
  it('counts calls, errors by code, status classes, retries, cache results and bytes per origin', () => {
    const c = new Clock(1_700_000_000_000)
    const stats = new HostStats(undefined, c.now)
    stats.record(A, sample({ status: 200, cache: 'miss' }))
    stats.record(A, sample({ status: 200, cache: 'hit', attempts: 0, bytes: 50 }))
    stats.record(A, sample({ status: 304, cache: 'revalidated' }))
    stats.record(
      A,
      sample({
        status: 503,
        attempts: 3,
        attemptLog: [
          { attempt: 1, hop: 0, url: A, timings: {}, retryReason: 'status 503' },
          { attempt: 2, hop: 0, url: A, timings: {}, retryReason: 'status 503' },
          { attempt: 3, hop: 0, url: A, timings: {} },
        ],
      }),
    )
    stats.record(A, { errorCode: 'ERR_CONNECT_TIMEOUT', attempts: 1, redirects: 0, bytes: 0, durationMs: 10, attemptLog: [] })
    stats.record(A, sample({ status: 404 }))
    stats.record(B, sample({ status: 301, redirects: 1, attempts: 2 }))

    const snap = stats.snapshot()
    expect(snap.windowMs).toBe(300_000)
    expect(snap.bucketMs).toBe(30_000)
    expect(snap.origins[A]).toMatchObject({
      calls: 6,
      errors: 1,
      errorsByCode: { ERR_CONNECT_TIMEOUT: 1 },
      status: { '1xx': 0, '2xx': 2, '3xx': 1, '4xx': 1, '5xx': 1 },
      retries: 2,
      cache: { hit: 1, miss: 1, revalidated: 1, stale: 0, bypass: 0, hitRatio: 0.6667 },
      bytes: 450,
    })
    // A redirect is not a retry.
    expect(snap.origins[B]).toMatchObject({ calls: 1, retries: 0, status: { '3xx': 1 }, cache: { hitRatio: null } })
  })

  it('reports latency percentiles of a known distribution within 5 %', () => {
    const c = new Clock(1_700_000_000_000)
    const stats = new HostStats(undefined, c.now)
    // 1..1000 ms, one call each: p50 = 500, p90 = 900, p99 = 990.
    for (let ms = 1; ms <= 1000; ms++) stats.record(A, sample({ durationMs: ms }))
    const latency = stats.snapshot().origins[A]!.latencyMs
    expect(latency.count).toBe(1000)
    expect(latency.mean).toBeCloseTo(500.5, 3)
    expect(latency.max).toBe(1000)
    for (const [q, exact] of [
      ['p50', 500],
      ['p90', 900],
      ['p99', 990],
    ] as const) {
      expect(Math.abs(latency[q]! - exact) / exact).toBeLessThanOrEqual(0.05)
    }
  })
})

describe('HostStats sliding window', () => {
  it('drops slots as they leave the window and reuses them when the ring comes round', () => {
    const c = new Clock(0)
    const stats = new HostStats(resolveStatsOptions({ windowMs: 10_000, buckets: 10 }), c.now)
    stats.record(A, sample()) // slot 0
    c.advanceMs(5_000)
    stats.record(A, sample()) // slot 5
    stats.record(A, sample())
    expect(stats.snapshot().origins[A]!.calls).toBe(3)
    c.advanceMs(5_000) // now in slot 10: slot 0 left the window
    expect(stats.snapshot().origins[A]!.calls).toBe(2)
    stats.record(A, sample({ status: 500 })) // slot 10 reuses ring position 0, reset first
    const snap = stats.snapshot().origins[A]!
    expect(snap.calls).toBe(3)
    expect(snap.status['5xx']).toBe(1)
    c.advanceMs(6_000) // slot 16: slots 5 gone, 10 kept
    expect(stats.snapshot().origins[A]!.calls).toBe(1)
    c.advanceMs(60_000)
    expect(stats.snapshot().origins[A]).toBeUndefined()
  })

  it('keeps lifetime totals for exporters after the window has moved on', () => {
    const c = new Clock(0)
    const stats = new HostStats(resolveStatsOptions({ windowMs: 1_000, buckets: 2 }), c.now)
    stats.record(A, sample({ durationMs: 4 }))
    c.advanceMs(10_000)
    stats.record(A, sample({ durationMs: 6 }))
    const { window, totals } = stats.counters().get(A)!
    expect(window.calls).toBe(1)
    expect(totals.calls).toBe(2)
    expect(totals.latency.sumMs).toBe(10)
  })
})

describe('HostStats memory bound', () => {
  it('keeps at most maxOrigins, dropping the least recently used', () => {
    const c = new Clock(0)
    const stats = new HostStats(resolveStatsOptions({ maxOrigins: 3, windowMs: 1_000, buckets: 1 }), c.now)
    stats.record('https://1.test', sample())
    stats.record('https://2.test', sample())
    stats.record('https://3.test', sample())
    c.advanceMs(1_000) // a new slot, so a touch moves the origin to the back
    stats.record('https://1.test', sample())
    stats.record('https://4.test', sample())
    expect(stats.size).toBe(3)
    expect([...stats.counters().keys()].sort()).toEqual(['https://1.test', 'https://3.test', 'https://4.test'])
  })
})

describe('HostStats deltas (for the fleet sink)', () => {
  it('tracks nothing until asked, then hands out and resets what was recorded per slot', () => {
    const c = new Clock(0)
    const stats = new HostStats(resolveStatsOptions({ windowMs: 10_000, buckets: 10 }), c.now)
    stats.record(A, sample())
    expect(stats.takeDeltas().size).toBe(0)
    stats.trackDeltas()
    stats.record(A, sample())
    c.advanceMs(1_000)
    stats.record(A, sample())
    stats.record(B, sample())
    const deltas = stats.takeDeltas()
    expect([...deltas.keys()]).toEqual([0, 1])
    expect(deltas.get(1)!.get(B)!.calls).toBe(1)
    expect(stats.takeDeltas().size).toBe(0)
  })
})

describe('resolveStatsOptions', () => {
  const bad: [unknown, RegExp][] = [
    [{ windowMs: 0 }, /stats\.windowMs must be an integer/],
    [{ buckets: 0 }, /stats\.buckets must be an integer/],
    [{ maxOrigins: 1.5 }, /stats\.maxOrigins must be an integer/],
    ['x', /stats must be false or an object/],
  ]
  it.each(bad)('%j is refused with ERR_INVALID_OPTION', (input, message) => {
    expect(() => resolveStatsOptions(input as never)).toThrow(SafeFetchError)
    expect(() => resolveStatsOptions(input as never)).toThrow(message)
  })
})
