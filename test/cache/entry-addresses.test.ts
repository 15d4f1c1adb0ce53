/**
 * Issue #9 item 1 at the layer: stored entries carry the checked remote addresses of their
 * exchange(s) and every read judges them against the reading client's policy (integration tests
 * with a real internal host: test/integration/cache-address.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { decodeRecord, encodeRecord } from '../../src/cache/entry-codec.js'
import { addressesAllowed, MAX_ENTRY_ADDRESSES, mergeAddresses } from '../../src/cache/entry-addresses.js'
import type { ResponseRecord } from '../../src/cache/cache-store.js'
import { compileAddressPolicy } from '../../src/net/address-policy.js'
import { compilePolicy } from '../../src/net/url-policy.js'
import { Clock } from '../support/clocks.js'
import { responseRecord } from './store-suite.js'
import { FAKE_REMOTE_ADDRESS, fakeOrigin } from '../support/handlers.js'
import { harness } from '../support/cache-harness.js'

const URL1 = 'http://origin.test/a'
const STRICT = compilePolicy({ allow: ['203.0.113.0/24'], deny: [`${FAKE_REMOTE_ADDRESS}/32`] })

describe('addressesAllowed', () => {
  const loose = compileAddressPolicy({ allowPrivate: true })
  const strict = compileAddressPolicy({})
  it.each([
    ['no list', undefined, false],
    ['an empty list', [], false],
    ['a non-string', [42], false],
    ['a public address', ['198.51.100.7'], false], // documentation range: special-use, denied by default
    ['a private address', ['10.0.0.1'], false],
    ['a non-address', ['not-an-ip'], false],
  ])('default policy, %s -> %s', (_name, list, expected) => {
    expect(addressesAllowed(strict, list as readonly string[] | undefined)).toBe(expected)
  })

  it('judges every address: one refused refuses the entry', () => {
    const policy = compileAddressPolicy({ allow: ['10.0.0.0/24'] })
    expect(addressesAllowed(policy, ['10.0.0.1', '10.0.0.2'])).toBe(true)
    expect(addressesAllowed(policy, ['10.0.0.1', '10.0.1.2'])).toBe(false)
  })

  it('memoises per policy object, never across policies', () => {
    for (let i = 0; i < 3; i++) {
      expect(addressesAllowed(loose, ['10.0.0.1'])).toBe(true)
      expect(addressesAllowed(strict, ['10.0.0.1'])).toBe(false)
      // A new policy object with the same settings starts with no verdicts of its own.
      expect(addressesAllowed(compileAddressPolicy({ allowPrivate: true }), ['10.0.0.1'])).toBe(true)
      expect(addressesAllowed(compileAddressPolicy({}), ['10.0.0.1'])).toBe(false)
    }
  })

  it('mergeAddresses adds a new address and refuses to grow past the bound', () => {
    expect(mergeAddresses(['a'], 'a')).toEqual(['a'])
    expect(mergeAddresses(['a'], 'b')).toEqual(['a', 'b'])
    const full = Array.from({ length: MAX_ENTRY_ADDRESSES }, (_, i) => `10.0.0.${i}`)
    expect(mergeAddresses(full, '10.0.1.1')).toBeUndefined()
  })
})

describe('entry codec', () => {
  it('round-trips the addresses; a record without them decodes to none (and is refused)', () => {
    const record = responseRecord({ addresses: ['203.0.113.10', '2001:db8::1'] })
    const decoded = decodeRecord(encodeRecord(record)) as ResponseRecord
    expect(decoded.addresses).toEqual(['203.0.113.10', '2001:db8::1'])
    const { addresses: _gone, ...old } = record
    const legacy = decodeRecord(encodeRecord(old as ResponseRecord)) as ResponseRecord
    expect(legacy.addresses).toEqual([])
    expect(addressesAllowed(compileAddressPolicy({ allowPrivate: true, allow: ['0.0.0.0/0'] }), legacy.addresses)).toBe(false)
  })
})

describe('cache layer: entries judged by the reading policy', () => {
  it('a fresh entry refused by the reader is a miss; only-if-cached answers 504', async () => {
    const origin = fakeOrigin((_req, n) => ({ headers: { 'cache-control': 'max-age=600' }, body: `body-${n}` }))
    const h = harness(origin)
    expect((await h.fetch(URL1)).text).toBe('body-1')
    expect((await h.fetch(URL1)).record.cache).toBe('hit')
    const refused = await h.fetch(URL1, { policy: STRICT })
    expect(refused.record.cache).toBe('miss')
    expect(refused.text).toBe('body-2')
    const onlyCached = await h.fetch(URL1, { policy: STRICT, cacheMode: 'only-if-cached' })
    expect(onlyCached.response.status).toBe(504)
    expect(origin.count).toBe(2)
  })

  it('a refused stale entry is not revalidated: the request is unconditional and a 304 cannot resurrect it', async () => {
    const clock = new Clock()
    const origin = fakeOrigin((req, n) =>
      n === 1 || req.headers['if-none-match'] === undefined
        ? { headers: { 'cache-control': 'max-age=10, stale-while-revalidate=600, stale-if-error=600', etag: '"v1"', date: clock.date() }, body: `body-${n}` }
        : { status: 304, headers: { etag: '"v1"', date: clock.date() } },
    )
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(11)
    const refused = await h.fetch(URL1, { policy: STRICT })
    expect(origin.requests[1]!.headers['if-none-match']).toBeUndefined()
    expect(refused.record.cache).toBe('miss')
    expect(refused.text).toBe('body-2')
  })

  it('a response with no recorded address is not stored', async () => {
    const origin = fakeOrigin((_req, n, ctx) => {
      delete ctx.record.attemptLog[ctx.record.attemptLog.length - 1]!.remoteAddress
      return { headers: { 'cache-control': 'max-age=600' }, body: `body-${n}` }
    })
    const h = harness(origin)
    await h.fetch(URL1)
    expect((await h.fetch(URL1)).record.cache).toBe('miss')
    expect(origin.count).toBe(2)
  })

  it('a 304 from another address adds it to the entry: a reader must be allowed both', async () => {
    const clock = new Clock()
    const other = '203.0.113.77'
    const origin = fakeOrigin((_req, n, ctx) => {
      if (n === 1) return { headers: { 'cache-control': 'max-age=10', etag: '"v1"', date: clock.date() }, body: 'body-1' }
      ctx.record.attemptLog[ctx.record.attemptLog.length - 1]!.remoteAddress = other
      return { status: 304, headers: { 'cache-control': 'max-age=600', etag: '"v1"', date: clock.date(), 'x-from': 'second' } }
    })
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(11)
    expect((await h.fetch(URL1)).record.cache).toBe('revalidated')
    expect((await h.fetch(URL1)).record.cache).toBe('hit')
    const denySecond = compilePolicy({ allow: ['203.0.113.0/24'], deny: [`${other}/32`] })
    expect((await h.fetch(URL1, { policy: denySecond })).record.cache).not.toBe('hit')
  })
})
