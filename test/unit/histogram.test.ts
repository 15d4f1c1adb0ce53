import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BUCKET_COUNT, bucketIndex, bucketLowerBound, bucketValue, bucketWidth, LatencyHistogram } from '../../src/observe/histogram.js'

describe('bucket layout', () => {
  const cases: [micros: number, index: number][] = [
    [0, 0],
    [-5, 0],
    [1, 1],
    [15, 15],
    [16, 16],
    [31, 31],
    [32, 32], // 2^5: first bucket of the next power of two, 2 µs wide
    [33, 32],
    [34, 33],
    [64, 48],
    [1_000, 16 * 6 + 15], // 2^9..2^10 cut in 16 buckets of 32 µs: 1000 = (16 + 15) · 32 + 8
    [2 ** 32 - 1, BUCKET_COUNT - 1],
    [1e12, BUCKET_COUNT - 1],
  ]
  it.each(cases)('%d µs → bucket %d', (micros, index) => {
    expect(bucketIndex(micros)).toBe(index)
  })

  it('buckets tile the range without gaps or overlaps', () => {
    for (let i = 0; i < BUCKET_COUNT - 1; i++) {
      expect(bucketLowerBound(i) + bucketWidth(i)).toBe(bucketLowerBound(i + 1))
    }
    expect(bucketLowerBound(BUCKET_COUNT - 1) + bucketWidth(BUCKET_COUNT - 1)).toBe(2 ** 32)
  })

  it('reports every value within 1/32 of itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 32 - 1 }), (micros) => {
        const index = bucketIndex(micros)
        expect(micros).toBeGreaterThanOrEqual(bucketLowerBound(index))
        expect(micros).toBeLessThan(bucketLowerBound(index) + bucketWidth(index))
        expect(Math.abs(bucketValue(index) - micros) / micros).toBeLessThanOrEqual(1 / 32)
      }),
      { numRuns: 5_000 },
    )
  })
})

/** Deterministic pseudo-random numbers (mulberry32), so the distribution is the same every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
}

describe('LatencyHistogram quantiles', () => {
  it('is empty until something is recorded', () => {
    const h = new LatencyHistogram()
    expect(h.quantile(0.5)).toBeUndefined()
    expect(h.count).toBe(0)
  })

  it('matches the exact percentiles of a uniform 1..1000 ms distribution within 5 %', () => {
    const h = new LatencyHistogram()
    const values: number[] = []
    for (let ms = 1; ms <= 1000; ms++) {
      h.record(ms)
      values.push(ms)
    }
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = exactQuantile(values, q)
      expect(Math.abs(h.quantile(q)! - exact) / exact).toBeLessThanOrEqual(0.05)
    }
    expect(h.quantile(1)).toBe(1000)
    expect(h.quantile(0)).toBe(1)
  })

  it('matches a log-normal latency distribution (long tail) within 5 % at p50/p90/p99', () => {
    const random = rng(42)
    const h = new LatencyHistogram()
    const values: number[] = []
    for (let i = 0; i < 20_000; i++) {
      // Box–Muller: median ~20 ms, long right tail.
      const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
      const ms = Math.exp(Math.log(20) + 0.9 * z)
      h.record(ms)
      values.push(ms)
    }
    values.sort((a, b) => a - b)
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = exactQuantile(values, q)
      expect(Math.abs(h.quantile(q)! - exact) / exact).toBeLessThanOrEqual(0.05)
    }
    expect(h.sumMs / h.count).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6)
  })

  it('a bimodal distribution: p50 in the fast mode, p99 in the slow one', () => {
    const h = new LatencyHistogram()
    for (let i = 0; i < 95; i++) h.record(2)
    for (let i = 0; i < 5; i++) h.record(800)
    expect(h.quantile(0.5)).toBeCloseTo(2, 1)
    expect(Math.abs(h.quantile(0.99)! - 800) / 800).toBeLessThanOrEqual(0.05)
  })

  it('merges: the merged quantiles equal those of recording everything in one', () => {
    const a = new LatencyHistogram()
    const b = new LatencyHistogram()
    const all = new LatencyHistogram()
    for (let i = 1; i <= 500; i++) {
      a.record(i * 0.37)
      b.record(i * 3.1)
      all.record(i * 0.37)
      all.record(i * 3.1)
    }
    a.merge(b)
    for (const q of [0.1, 0.5, 0.9, 0.99]) expect(a.quantile(q)).toBe(all.quantile(q))
    expect(a.count).toBe(1000)
    expect(a.maxMs).toBe(all.maxMs)
  })

  it('addBucket rebuilds a histogram from its non-empty buckets', () => {
    const source = new LatencyHistogram()
    for (const ms of [0.2, 1, 1, 5, 40, 40, 41, 900]) source.record(ms)
    const copy = new LatencyHistogram()
    source.forEachBucket((index, count) => copy.addBucket(index, count))
    expect(copy.count).toBe(source.count)
    for (const q of [0.25, 0.5, 0.75]) expect(Math.abs(copy.quantile(q)! - source.quantile(q)!) / source.quantile(q)!).toBeLessThanOrEqual(1 / 32)
  })

  it('reset empties it', () => {
    const h = new LatencyHistogram()
    h.record(3)
    h.reset()
    expect(h.count).toBe(0)
    expect(h.quantile(0.5)).toBeUndefined()
  })
})
