import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../src/retry/backoff.js'

const fixed = (value: number) => () => value

describe('backoffDelay (full jitter)', () => {
  // [retryIndex, base, cap, random, expected]
  const table: [number, number, number, number, number][] = [
    [0, 100, 5_000, 0, 0],
    [0, 100, 5_000, 0.5, 50],
    [0, 100, 5_000, 0.999999, 99],
    [1, 100, 5_000, 0.5, 100],
    [2, 100, 5_000, 0.5, 200],
    [5, 100, 5_000, 0.999999, 3_199],
    // base * 2^6 = 6 400 > cap: the cap bounds the interval.
    [6, 100, 5_000, 0.999999, 4_999],
    [6, 100, 5_000, 0.5, 2_500],
    // 2^2000 is Infinity: still the cap, never NaN.
    [2_000, 100, 5_000, 0.5, 2_500],
    [0, 0, 5_000, 0.5, 0],
    [2_000, 0, 5_000, 0.5, 0],
    [3, 100, 0, 0.5, 0],
    [0, 250, 100, 0.5, 50],
  ]
  it.each(table)('retry %i, base %i, cap %i, random %f -> %i ms', (n, base, cap, random, expected) => {
    expect(backoffDelay(n, base, cap, fixed(random))).toBe(expected)
  })

  it('stays within [0, min(cap, base * 2^n)) for any random in [0, 1)', () => {
    for (let n = 0; n < 12; n++) {
      const ceiling = Math.min(5_000, 100 * 2 ** n)
      for (const r of [0, 0.1, 0.37, 0.5, 0.9, 0.999999999]) {
        const d = backoffDelay(n, 100, 5_000, fixed(r))
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThan(ceiling)
        expect(Number.isInteger(d)).toBe(true)
      }
    }
  })
})
