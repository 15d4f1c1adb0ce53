import { describe, expect, it } from 'vitest'
import { HighWater, orderedToken, tokenTime } from '../../src/cache/generations.js'

describe('ordered tokens', () => {
  it('carry their time; tokens without one are the oldest', () => {
    expect(tokenTime(orderedToken(1_796_000_000_000))).toBe(1_796_000_000_000)
    expect(tokenTime('6v7jRTtFJNKX')).toBe(0)
    expect(tokenTime('zzzzzzzzz')).toBe(0)
    expect(orderedToken(1) < orderedToken(2)).toBe(true)
  })
})

describe('HighWater', () => {
  it('accepts newer or equal tokens and refuses older ones per key', () => {
    const hw = new HighWater()
    const t1 = orderedToken(1_000)
    const t2 = orderedToken(2_000)
    expect(hw.accept('k', t2)).toBe(true)
    expect(hw.accept('k', t1)).toBe(false)
    expect(hw.accept('k', orderedToken(2_000))).toBe(true) // same millisecond, another writer
    expect(hw.accept('other', t1)).toBe(true)
    expect(hw.accept('k', 'legacy-token')).toBe(false)
  })

  it('next() is newer than anything seen, even a token from a clock ahead of ours', () => {
    const hw = new HighWater()
    const ahead = orderedToken(Date.now() + 3_600_000)
    hw.accept('k', ahead)
    const next = hw.next('k')
    expect(tokenTime(next)).toBeGreaterThan(tokenTime(ahead))
    expect(hw.accept('k', ahead)).toBe(false)
  })

  it('forgets the oldest keys past its bound', () => {
    const hw = new HighWater(2)
    hw.accept('a', orderedToken(5))
    hw.accept('b', orderedToken(5))
    hw.accept('c', orderedToken(5))
    expect(hw.accept('a', orderedToken(1))).toBe(true) // forgotten
    expect(hw.accept('c', orderedToken(1))).toBe(false)
  })
})
