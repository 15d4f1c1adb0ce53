import { describe, expect, it } from 'vitest'
import { parseRetryAfter } from '../../src/retry/retry-after.js'

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0) // Sun, 01 Jun 2025 12:00:00 GMT

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  const table: [string | undefined, number | undefined][] = [
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    // delay-seconds
    ['0', 0],
    ['1', 1_000],
    ['120', 120_000],
    [' 5 ', 5_000],
    ['007', 7_000],
    // HTTP-date: the difference from now, never negative.
    ['Sun, 01 Jun 2025 12:00:10 GMT', 10_000],
    ['Sunday, 01-Jun-25 12:01:00 GMT', 60_000],
    ['Sun Jun  1 12:00:03 2025', 3_000],
    ['Sun, 01 Jun 2025 11:00:00 GMT', 0],
    // Malformed: the caller falls back to its backoff.
    ['-1', undefined],
    ['1.5', undefined],
    ['+3', undefined],
    ['1e3', undefined],
    ['soon', undefined],
    ['2025-06-01T12:00:10Z', undefined],
    ['5, 6', undefined],
  ]
  it.each(table)('%j -> %s', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected)
  })

  it('reads an absurdly large delay as at least that large (so it exceeds any maxRetryAfter)', () => {
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(Infinity)
    expect(parseRetryAfter('99999999999', NOW)).toBeGreaterThan(1e12)
  })
})
