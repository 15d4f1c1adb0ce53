import { describe, expect, it } from 'vitest'
import {
  DEFAULT_REQUEST_POLICY,
  evaluate,
  requestPolicy,
  staleIfErrorAllows,
  staleWithin,
  withoutReload,
  type RequestCacheMode,
  type RequestPolicy,
  type Verdict,
} from '../../src/cache/cache-request.js'
import type { Freshness } from '../../src/cache/cache-semantics.js'

describe('requestPolicy', () => {
  it('returns the shared default policy for a plain request (no allocation on the hot path)', () => {
    expect(requestPolicy({ accept: '*/*' }, undefined)).toBe(DEFAULT_REQUEST_POLICY)
    expect(requestPolicy({}, 'default')).toBe(DEFAULT_REQUEST_POLICY)
  })

  it.each([
    ['if-match', '"x"'],
    ['if-unmodified-since', 'Sun, 06 Nov 1994 08:49:37 GMT'],
  ])('bypasses the cache for an application’s own %s (not applicable to a cache, RFC 9111 §4.3.2)', (name, value) => {
    expect(requestPolicy({ [name]: value }, undefined)).toBeUndefined()
    expect(requestPolicy({ [name]: value, 'if-none-match': '"y"' }, undefined)).toBeUndefined()
  })

  it.each([
    ['if-none-match', '"x"'],
    ['if-modified-since', 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['if-range', '"x"'],
    ['range', 'bytes=0-1'],
  ])('an application’s own %s is a precondition the cache may answer (RFC 9111 §4.3.2), never coalesced', (name, value) => {
    expect(requestPolicy({ [name]: value }, undefined)).toMatchObject({ lookup: true, precondition: true, coalesce: false })
  })

  it.each([
    ['mode no-cache', {}, 'no-cache', true],
    ['request max-age=0', { 'cache-control': 'max-age=0' }, undefined, true],
    ['mode no-cache + max-age=0', { 'cache-control': 'max-age=0' }, 'no-cache', true],
    ['request no-cache (a forced reload)', { 'cache-control': 'no-cache' }, undefined, false],
    ['Pragma: no-cache', { pragma: 'no-cache' }, undefined, false],
    ['mode no-cache + request no-cache', { 'cache-control': 'no-cache' }, 'no-cache', false],
    ['request max-age=5', { 'cache-control': 'max-age=5' }, undefined, false],
  ] as [string, Record<string, string>, RequestCacheMode | undefined, boolean][])('%s is a soft reload: %s (RFC 8246 §2)', (_name, headers, mode, soft) => {
    expect(requestPolicy(headers, mode)?.softReload).toBe(soft)
  })

  const table: [string, Record<string, string>, RequestCacheMode | undefined, Partial<RequestPolicy> | undefined][] = [
    ['mode no-store', {}, 'no-store', undefined],
    ['mode reload', {}, 'reload', { lookup: false, store: true, coalesce: false }],
    ['mode no-cache', {}, 'no-cache', { lookup: true, revalidate: true, coalesce: false }],
    ['mode force-cache', {}, 'force-cache', { anyStale: true, onlyIfCached: false }],
    ['mode only-if-cached', {}, 'only-if-cached', { anyStale: true, onlyIfCached: true, coalesce: false }],
    ['no-store directive (§5.2.1.5)', { 'cache-control': 'no-store' }, undefined, { lookup: false, store: false, coalesce: false }],
    ['no-cache directive (§5.2.1.4)', { 'cache-control': 'No-Cache' }, undefined, { revalidate: true }],
    ['Pragma: no-cache (§5.4)', { pragma: 'no-cache' }, undefined, { revalidate: true }],
    ['Pragma ignored with Cache-Control', { pragma: 'no-cache', 'cache-control': 'max-age=5' }, undefined, { revalidate: false, maxAge: 5000 }],
    ['max-age (§5.2.1.1)', { 'cache-control': 'max-age=30' }, undefined, { maxAge: 30_000 }],
    ['max-stale with a value (§5.2.1.2)', { 'cache-control': 'max-stale=30' }, undefined, { maxStale: 30_000 }],
    ['max-stale without a value', { 'cache-control': 'max-stale' }, undefined, { maxStale: Infinity }],
    ['min-fresh (§5.2.1.3)', { 'cache-control': 'min-fresh=10' }, undefined, { minFresh: 10_000 }],
    ['only-if-cached directive (§5.2.1.7)', { 'cache-control': 'only-if-cached' }, undefined, { onlyIfCached: true, lookup: true }],
    ['stale-if-error (RFC 5861 §4, request form)', { 'cache-control': 'stale-if-error=30' }, undefined, { staleIfError: 30_000, coalesce: true }],
    ['stale-if-error, quoted, any case', { 'cache-control': 'Stale-If-Error="5"' }, undefined, { staleIfError: 5000 }],
    ['stale-if-error without delta-seconds is ignored', { 'cache-control': 'stale-if-error=1.5' }, undefined, { staleIfError: undefined }],
  ]
  it.each(table)('%s', (_name, headers, mode, expected) => {
    const policy = requestPolicy(headers, mode)
    if (expected === undefined) expect(policy).toBeUndefined()
    else expect(policy).toMatchObject(expected)
  })
})

describe('evaluate: may this stored response be used? (RFC 9111 §4, §4.2.4; RFC 5861)', () => {
  const T = 1_000_000_000
  const entry = (over: Partial<Freshness> = {}): Freshness => ({ initialAge: 0, responseTime: T, lifetime: 60_000, swr: 0, sie: 0, noStale: false, ...over })
  const policy = (headers: Record<string, string>, mode?: RequestCacheMode): RequestPolicy => requestPolicy(headers, mode)!
  const table: [string, Freshness, number, RequestPolicy, Verdict][] = [
    ['fresh', entry(), 30, DEFAULT_REQUEST_POLICY, 'fresh'],
    ['counts the initial age', entry({ initialAge: 40_000 }), 30, DEFAULT_REQUEST_POLICY, 'revalidate'],
    ['stale', entry(), 61, DEFAULT_REQUEST_POLICY, 'revalidate'],
    ['fresh must-revalidate is served (§5.2.2.2 applies once stale)', entry({ noStale: true }), 30, DEFAULT_REQUEST_POLICY, 'fresh'],
    ['lifetime 0 (no-cache) always validates', entry({ lifetime: 0, noStale: true }), 0, DEFAULT_REQUEST_POLICY, 'revalidate'],
    ['inside stale-while-revalidate', entry({ swr: 30_000 }), 80, DEFAULT_REQUEST_POLICY, 'stale-while-revalidate'],
    ['past stale-while-revalidate', entry({ swr: 30_000 }), 95, DEFAULT_REQUEST_POLICY, 'revalidate'],
    ['request no-cache validates a fresh response', entry(), 1, policy({ 'cache-control': 'no-cache' }), 'revalidate'],
    ['request max-age refuses an older one', entry(), 30, policy({ 'cache-control': 'max-age=10' }), 'revalidate'],
    ['request max-age accepts a younger one', entry(), 5, policy({ 'cache-control': 'max-age=10' }), 'fresh'],
    ['request max-age=0 validates at age 0 too (a clock that did not move)', entry(), 0, policy({ 'cache-control': 'max-age=0' }), 'revalidate'],
    ['request min-fresh', entry(), 55, policy({ 'cache-control': 'min-fresh=10' }), 'revalidate'],
    ['request max-stale within bound', entry(), 80, policy({ 'cache-control': 'max-stale=30' }), 'stale'],
    ['request max-stale beyond bound', entry(), 100, policy({ 'cache-control': 'max-stale=30' }), 'revalidate'],
    ['request max-stale cannot override must-revalidate (§4.2.4)', entry({ noStale: true }), 80, policy({ 'cache-control': 'max-stale' }), 'revalidate'],
    ['force-cache takes any staleness', entry(), 100_000, policy({}, 'force-cache'), 'stale'],
    ['force-cache still respects must-revalidate', entry({ noStale: true }), 100, policy({}, 'force-cache'), 'revalidate'],
  ]
  it.each(table)('%s', (_name, f, afterSeconds, p, verdict) => {
    expect(evaluate(f, p, T + afterSeconds * 1000)).toBe(verdict)
  })

  it('stale-if-error allows a window past the lifetime, never for noStale entries', () => {
    expect(staleIfErrorAllows(entry({ sie: 60_000 }), T + 100_000)).toBe(true)
    expect(staleIfErrorAllows(entry({ sie: 60_000 }), T + 121_000)).toBe(false)
    expect(staleIfErrorAllows(entry({ sie: 60_000, noStale: true }), T + 100_000)).toBe(false)
    expect(staleIfErrorAllows(entry(), T + 100_000)).toBe(false)
  })

  it('a request stale-if-error window (RFC 5861 §4) widens the response’s, never past noStale; without the response window when validation was demanded', () => {
    expect(staleIfErrorAllows(entry(), T + 100_000, 40_000)).toBe(true)
    expect(staleIfErrorAllows(entry(), T + 101_000, 40_000)).toBe(false)
    expect(staleIfErrorAllows(entry({ sie: 60_000 }), T + 110_000, 1000)).toBe(true)
    expect(staleIfErrorAllows(entry({ noStale: true }), T + 61_000, 600_000)).toBe(false)
    expect(staleIfErrorAllows(entry({ sie: 60_000 }), T + 100_000, undefined, false)).toBe(false)
    expect(staleIfErrorAllows(entry({ sie: 60_000 }), T + 100_000, 50_000, false)).toBe(true)
  })

  it('staleIfUnreachable: stale by up to the window, never for noStale entries, off at 0 (RFC 9111 §4.2.4)', () => {
    expect(staleWithin(entry(), T + 100_000, 60_000)).toBe(true)
    expect(staleWithin(entry(), T + 121_000, 60_000)).toBe(false)
    expect(staleWithin(entry({ noStale: true }), T + 100_000, 60_000)).toBe(false)
    expect(staleWithin(entry(), T + 100_000, 0)).toBe(false)
    expect(staleWithin(entry(), T + 10_000_000, Infinity)).toBe(true)
  })

  it('withoutReload drops a reload’s revalidation and max-age=0 only (RFC 8246 §2)', () => {
    const reload = policy({ 'cache-control': 'max-age=0, min-fresh=5' }, 'no-cache')
    expect(withoutReload(reload)).toMatchObject({ revalidate: false, maxAge: undefined, minFresh: 5000, softReload: false })
  })
})
