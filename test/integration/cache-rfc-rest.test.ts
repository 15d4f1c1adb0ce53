/**
 * The RFC 9111 / RFC 5861 behaviours a cache MAY have that the conformance suites check, through the
 * real client against a real loopback origin, each on the memory store and on a real redis-server:
 * the request form of `stale-if-error` (RFC 5861 §4), freshening stored responses from HEAD
 * responses (RFC 9111 §4.3.5), and qualified `private="..."` / `no-cache="..."` (§5.2.2.7,
 * §5.2.2.4). Time moves by the clock shared by the origin's Date and the cache, never by sleeping.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore, type CacheOptions, type Client, type ClientOptions } from '../../src/index.js'
import { fakeLookup } from '../support/lookup.js'
import { rejectsWith } from '../support/assertions.js'
import { plainGet, STORES, uniquePath, useCacheFixture, useStoreMatrix, type Origin, untilStored } from '../support/cache-origin.js'
import { reply } from '../support/replies.js'
import { until } from '../support/waiting.js'

const fixture = useCacheFixture()
const { clock } = fixture
const [origin] = fixture.origins as [Origin]
const stores = useStoreMatrix(fixture, 'rest')

const get = plainGet
const path = uniquePath

describe.each(STORES)('%s store', (_name, useRedis) => {
  const skip = useRedis && !stores.redisAvailable
  const client = (options?: Omit<ClientOptions, 'cache'>, cache?: CacheOptions): Client => stores.client(useRedis, options, cache)

  describe.skipIf(skip)('RFC 5861 §4: stale-if-error as a request directive', () => {
    /** An origin that answers `max-age=10` (plus `cc`) once, then fails as `failure` says. */
    function failingLater(name: string, cc = '', failure: 'reset' | number = 503) {
      const p = path(name)
      const url = origin.route(p, (req, res, n) => {
        if (n === 1) return reply(res, 200, { 'cache-control': `max-age=10${cc}`, etag: '"s1"' }, 'stored answer')
        if (failure === 'reset') return req.socket.destroy()
        reply(res, failure, { 'cache-control': 'no-store' }, `failure ${n}`)
      })
      return { url, count: () => origin.count(p) }
    }

    it.each([500, 502, 503, 504])('a %i: the stored response is served when the request allows that much staleness', async (status) => {
      const { url } = failingLater('sie-req', '', status)
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      clock.advance(30) // 20 s stale
      const r = await get(c, url, { headers: { 'cache-control': 'stale-if-error=60' } })
      expect(r).toMatchObject({ status: 200, text: 'stored answer', cache: 'stale' })
      expect(Number(r.headers.get('age'))).toBeGreaterThanOrEqual(30)
      // Without the directive the error is passed on; with a window too short for it, too.
      expect(await get(c, url)).toMatchObject({ status, cache: 'miss' })
      expect(await get(c, url, { headers: { 'cache-control': 'stale-if-error=10' } })).toMatchObject({ status, cache: 'miss' })
    })

    it('a connection reset: served stale within the window, the error past it', async () => {
      const { url } = failingLater('sie-req-reset', '', 'reset')
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      clock.advance(30)
      expect(await get(c, url, { headers: { 'cache-control': 'max-age=600, stale-if-error=60' } })).toMatchObject({ text: 'stored answer', cache: 'stale' })
      // Directive names in any case, quoted arguments (RFC 9111 §5.2).
      expect(await get(c, url, { headers: { 'cache-control': 'Stale-If-Error="60"' } })).toMatchObject({ text: 'stored answer', cache: 'stale' })
      await rejectsWith(c.fetch(url), 'ERR_NETWORK')
      await rejectsWith(c.fetch(url, { headers: { 'cache-control': 'stale-if-error=5' } }), 'ERR_NETWORK')
      await rejectsWith(c.fetch(url, { headers: { 'cache-control': 'stale-if-error=abc' } }), 'ERR_NETWORK')
    })

    it('HEAD: the stored response stands in for a failing origin too', async () => {
      const { url } = failingLater('sie-req-head')
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      clock.advance(30)
      expect(await get(c, url, { method: 'HEAD', headers: { 'cache-control': 'stale-if-error=60' } })).toMatchObject({ status: 200, text: '', cache: 'stale' })
      expect(await get(c, url, { method: 'HEAD' })).toMatchObject({ status: 503, cache: 'miss' })
    })

    it('a request that demands validation (no-cache) accepts a stand-in only by its own stale-if-error', async () => {
      const { url } = failingLater('sie-no-cache')
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      expect(await get(c, url, { headers: { 'cache-control': 'no-cache, stale-if-error=60' } })).toMatchObject({ text: 'stored answer', cache: 'stale' })
      expect(await get(c, url, { cache: 'no-cache', headers: { 'cache-control': 'stale-if-error=60' } })).toMatchObject({
        text: 'stored answer',
        cache: 'stale',
      })
      expect(await get(c, url, { headers: { 'cache-control': 'no-cache' } })).toMatchObject({ status: 503, cache: 'miss' })
    })

    it('widens, never narrows, the response’s own stale-if-error window', async () => {
      const { url } = failingLater('sie-both', ', stale-if-error=600')
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      clock.advance(30)
      expect(await get(c, url, { headers: { 'cache-control': 'stale-if-error=1' } })).toMatchObject({ text: 'stored answer', cache: 'stale' })
    })

    it.each([
      ['must-revalidate (§5.2.2.2)', ', must-revalidate'],
      ['no-cache (§5.2.2.4)', ', no-cache'],
      ['proxy-revalidate in a shared cache (§5.2.2.8)', ', proxy-revalidate'],
      ['s-maxage in a shared cache (§5.2.2.10)', ', s-maxage=10'],
    ])('never for a stored response with %s', async (_name, cc) => {
      const { url, count } = failingLater('sie-forbidden', cc)
      const c = client()
      await get(c, url)
      // Stored (a no-cache response is only revalidated, so it cannot be probed with only-if-cached).
      await new Promise((resolve) => setTimeout(resolve, useRedis ? 50 : 0))
      clock.advance(30)
      expect(await get(c, url, { headers: { 'cache-control': 'stale-if-error=600' } })).toMatchObject({ status: 503, cache: 'miss' })
      expect(count()).toBe(2)
    })

    it('a private-mode entry stands in only inside its credentials partition', async () => {
      const { url } = failingLater('sie-private', ', private')
      const c = client({}, { mode: 'private' })
      const alice = { authorization: 'Bearer alice' }
      await get(c, url, { headers: alice })
      await untilStored(c, url, alice)
      clock.advance(30)
      const sie = { 'cache-control': 'stale-if-error=600' }
      expect(await get(c, url, { headers: { ...alice, ...sie } })).toMatchObject({ text: 'stored answer', cache: 'stale' })
      expect(await get(c, url, { headers: { authorization: 'Bearer bob', ...sie } })).toMatchObject({ status: 503, cache: 'miss' })
    })

    it('a stored body over the call’s maxResponseBytes does not stand in', async () => {
      const { url } = failingLater('sie-too-large')
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      clock.advance(30)
      // 13 stored bytes over a limit of 10; the origin's 9-byte 503 fits it.
      expect(await get(c, url, { maxResponseBytes: 10, headers: { 'cache-control': 'stale-if-error=600' } })).toMatchObject({ status: 503, cache: 'miss' })
      expect(await get(c, url, { headers: { 'cache-control': 'stale-if-error=600' } })).toMatchObject({ status: 200, cache: 'stale' })
    })
  })
  describe.skipIf(skip)('RFC 9111 §4.3.5: a 200 to HEAD freshens the stored GET response it matches', () => {
    /**
     * A GET stored with `max-age=10` and `stored` fields, then HEAD answers from `head(n)` (n counts
     * HEAD requests). GET requests after the first are counted apart.
     */
    function setup(
      name: string,
      stored: Record<string, string>,
      head: (n: number) => { status?: number; headers: Record<string, string> },
      cache: CacheOptions = {},
    ) {
      const p = path(name)
      let heads = 0
      let gets = 0
      const url = origin.route(p, (req, res) => {
        if (req.method === 'HEAD') {
          const answer = head(++heads)
          return reply(res, answer.status ?? 200, answer.headers, '')
        }
        gets++
        reply(res, 200, { 'cache-control': 'max-age=10', 'x-version': `get ${gets}`, ...stored }, `body ${gets}`)
      })
      const c = client({}, cache)
      return { c, url, gets: () => gets, heads: () => heads }
    }

    it('matching ETag: the HEAD’s fields update the stored response and its freshness (§3.2)', async () => {
      const t = setup('head-etag', { etag: '"h1"', 'x-kept': 'kept' }, () => ({
        headers: { etag: '"h1"', 'cache-control': 'max-age=600', 'x-version': 'head' },
      }))
      await get(t.c, t.url)
      await untilStored(t.c, t.url)
      clock.advance(30)
      const head = await get(t.c, t.url, { method: 'HEAD' })
      expect(head).toMatchObject({ status: 200, text: '', cache: 'miss' })
      expect(head.headers.get('x-version')).toBe('head')
      expect(t.heads()).toBe(1)
      await until(async () => (await get(t.c, t.url, { cache: 'only-if-cached' })).headers.get('x-version') === 'head', 'the write to land')
      const r = await get(t.c, t.url)
      expect(r).toMatchObject({ status: 200, text: 'body 1', cache: 'hit' })
      expect(r.headers.get('x-version')).toBe('head')
      expect(r.headers.get('x-kept')).toBe('kept')
      expect(r.headers.get('cache-control')).toBe('max-age=600')
      expect(t.gets()).toBe(1)
    })

    it('no validator on either side (cache-tests head-200-update): updated; Content-Length that matches too', async () => {
      const t = setup('head-none', {}, () => ({ headers: { 'cache-control': 'max-age=600', 'x-version': 'head', 'content-length': '6' } }))
      await get(t.c, t.url)
      await untilStored(t.c, t.url)
      clock.advance(30)
      await get(t.c, t.url, { method: 'HEAD' })
      await until(async () => (await get(t.c, t.url, { cache: 'only-if-cached' })).headers.get('x-version') === 'head', 'the write to land')
      const r = await get(t.c, t.url)
      expect(r).toMatchObject({ text: 'body 1', cache: 'hit' })
      // Content-Length describes the stored body: never taken from the HEAD (§3.2).
      expect(r.headers.get('content-length')).toBe('6')
      expect(t.gets()).toBe(1)
    })

    it.each([
      ['another ETag', { etag: '"h1"' }, { etag: '"h2"' }],
      ['a weak ETag for a strong one', { etag: '"h1"' }, { etag: 'W/"h1"' }],
      ['an ETag where none was stored', {}, { etag: '"h1"' }],
      ['another Last-Modified', { 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }, { 'last-modified': 'Tue, 02 Jan 2024 00:00:00 GMT' }],
      ['another Content-Length', { etag: '"h1"' }, { etag: '"h1"', 'content-length': '999' }],
    ])('%s: the stored response is stale, validated before any reuse', async (_name, storedFields, headFields) => {
      // Still fresh for 600 s: only the HEAD's mismatch can make the next GET go to the origin.
      const t = setup('head-mismatch', { 'cache-control': 'max-age=600', ...storedFields }, () => ({
        headers: { 'cache-control': 'max-age=600', 'x-version': 'head', ...headFields },
      }))
      await get(t.c, t.url)
      await untilStored(t.c, t.url)
      // A HEAD that asks for validation reaches the origin although the stored response is fresh.
      await get(t.c, t.url, { method: 'HEAD', cache: 'no-cache' })
      expect(t.heads()).toBe(1)
      await until(async () => (await get(t.c, t.url, { cache: 'only-if-cached' })).status === 504, 'the write to land')
      const r = await get(t.c, t.url)
      expect(r).toMatchObject({ text: 'body 2', cache: 'miss' })
      expect(t.gets()).toBe(2)
    })

    it('a fresh entry whose HEAD matches stays fresh and takes the new fields', async () => {
      const t = setup('head-fresh', { 'cache-control': 'max-age=600', etag: '"f"' }, () => ({
        headers: { 'cache-control': 'max-age=600', etag: '"f"', 'x-version': 'head' },
      }))
      await get(t.c, t.url)
      await untilStored(t.c, t.url)
      await get(t.c, t.url, { method: 'HEAD', cache: 'no-cache' })
      await until(async () => (await get(t.c, t.url, { cache: 'only-if-cached' })).headers.get('x-version') === 'head', 'the write to land')
      expect(await get(t.c, t.url)).toMatchObject({ text: 'body 1', cache: 'hit' })
      expect(t.gets()).toBe(1)
    })

    it.each([
      ['a 410 (only a 200 updates, §4.3.5)', 410, {}],
      ['a 200 with no-store', 200, { 'cache-control': 'no-store' }],
      ['a 200 with private (shared rules)', 200, { 'cache-control': 'private, max-age=600' }],
    ])('%s leaves the stored response as it was', async (_name, status, fields) => {
      const t = setup('head-no-update', { etag: '"n"' }, () => ({
        status,
        headers: { 'cache-control': 'max-age=600', etag: '"n"', 'x-version': 'head', ...fields },
      }))
      await get(t.c, t.url)
      await untilStored(t.c, t.url)
      clock.advance(30)
      await get(t.c, t.url, { method: 'HEAD' })
      // Give a write (that must not happen) the time to land, then read the entry as it is.
      await new Promise((resolve) => setTimeout(resolve, useRedis ? 50 : 5))
      const r = await get(t.c, t.url, { cache: 'only-if-cached' })
      expect(r).toMatchObject({ status: 200, text: 'body 1', cache: 'stale' })
      expect(r.headers.get('x-version')).toBe('get 1')
    })

    it('shared rules: a HEAD carrying a Cookie does not update a shared entry unless the answer may be shared (§3.5)', async () => {
      const t = setup('head-cookie', { etag: '"c"' }, (n) => ({
        headers: { 'cache-control': n === 1 ? 'max-age=600' : 'public, max-age=600', etag: '"c"', 'x-version': `head ${n}` },
      }))
      await get(t.c, t.url)
      await untilStored(t.c, t.url)
      clock.advance(30)
      await get(t.c, t.url, { method: 'HEAD', headers: { cookie: 'sid=alice' } })
      await new Promise((resolve) => setTimeout(resolve, useRedis ? 50 : 5))
      expect((await get(t.c, t.url, { cache: 'only-if-cached' })).headers.get('x-version')).toBe('get 1')
      await get(t.c, t.url, { method: 'HEAD', headers: { cookie: 'sid=alice' } })
      await until(async () => (await get(t.c, t.url, { cache: 'only-if-cached' })).headers.get('x-version') === 'head 2', 'the write to land')
    })

    it('shared rules: a Set-Cookie on the HEAD reaches its caller, never the stored entry', async () => {
      const t = setup('head-set-cookie', { etag: '"s"' }, () => ({
        headers: { 'cache-control': 'public, max-age=600', etag: '"s"', 'x-version': 'head', 'set-cookie': 'sid=alice' },
      }))
      await get(t.c, t.url)
      await untilStored(t.c, t.url)
      clock.advance(30)
      expect((await get(t.c, t.url, { method: 'HEAD' })).headers.get('set-cookie')).toBe('sid=alice')
      await until(async () => (await get(t.c, t.url, { cache: 'only-if-cached' })).headers.get('x-version') === 'head', 'the write to land')
      const r = await get(t.c, t.url)
      expect(r).toMatchObject({ text: 'body 1', cache: 'hit' })
      expect(r.headers.get('set-cookie')).toBeNull()
    })

    it('private mode: a HEAD freshens only the entry of its own credentials partition', async () => {
      const t = setup(
        'head-private',
        { 'cache-control': 'private, max-age=10', etag: '"p"' },
        () => ({ headers: { 'cache-control': 'private, max-age=600', etag: '"p"', 'x-version': 'head' } }),
        { mode: 'private' },
      )
      const alice = { authorization: 'Bearer alice' }
      const bob = { authorization: 'Bearer bob' }
      // One after the other: two first writes of one URL's variant index race (the store's matter, not this test's).
      await get(t.c, t.url, { headers: alice })
      await untilStored(t.c, t.url, alice)
      await get(t.c, t.url, { headers: bob })
      await untilStored(t.c, t.url, bob)
      clock.advance(30)
      await get(t.c, t.url, { method: 'HEAD', headers: alice })
      await until(async () => (await get(t.c, t.url, { cache: 'only-if-cached', headers: alice })).headers.get('x-version') === 'head', 'the write to land')
      expect(await get(t.c, t.url, { headers: alice })).toMatchObject({ text: 'body 1', cache: 'hit' })
      expect((await get(t.c, t.url, { headers: bob })).cache).not.toBe('hit')
    })
  })
  describe.skipIf(skip)('RFC 9111 §5.2.2.7 / §5.2.2.4: qualified private="..." and no-cache="..."', () => {
    /** The origin answers `fields` and counts; the body says which answer it is. */
    function setup(name: string, fields: Record<string, string | string[]>, cache: CacheOptions = {}) {
      const p = path(name)
      const url = origin.route(p, (_req, res, n) => reply(res, 200, fields, `answer ${n}`))
      return { c: client({}, cache), url, count: () => origin.count(p) }
    }

    it.each([
      ['private="x-user"', 'private="x-user", max-age=600', ['x-user']],
      ['PRIVATE="X-User, X-Account" (names and directive in any case, a list)', 'PRIVATE="X-User, X-Account", max-age=600', ['x-user', 'x-account']],
      ['private=x-user (token form)', 'private=x-user, max-age=600', ['x-user']],
      ['private="x-user,,x-account" (empty members)', 'max-age=600, private="x-user,,x-account"', ['x-user', 'x-account']],
    ])('shared mode: %s is stored without the named fields; the requester got them', async (_name, cc, hidden) => {
      const t = setup('private-qualified', { 'cache-control': cc, 'x-user': 'alice', 'x-account': '42', 'x-other': 'shared' })
      const first = await get(t.c, t.url)
      expect(first.headers.get('x-user')).toBe('alice')
      await untilStored(t.c, t.url)
      const r = await get(t.c, t.url)
      expect(r).toMatchObject({ text: 'answer 1', cache: 'hit' })
      for (const name of hidden) expect(r.headers.get(name), name).toBeNull()
      expect(r.headers.get('x-other')).toBe('shared')
      if (!hidden.includes('x-account')) expect(r.headers.get('x-account')).toBe('42')
      expect(t.count()).toBe(1)
    })

    it.each([
      ['unqualified private', 'private, max-age=600'],
      ['private="" (an empty list counts as unqualified)', 'private="", max-age=600'],
    ])('shared mode: %s is not stored', async (_name, cc) => {
      const t = setup('private-unqualified', { 'cache-control': cc, 'x-user': 'alice' })
      await get(t.c, t.url)
      await new Promise((resolve) => setTimeout(resolve, useRedis ? 50 : 5))
      expect(await get(t.c, t.url)).toMatchObject({ text: 'answer 2', cache: 'miss' })
    })

    it('private mode: inside a credentials partition the whole response is stored; the anonymous partition follows the shared rules', async () => {
      const t = setup('private-mode', { 'cache-control': 'private="x-user", max-age=600', 'x-user': 'alice' }, { mode: 'private' })
      const alice = { authorization: 'Bearer alice' }
      await get(t.c, t.url, { headers: alice })
      await untilStored(t.c, t.url, alice)
      expect((await get(t.c, t.url, { headers: alice })).headers.get('x-user')).toBe('alice')
      await get(t.c, t.url)
      await untilStored(t.c, t.url)
      const anonymous = await get(t.c, t.url)
      expect(anonymous).toMatchObject({ text: 'answer 2', cache: 'hit' })
      expect(anonymous.headers.get('x-user')).toBeNull()
    })

    it('shared mode: a request with credentials still needs public / s-maxage / must-revalidate (§3.5): a qualified private is none of them', async () => {
      const t = setup('private-auth', { 'cache-control': 'private="x-user", max-age=600', 'x-user': 'alice' })
      await get(t.c, t.url, { headers: { authorization: 'Bearer alice' } })
      await new Promise((resolve) => setTimeout(resolve, useRedis ? 50 : 5))
      expect(await get(t.c, t.url)).toMatchObject({ text: 'answer 2', cache: 'miss' })
    })

    it('private="set-cookie": the cookie reaches its requester only', async () => {
      const t = setup('private-cookie', { 'cache-control': 'private="set-cookie", max-age=600', 'set-cookie': 'sid=alice' })
      expect((await get(t.c, t.url)).headers.get('set-cookie')).toBe('sid=alice')
      await untilStored(t.c, t.url)
      const r = await get(t.c, t.url)
      expect(r).toMatchObject({ text: 'answer 1', cache: 'hit' })
      expect(r.headers.get('set-cookie')).toBeNull()
    })

    it.each([
      ['no-cache="X-Secret" (names in any case)', 'no-cache="X-Secret", max-age=600'],
      ['no-cache=x-secret (token form)', 'no-cache=x-secret, max-age=600'],
    ])('%s: reused without validation, without the field, in either mode', async (_name, cc) => {
      for (const mode of ['shared', 'private'] as const) {
        const t = setup('no-cache-qualified', { 'cache-control': cc, 'x-secret': 's', 'x-other': 'o' }, { mode })
        const h = mode === 'private' ? { authorization: 'Bearer alice' } : {}
        expect((await get(t.c, t.url, { headers: h })).headers.get('x-secret')).toBe('s')
        await untilStored(t.c, t.url, h)
        const r = await get(t.c, t.url, { headers: h })
        expect(r, mode).toMatchObject({ text: 'answer 1', cache: 'hit' })
        expect(r.headers.get('x-secret')).toBeNull()
        expect(r.headers.get('x-other')).toBe('o')
      }
    })

    it('no-cache="" (an empty list) counts as unqualified: every reuse is validated', async () => {
      const t = setup('no-cache-empty', { 'cache-control': 'no-cache="", max-age=600' })
      await get(t.c, t.url)
      await new Promise((resolve) => setTimeout(resolve, useRedis ? 50 : 5))
      expect((await get(t.c, t.url)).cache).not.toBe('hit')
      expect(t.count()).toBe(2)
    })

    it.each([
      ['private (shared rules)', 'private, max-age=600'],
      ['no-store', 'no-store, max-age=600'],
    ])('a 304 that makes the response %s: served to its caller, not re-stored for others (§3, §5.2.2.5, §5.2.2.7)', async (_name, cc) => {
      const p = path('304-not-storable')
      const url = origin.route(p, (req, res, n) => {
        if (req.headers['if-none-match'] === '"v"') return reply(res, 304, { etag: '"v"', 'cache-control': cc, 'x-n': String(n) }, '')
        reply(res, 200, { 'cache-control': 'max-age=10', etag: '"v"', 'x-n': String(n) }, 'body')
      })
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      clock.advance(30)
      const validated = await get(c, url)
      expect(validated).toMatchObject({ text: 'body', cache: 'revalidated' })
      expect(validated.headers.get('x-n')).toBe('2')
      await new Promise((resolve) => setTimeout(resolve, useRedis ? 50 : 5))
      // The entry is as it was (stale, x-n 1): the next caller is not served the 304's fields.
      const next = await get(c, url)
      expect(next.cache).not.toBe('hit')
      expect(origin.count(p)).toBe(3)
    })

    it('a 304 cannot bring back a field the stored response’s qualified directives withhold', async () => {
      for (const cc of ['no-cache="x-secret", max-age=10', 'private="x-secret", max-age=10']) {
        const p = path('qualified-304')
        const url = origin.route(p, (req, res) => {
          // The 304 omits Cache-Control: the stored one (with its qualified directive) stays in force.
          if (req.headers['if-none-match'] === '"q"') return reply(res, 304, { etag: '"q"', 'x-secret': 'from the 304' }, '')
          reply(res, 200, { 'cache-control': cc, etag: '"q"', 'x-secret': 's' }, 'body')
        })
        const c = client()
        await get(c, url)
        await untilStored(c, url)
        clock.advance(30)
        const validated = await get(c, url)
        expect(validated.cache, cc).toBe('revalidated')
        expect(validated.headers.get('x-secret'), cc).toBeNull()
        await new Promise((resolve) => setTimeout(resolve, useRedis ? 50 : 5))
        const r = await get(c, url, { cache: 'only-if-cached' })
        expect(r.headers.get('x-secret'), cc).toBeNull()
      }
    })
  })
})

describe('every new serve path judges stored entries by the reading client’s address policy', () => {
  it('request stale-if-error: a client that may not reach the origin gets no stored answer', async () => {
    const store = memoryStore()
    const p = path('address-sie')
    origin.route(p, (_req, res, n) => (n === 1 ? reply(res, 200, { 'cache-control': 'max-age=10' }, 'internal') : reply(res, 503, {}, 'down')))
    // A name, so the URL policy lets both clients through and the cache's own check decides.
    const lookup = fakeLookup({ 'origin.test': ['127.0.0.1'] })
    const url = `http://origin.test:${origin.server.port}${p}`
    const loose = fixture.client({ retry: false, lookup }, { store })
    await get(loose, url)
    clock.advance(30)
    expect(await get(loose, url, { headers: { 'cache-control': 'stale-if-error=600' } })).toMatchObject({ text: 'internal', cache: 'stale' })
    const strict = fixture.client({ retry: false, lookup, policy: {} }, { store })
    await rejectsWith(strict.fetch(url, { headers: { 'cache-control': 'stale-if-error=600' } }), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(strict.fetch(url, { method: 'HEAD', headers: { 'cache-control': 'stale-if-error=600' } }), 'ERR_ADDRESS_BLOCKED')
  })
})
