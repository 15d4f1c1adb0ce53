import { describe, expect, it } from 'vitest'
import { parseHttpDate } from '../../src/retry/http-date.js'

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0) // 2025-06-01T12:00:00Z

describe('parseHttpDate (RFC 9110 §5.6.7)', () => {
  const table: [string, number | undefined][] = [
    // The three formats of the RFC's own example.
    ['Sun, 06 Nov 1994 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['Sun Nov  6 08:49:37 1994', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['Sun Nov 16 08:49:37 1994', Date.UTC(1994, 10, 16, 8, 49, 37)],
    // rfc850 two-digit years: more than 50 years ahead means the previous century.
    ['Monday, 01-Jan-30 00:00:00 GMT', Date.UTC(2030, 0, 1)],
    ['Monday, 01-Jan-75 00:00:00 GMT', Date.UTC(2075, 0, 1)],
    ['Monday, 01-Jan-76 00:00:00 GMT', Date.UTC(1976, 0, 1)],
    // A leap second is allowed by the grammar.
    ['Wed, 31 Dec 2025 23:59:60 GMT', Date.UTC(2026, 0, 1, 0, 0, 0)],
    ['Sat, 29 Feb 2020 00:00:00 GMT', Date.UTC(2020, 1, 29)],
    // Not HTTP-dates.
    ['Sat, 29 Feb 2025 00:00:00 GMT', undefined],
    ['Mon, 31 Apr 2025 00:00:00 GMT', undefined],
    ['Sun, 06 Nov 1994 24:00:00 GMT', undefined],
    ['Sun, 06 Nov 1994 08:60:00 GMT', undefined],
    ['Sun, 00 Nov 1994 08:49:37 GMT', undefined],
    // Names and GMT in any case: recipients should be robust (§5.6.7).
    ['sun, 06 nov 1994 08:49:37 gmt', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['SUN, 06 NOV 1994 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['sunday, 06-nOv-94 08:49:37 Gmt', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['sun nov  6 08:49:37 1994', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['Sunday, 06-Nov-94 08:49:37 UTC', undefined],
    ['Sun Nov  6 08:49:37 1994 GMT', undefined],
    ['Sun, 06 Nov 94 08:49:37 GMT', undefined],
    ['Sun, 06 Nov 1994 08:49:37 UTC', undefined],
    ['Sun, 06 Nov 1994 08:49:37 +0000', undefined],
    ['Sun, 6 Nov 1994 08:49:37 GMT', undefined],
    ['1994-11-06T08:49:37Z', undefined],
    ['Nov 6, 1994', undefined],
    ['', undefined],
    ['120', undefined],
  ]
  it.each(table)('%j -> %s', (text, expected) => {
    expect(parseHttpDate(text, NOW)).toBe(expected)
  })
})
