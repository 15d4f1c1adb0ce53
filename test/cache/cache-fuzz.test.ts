/** Parsers of what origins and stores send must never throw: anything odd is a miss or ignored. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseAge, parseCacheControl, parseTokenList } from '../../src/cache/cache-control.js'
import { parseVary } from '../../src/cache/cache-key.js'
import { computeFreshness, isStorable, mergeNotModified, notModifiedSelects } from '../../src/cache/cache-semantics.js'
import { decodeRecord, encodeRecord } from '../../src/cache/entry-codec.js'
import { responseRecord } from './store-suite.js'

const headerText = fc.string({ unit: fc.constantFrom(...' ,;="\\*-=aAzZ09\t'.split('')), maxLength: 40 })
const headers = fc.dictionary(
  fc.constantFrom('cache-control', 'expires', 'date', 'age', 'vary', 'etag', 'last-modified', 'pragma', 'connection', 'set-cookie'),
  headerText,
)

describe('robustness', () => {
  it('header parsers never throw', () => {
    fc.assert(
      fc.property(headerText, (text) => {
        parseCacheControl(text)
        parseTokenList(text)
        parseVary(text)
        const age = parseAge(text)
        expect(age === undefined || (Number.isInteger(age) && age >= 0)).toBe(true)
      }),
    )
  })

  it('storability, freshness and 304 merging never throw and never give negative or NaN durations', () => {
    fc.assert(
      fc.property(headers, headers, fc.constantFrom(200, 203, 301, 302, 404, 500), (res, other, status) => {
        isStorable('shared', 'GET', status, {}, res)
        const f = computeFreshness('shared', status, { ...res, date: 'Wed, 01 Jan 2025 12:00:00 GMT' }, res['age'], 1_735_732_800_000, 1_735_732_800_000)
        for (const value of [f.initialAge, f.lifetime, f.swr, f.sie]) expect(value >= 0 && Number.isFinite(value)).toBe(true)
        notModifiedSelects(res, other)
        mergeNotModified(res, other, 1_735_732_800_000)
      }),
    )
  })

  it('decodeRecord never throws on arbitrary or truncated bytes', () => {
    const valid = encodeRecord(responseRecord())
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(valid.byteLength), (garbage, cut) => {
        decodeRecord(garbage)
        decodeRecord(valid.subarray(0, cut))
        const flipped = valid.slice()
        flipped[cut % flipped.length] = (flipped[cut % flipped.length]! + 1) & 0xff
        decodeRecord(flipped)
      }),
    )
  })
})
