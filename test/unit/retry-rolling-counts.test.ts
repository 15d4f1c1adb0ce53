import { describe, expect, it } from 'vitest'
import { RollingCounts } from '../../src/retry/rolling-counts.js'
import { Clock } from '../support/clocks.js'

describe('RollingCounts', () => {
  it('sums each series over the window and forgets buckets as they leave it', () => {
    const c = new Clock(0)
    const counts = new RollingCounts(2, 1_000, 10, c.now) // 100 ms buckets
    counts.add(0, 3)
    counts.add(1)
    c.t = 450
    counts.add(0, 2)
    expect([counts.total(0), counts.total(1)]).toEqual([5, 1])
    c.t = 999
    expect(counts.total(0)).toBe(5)
    // The first bucket (0-99 ms) leaves the window once the ring reaches 1 000 ms.
    c.t = 1_000
    expect([counts.total(0), counts.total(1)]).toEqual([2, 0])
    // The 400-499 ms bucket leaves when the ring reaches 1 400 ms.
    c.t = 1_399
    expect(counts.total(0)).toBe(2)
    c.t = 1_400
    expect(counts.total(0)).toBe(0)
  })

  it('empties everything after a long pause, in at most one turn of the ring', () => {
    const c = new Clock(5_000)
    const counts = new RollingCounts(1, 1_000, 10, c.now)
    for (let i = 0; i < 10; i++) {
      c.t += 100
      counts.add(0)
    }
    expect(counts.total(0)).toBe(10)
    c.t += 1e12
    expect(counts.total(0)).toBe(0)
    counts.add(0)
    expect(counts.total(0)).toBe(1)
  })

  it('keeps counting into the newest bucket if an injected clock goes backwards, and works below zero', () => {
    const c = new Clock(-350)
    const counts = new RollingCounts(1, 1_000, 10, c.now)
    counts.add(0)
    c.t = -900
    counts.add(0)
    expect(counts.total(0)).toBe(2)
    // Both counts sit in the -400..-301 ms bucket, which leaves the window at 600 ms.
    c.t = 599
    expect(counts.total(0)).toBe(2)
    c.t = 600
    expect(counts.total(0)).toBe(0)
  })

  it('reset() forgets everything', () => {
    const c = new Clock(0)
    const counts = new RollingCounts(2, 1_000, 10, c.now)
    counts.add(0, 4)
    counts.add(1, 4)
    counts.reset()
    expect([counts.total(0), counts.total(1)]).toEqual([0, 0])
    c.t = 2_000
    expect(counts.total(0)).toBe(0)
  })
})
