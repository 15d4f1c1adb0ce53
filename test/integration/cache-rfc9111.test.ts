/**
 * Issue #13 through the real client against a real loopback origin, on the memory store and on a
 * real redis-server: any final status with explicit freshness (RFC 9111 §3), must-understand
 * (§5.2.2.3), conditional requests answered from the cache (§4.3.2), single byte ranges answered
 * from a stored 200 (RFC 9110 §14), max-stale on entries without validators (§5.2.1.2),
 * `cache.staleIfUnreachable` (§4.2.4), immutable (RFC 8246) and lenient HTTP-dates (RFC 9110
 * §5.6.7). Time moves by the clock shared by the origin's Date and the cache, never by sleeping.
 */
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { memoryStore, type CacheOptions, type Client, type ClientOptions } from '../../src/index.js'
import { startHttpServer } from '../support/servers.js'
import { fakeLookup } from '../support/lookup.js'
import { rejectsWith } from '../support/assertions.js'
import { plainGet, STORES, uniquePath, useCacheFixture, useStoreMatrix, type Origin, untilStored } from '../support/cache-origin.js'
import { reply } from '../support/replies.js'
import { until } from '../support/waiting.js'

const fixture = useCacheFixture()
const { clock } = fixture
const [origin] = fixture.origins as [Origin]
const stores = useStoreMatrix(fixture, 'rfc')

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n: number): string => String(n).padStart(2, '0')
const time = (d: Date): string => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
/** RFC 9110 §5.6.7 obsolete rfc850-date: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const rfc850 = (ms: number): string => {
  const d = new Date(ms)
  return `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${pad(d.getUTCFullYear() % 100)} ${time(d)} GMT`
}
/** RFC 9110 §5.6.7 obsolete asctime-date: `Sun Nov  6 08:49:37 1994`. */
const asctime = (ms: number): string => {
  const d = new Date(ms)
  return `${DAYS[d.getUTCDay()]!.slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${time(d)} ${d.getUTCFullYear()}`
}
const imf = (ms: number): string => new Date(ms).toUTCString()

const get = plainGet
const path = uniquePath

describe.each(STORES)('%s store', (_name, useRedis) => {
  const skip = useRedis && !stores.redisAvailable
  const client = (options?: Omit<ClientOptions, 'cache'>, cache?: CacheOptions): Client => stores.client(useRedis, options, cache)

  describe.skipIf(skip)('RFC 9111 §3: explicit freshness makes any final status storable', () => {
    it.each([400, 404, 410, 500, 502, 503, 504, 599])('%i with max-age is stored and served', async (status) => {
      const url = origin.route(path(`status-${status}`), (_req, res, n) => reply(res, status, { 'cache-control': 'max-age=60' }, `answer ${n}`))
      const c = client()
      expect(await get(c, url)).toMatchObject({ status, text: 'answer 1', cache: 'miss' })
      await untilStored(c, url)
      expect(await get(c, url)).toMatchObject({ status, text: 'answer 1', cache: 'hit' })
      expect(origin.count(new URL(url).pathname)).toBe(1)
    })

    it('503 with Expires, and with s-maxage in shared mode', async () => {
      const p = path('expires-503')
      const url = origin.route(p, (_req, res, n) => reply(res, 503, { expires: imf(clock.now() + 60_000) }, `down ${n}`))
      const sp = path('smaxage-503')
      const surl = origin.route(sp, (_req, res, n) => reply(res, 503, { 'cache-control': 's-maxage=60' }, `down ${n}`))
      const c = client()
      await get(c, url)
      await get(c, surl)
      await untilStored(c, url)
      await untilStored(c, surl)
      expect(await get(c, url)).toMatchObject({ status: 503, text: 'down 1', cache: 'hit' })
      expect(await get(c, surl)).toMatchObject({ status: 503, text: 'down 1', cache: 'hit' })
    })

    it('heuristic freshness stays limited to heuristically cacheable statuses (RFC 9110 §15.1): 404 yes, 500 no', async () => {
      const lastModified = imf(clock.now() - 1_000_000)
      const p404 = path('heuristic-404')
      const p500 = path('heuristic-500')
      const u404 = origin.route(p404, (_req, res, n) => reply(res, 404, { 'last-modified': lastModified }, `gone ${n}`))
      const u500 = origin.route(p500, (_req, res, n) => reply(res, 500, { 'last-modified': lastModified }, `error ${n}`))
      const c = client()
      await get(c, u404)
      await get(c, u500)
      await untilStored(c, u404)
      expect(await get(c, u404)).toMatchObject({ status: 404, text: 'gone 1', cache: 'hit' })
      expect(await get(c, u500)).toMatchObject({ status: 500, text: 'error 2', cache: 'miss' })
    })
  })

  describe.skipIf(skip)('RFC 9111 §5.2.2.3 must-understand', () => {
    it('stores an understood status despite no-store; never an unknown status', async () => {
      const ok = origin.route(path('mu-200'), (_req, res, n) => reply(res, 200, { 'cache-control': 'must-understand, no-store, max-age=60' }, `ok ${n}`))
      const odd = origin.route(path('mu-599'), (_req, res, n) => reply(res, 599, { 'cache-control': 'must-understand, no-store, max-age=60' }, `odd ${n}`))
      const plain = origin.route(path('ns-200'), (_req, res, n) => reply(res, 200, { 'cache-control': 'no-store, max-age=60' }, `ns ${n}`))
      const c = client()
      await get(c, ok)
      await get(c, odd)
      await get(c, plain)
      await untilStored(c, ok)
      expect(await get(c, ok)).toMatchObject({ text: 'ok 1', cache: 'hit' })
      expect(await get(c, odd)).toMatchObject({ status: 599, text: 'odd 2', cache: 'miss' })
      expect(await get(c, plain)).toMatchObject({ text: 'ns 2', cache: 'miss' })
    })
  })

  describe.skipIf(skip)('RFC 9111 §4.3.2: the application’s conditional request answered from a fresh stored response', () => {
    async function setup(headers: Record<string, string> = { etag: '"v1"', 'last-modified': imf(clock.now() - 3_600_000) }) {
      const p = path('conditional')
      const url = origin.route(p, (_req, res, n) =>
        reply(
          res,
          200,
          { 'cache-control': 'max-age=60', 'content-type': 'text/plain', 'content-location': '/here', vary: 'accept', 'x-other': 'x', ...headers },
          `body ${n}`,
        ),
      )
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      return { c, url, count: () => origin.count(p), requests: () => origin.requests(p) }
    }

    it('If-None-Match matching the stored ETag: 304 from the cache with the RFC 9110 §15.4.5 fields', async () => {
      const { c, url, count } = await setup()
      const r = await get(c, url, { headers: { 'if-none-match': '"v1"' } })
      expect(r).toMatchObject({ status: 304, text: '', cache: 'hit' })
      expect(r.headers.get('etag')).toBe('"v1"')
      expect(r.headers.get('cache-control')).toBe('max-age=60')
      expect(r.headers.get('content-location')).toBe('/here')
      expect(r.headers.get('vary')).toBe('accept')
      expect(r.headers.get('date')).not.toBeNull()
      expect(r.headers.get('last-modified')).not.toBeNull()
      expect(r.headers.get('age')).toBe('0')
      // Representation metadata is not repeated (§15.4.5 "SHOULD NOT").
      expect(r.headers.get('content-type')).toBeNull()
      expect(r.headers.get('x-other')).toBeNull()
      expect(count()).toBe(1)
    })

    it('weak comparison, lists and * (RFC 9110 §13.1.2)', async () => {
      const { c, url, count } = await setup({ etag: 'W/"v1"' })
      for (const value of ['"v1"', 'W/"v1"', '"a", W/"v1" ,"b"', '*', '"x,y", "v1"']) {
        expect((await get(c, url, { headers: { 'if-none-match': value } })).status, value).toBe(304)
      }
      expect(count()).toBe(1)
    })

    it('If-None-Match not matching goes to the origin with the application’s field, and its answer is not stored', async () => {
      const { c, url, count, requests } = await setup()
      const r = await get(c, url, { headers: { 'if-none-match': '"v0"' } })
      expect(r).toMatchObject({ status: 200, text: 'body 2', cache: 'bypass' })
      expect(requests()[1]!.headers['if-none-match']).toBe('"v0"')
      expect(await get(c, url)).toMatchObject({ text: 'body 1', cache: 'hit' })
      expect(count()).toBe(2)
    })

    it('If-Modified-Since at or after Last-Modified: 304; before it: origin', async () => {
      const modified = clock.now() - 3_600_000
      const { c, url, count } = await setup({ 'last-modified': imf(modified) })
      expect((await get(c, url, { headers: { 'if-modified-since': imf(modified) } })).status).toBe(304)
      expect((await get(c, url, { headers: { 'if-modified-since': imf(modified + 10_000) } })).status).toBe(304)
      // Any HTTP-date format, any case (RFC 9110 §5.6.7).
      expect((await get(c, url, { headers: { 'if-modified-since': rfc850(modified).toLowerCase() } })).status).toBe(304)
      expect(count()).toBe(1)
      expect(await get(c, url, { headers: { 'if-modified-since': imf(modified - 10_000) } })).toMatchObject({ status: 200, cache: 'bypass' })
      expect(count()).toBe(2)
    })

    it('If-Modified-Since without Last-Modified is compared with the stored Date', async () => {
      const { c, url, count } = await setup({ etag: '"v1"' })
      expect((await get(c, url, { headers: { 'if-modified-since': imf(clock.now() + 5_000) } })).status).toBe(304)
      expect(count()).toBe(1)
    })

    it('If-None-Match takes precedence over If-Modified-Since; an invalid If-Modified-Since is ignored', async () => {
      const modified = clock.now() - 3_600_000
      const { c, url, count } = await setup({ etag: '"v1"', 'last-modified': imf(modified) })
      const r = await get(c, url, { headers: { 'if-none-match': '"v0"', 'if-modified-since': imf(modified) } })
      expect(r).toMatchObject({ status: 200, cache: 'bypass' })
      expect(count()).toBe(2)
      expect(await get(c, url, { headers: { 'if-modified-since': 'yesterday' } })).toMatchObject({ status: 200, text: 'body 1', cache: 'hit' })
      expect(count()).toBe(2)
    })

    it('HEAD with If-None-Match: 304 from the cache', async () => {
      const { c, url, count } = await setup()
      expect((await get(c, url, { method: 'HEAD', headers: { 'if-none-match': '"v1"' } })).status).toBe(304)
      expect(count()).toBe(1)
    })

    it('a stale entry, or one the request wants validated, goes to the origin', async () => {
      const { c, url, count } = await setup()
      expect((await get(c, url, { headers: { 'if-none-match': '"v1"', 'cache-control': 'no-cache' } })).cache).toBe('bypass')
      expect(count()).toBe(2)
      clock.advance(120)
      const r = await get(c, url, { headers: { 'if-none-match': '"v1"' } })
      expect(r).toMatchObject({ status: 200, cache: 'bypass' })
      expect(count()).toBe(3)
    })

    it('If-Match / If-Unmodified-Since are not evaluated by a cache', async () => {
      const { c, url, count } = await setup()
      expect((await get(c, url, { headers: { 'if-match': '"v1"' } })).cache).toBe('bypass')
      expect(count()).toBe(2)
    })
  })

  describe.skipIf(skip)('RFC 9110 §14: a single byte range answered from a stored complete 200', () => {
    const BODY = 'abcdefghij'
    async function setup(headers: Record<string, string> = {}, body: string | Buffer = BODY) {
      const p = path('range')
      const url = origin.route(p, (req, res, n) => {
        if (req.headers['range'] !== undefined) return reply(res, 206, { 'content-range': 'bytes 0-0/10', 'x-from': 'origin' }, 'a')
        reply(res, 200, { 'cache-control': 'max-age=60', etag: '"r1"', 'content-type': 'text/plain', 'x-n': String(n), ...headers }, body)
      })
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      return { c, url, count: () => origin.count(p) }
    }

    it.each([
      ['bytes=2-4', 'cde', 'bytes 2-4/10'],
      ['bytes=7-', 'hij', 'bytes 7-9/10'],
      ['bytes=-3', 'hij', 'bytes 7-9/10'],
      ['bytes=0-100', BODY, 'bytes 0-9/10'],
      ['bytes=-100', BODY, 'bytes 0-9/10'],
      ['Bytes = 9-9', 'j', 'bytes 9-9/10'],
    ])('%s → 206 %s', async (range, text, contentRange) => {
      const { c, url, count } = await setup()
      const r = await get(c, url, { headers: { range } })
      expect(r).toMatchObject({ status: 206, text, cache: 'hit' })
      expect(r.headers.get('content-range')).toBe(contentRange)
      expect(r.headers.get('content-length')).toBe(String(text.length))
      expect(r.headers.get('content-type')).toBe('text/plain')
      expect(r.headers.get('etag')).toBe('"r1"')
      expect(count()).toBe(1)
      // The stored body is whole afterwards.
      expect(await get(c, url)).toMatchObject({ status: 200, text: BODY, cache: 'hit' })
    })

    it.each(['bytes=10-', 'bytes=50-60', 'bytes=-0'])('%s → 416 with Content-Range: bytes */10', async (range) => {
      const { c, url, count } = await setup()
      const r = await get(c, url, { headers: { range } })
      expect(r).toMatchObject({ status: 416, text: '', cache: 'hit' })
      expect(r.headers.get('content-range')).toBe('bytes */10')
      expect(count()).toBe(1)
    })

    it.each(['bytes=0-1,4-5', 'items=0-1', 'bytes=5-2', 'bytes=x-'])('%s goes to the origin', async (range) => {
      const { c, url, count } = await setup()
      const r = await get(c, url, { headers: { range } })
      expect(r).toMatchObject({ status: 206, cache: 'bypass' })
      expect(r.headers.get('x-from')).toBe('origin')
      expect(count()).toBe(2)
    })

    it('If-Range: a strong ETag match serves the range; a weak or other tag goes to the origin (RFC 9110 §13.1.5)', async () => {
      const { c, url, count } = await setup()
      expect(await get(c, url, { headers: { range: 'bytes=0-1', 'if-range': '"r1"' } })).toMatchObject({ status: 206, text: 'ab', cache: 'hit' })
      expect(count()).toBe(1)
      expect((await get(c, url, { headers: { range: 'bytes=0-1', 'if-range': 'W/"r1"' } })).cache).toBe('bypass')
      expect((await get(c, url, { headers: { range: 'bytes=0-1', 'if-range': '"r0"' } })).cache).toBe('bypass')
      expect(count()).toBe(3)
    })

    it('If-Range with a date: only a strong Last-Modified (60 s before Date, RFC 9110 §8.8.2.2) that matches exactly', async () => {
      const strong = clock.now() - 3_600_000
      const { c, url, count } = await setup({ 'last-modified': imf(strong) })
      expect(await get(c, url, { headers: { range: 'bytes=1-2', 'if-range': imf(strong) } })).toMatchObject({ status: 206, text: 'bc', cache: 'hit' })
      expect((await get(c, url, { headers: { range: 'bytes=1-2', 'if-range': imf(strong + 1000) } })).cache).toBe('bypass')
      expect(count()).toBe(2)
      const weak = Math.floor(clock.now() / 1000) * 1000 - 10_000
      const second = await setup({ 'last-modified': imf(weak) })
      expect((await get(second.c, second.url, { headers: { range: 'bytes=1-2', 'if-range': imf(weak) } })).cache).toBe('bypass')
      expect(second.count()).toBe(2)
    })

    it('a stored body that had a content coding is decoded: its ranges are the origin’s to answer', async () => {
      const { c, url, count } = await setup({ 'content-encoding': 'gzip' }, gzipSync(BODY))
      expect(await get(c, url)).toMatchObject({ text: BODY, cache: 'hit' })
      const r = await get(c, url, { headers: { range: 'bytes=0-1' } })
      expect(r).toMatchObject({ status: 206, cache: 'bypass' })
      expect(count()).toBe(2)
    })

    it('HEAD ignores Range (RFC 9110 §14.2) and is answered from the stored response', async () => {
      const { c, url, count } = await setup()
      const r = await get(c, url, { method: 'HEAD', headers: { range: 'bytes=0-1' } })
      expect(r).toMatchObject({ status: 200, text: '', cache: 'hit' })
      expect(count()).toBe(1)
    })

    it('a range of a stale entry goes to the origin', async () => {
      const { c, url, count } = await setup()
      clock.advance(120)
      expect((await get(c, url, { headers: { range: 'bytes=0-1' } })).cache).toBe('bypass')
      expect(count()).toBe(2)
    })
  })

  describe.skipIf(skip)('RFC 9111 §5.2.1.2: max-stale, force-cache and only-if-cached on entries without validators', () => {
    it('keeps an entry without validators past its freshness (keepStaleMs) and serves it stale when asked', async () => {
      const p = path('no-validators')
      // Received already 20 s old with a 10 s lifetime: stale on arrival, no ETag, no Last-Modified.
      const url = origin.route(p, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=10', age: '20' }, `v${n}`))
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      expect(await get(c, url, { headers: { 'cache-control': 'max-stale=60' } })).toMatchObject({ text: 'v1', cache: 'stale' })
      expect(await get(c, url, { headers: { 'cache-control': 'max-stale' } })).toMatchObject({ text: 'v1', cache: 'stale' })
      expect(await get(c, url, { cache: 'force-cache' })).toMatchObject({ text: 'v1', cache: 'stale' })
      expect(await get(c, url, { cache: 'only-if-cached' })).toMatchObject({ status: 200, text: 'v1', cache: 'stale' })
      expect(origin.count(p)).toBe(1)
      // Staler than the request accepts: the origin.
      expect(await get(c, url, { headers: { 'cache-control': 'max-stale=5' } })).toMatchObject({ text: 'v2', cache: 'miss' })
    })

    it('a must-revalidate entry is never served stale, not even to force-cache', async () => {
      const mp = path('must-revalidate')
      const murl = origin.route(mp, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=10, must-revalidate' }, `m${n}`))
      const c = client()
      await get(c, murl)
      await untilStored(c, murl)
      clock.advance(30)
      expect(await get(c, murl, { cache: 'force-cache' })).toMatchObject({ text: 'm2', cache: 'miss' })
    })
  })

  describe.skipIf(skip)('cache.staleIfUnreachable (RFC 9111 §4.2.4: a disconnected cache may serve stale)', () => {
    it('serves a stored response when the origin resets the connection before the headers, within the window', async () => {
      const p = path('unreachable-reset')
      const url = origin.route(p, (req, res, n) => {
        if (n > 1) {
          req.socket.destroy()
          return
        }
        reply(res, 200, { 'cache-control': 'max-age=10' }, 'last known')
      })
      const c = client({}, { staleIfUnreachable: 60_000 })
      await get(c, url)
      await untilStored(c, url)
      clock.advance(30)
      const r = await get(c, url)
      expect(r).toMatchObject({ status: 200, text: 'last known', cache: 'stale' })
      expect(Number(r.headers.get('age'))).toBeGreaterThanOrEqual(30)
      expect(await get(c, url, { method: 'HEAD' })).toMatchObject({ status: 200, text: '', cache: 'stale' })
      clock.advance(60)
      await rejectsWith(c.fetch(url), 'ERR_NETWORK')
    })

    it('serves a stored response when the connection is refused; not without the option', async () => {
      const server = await startHttpServer((_req, res) =>
        reply(res, 200, { 'cache-control': 'max-age=10', etag: '"e"', date: clock.httpDate() }, 'from the gone origin'),
      )
      const url = `${server.origin}${path('refused')}`
      const on = client({}, { staleIfUnreachable: 60_000 })
      const off = client()
      await get(on, url)
      await get(off, url)
      await untilStored(on, url)
      await untilStored(off, url)
      await server.close()
      clock.advance(30)
      expect(await get(on, url)).toMatchObject({ text: 'from the gone origin', cache: 'stale' })
      await rejectsWith(off.fetch(url), 'ERR_NETWORK')
      // A call that asks for validation gets the error.
      await rejectsWith(on.fetch(url, { cache: 'no-cache' }), 'ERR_NETWORK')
    })

    it('serves a stored response when DNS fails (ERR_DNS)', async () => {
      const p = path('unreachable-dns')
      // The name resolves once, then no more; `connection: close` makes the next call resolve again.
      const lookup = fakeLookup({ 'gone.test': (n) => (n === 1 ? ['127.0.0.1'] : []) })
      origin.route(p, (_req, res) => reply(res, 200, { 'cache-control': 'max-age=10', connection: 'close' }, 'resolved once'))
      const url = `http://gone.test:${origin.server.port}${p}`
      const c = client({ lookup }, { staleIfUnreachable: 60_000 })
      await get(c, url)
      await untilStored(c, url)
      clock.advance(30)
      expect(await get(c, url)).toMatchObject({ text: 'resolved once', cache: 'stale' })
      expect(lookup.queries.length).toBeGreaterThanOrEqual(2)
    })

    it('serves a stored response while the origin’s circuit breaker is open (ERR_CIRCUIT_OPEN)', async () => {
      const p = path('unreachable-breaker')
      const fp = path('unreachable-breaker-fail')
      const url = origin.route(p, (_req, res) => reply(res, 200, { 'cache-control': 'max-age=10' }, 'before the outage'))
      const failing = origin.route(fp, (req) => req.socket.destroy())
      const c = client({ breaker: { minCalls: 2, failureRatio: 0.5, cooldownMs: 600_000 } }, { staleIfUnreachable: 60_000 })
      await get(c, url)
      await untilStored(c, url)
      // Failures on the same origin open its breaker.
      let code: unknown
      for (let i = 0; i < 10 && code !== 'ERR_CIRCUIT_OPEN'; i++)
        code = await c.fetch(failing).then(
          () => 'ok',
          (err: { code?: unknown }) => err.code,
        )
      expect(code).toBe('ERR_CIRCUIT_OPEN')
      clock.advance(30)
      const before = origin.count(p)
      expect(await get(c, url)).toMatchObject({ text: 'before the outage', cache: 'stale' })
      expect(origin.count(p)).toBe(before)
    })

    it.each([
      ['no-cache', 'no-cache, max-age=10'],
      ['must-revalidate', 'max-age=10, must-revalidate'],
      ['proxy-revalidate (shared)', 'max-age=10, proxy-revalidate'],
      ['s-maxage (shared)', 's-maxage=10'],
    ])('never for %s (RFC 9111 §5.2.2)', async (_name, cc) => {
      const p = path('unreachable-forbidden')
      let down = false
      const url = origin.route(p, (req, res) => {
        if (down) {
          req.socket.destroy()
          return
        }
        if (req.headers['if-none-match'] === '"e"') return reply(res, 304, { 'cache-control': cc, etag: '"e"' }, '')
        reply(res, 200, { 'cache-control': cc, etag: '"e"' }, 'stored')
      })
      const c = client({}, { staleIfUnreachable: 60_000 })
      // Stored once a call is answered from it (a hit, or for no-cache a 304 revalidation).
      await until(async () => (await get(c, url)).cache !== 'miss', 'a call answered from the stored response')
      down = true
      clock.advance(30)
      await rejectsWith(c.fetch(url), 'ERR_NETWORK')
    })

    it('an origin that answers (even 5xx) is reachable: its answer is passed on', async () => {
      const p = path('reachable-500')
      const url = origin.route(p, (_req, res, n) => (n > 1 ? reply(res, 500, {}, 'broken') : reply(res, 200, { 'cache-control': 'max-age=10' }, 'ok')))
      const c = client({}, { staleIfUnreachable: 60_000 })
      await get(c, url)
      await untilStored(c, url)
      clock.advance(30)
      expect(await get(c, url)).toMatchObject({ status: 500, text: 'broken', cache: 'miss' })
    })
  })

  describe.skipIf(skip)('RFC 8246 immutable', () => {
    async function setup(mode: 'private' | 'shared') {
      const p = path(`immutable-${mode}`)
      const url = origin.route(p, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600, immutable', etag: '"i"' }, `v${n}`))
      const c = client({}, { mode })
      await get(c, url)
      await untilStored(c, url)
      return { c, url, count: () => origin.count(p) }
    }

    it('private mode: a reload (no-cache mode, request max-age=0) does not revalidate a fresh immutable response', async () => {
      const { c, url, count } = await setup('private')
      clock.advance(5)
      expect(await get(c, url, { cache: 'no-cache' })).toMatchObject({ text: 'v1', cache: 'hit' })
      expect(await get(c, url, { headers: { 'cache-control': 'max-age=0' } })).toMatchObject({ text: 'v1', cache: 'hit' })
      expect(count()).toBe(1)
      // An explicit no-cache (a forced reload) still validates.
      expect((await get(c, url, { headers: { 'cache-control': 'no-cache' } })).cache).not.toBe('hit')
      expect(count()).toBe(2)
    })

    it('private mode: once stale, an immutable response is validated as any other', async () => {
      const { c, url, count } = await setup('private')
      clock.advance(700)
      expect((await get(c, url, { cache: 'no-cache' })).cache).not.toBe('hit')
      expect(count()).toBe(2)
    })

    it('shared mode: a no-cache reload validates', async () => {
      const { c, url, count } = await setup('shared')
      await get(c, url, { cache: 'no-cache' })
      expect(count()).toBe(2)
    })
  })

  describe.skipIf(skip)('RFC 9110 §5.6.7: Expires and Last-Modified in every HTTP-date format, any case', () => {
    it.each([
      ['IMF-fixdate, lower case', (ms: number) => imf(ms).toLowerCase()],
      ['IMF-fixdate, upper case', (ms: number) => imf(ms).toUpperCase()],
      ['rfc850-date (two-digit year)', rfc850],
      ['asctime-date', asctime],
    ])('Expires as %s', async (_name, format) => {
      const p = path('expires-format')
      const url = origin.route(p, (_req, res, n) => reply(res, 200, { expires: format(clock.now() + 60_000) }, `v${n}`))
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      expect(await get(c, url)).toMatchObject({ text: 'v1', cache: 'hit' })
      clock.advance(120)
      expect(await get(c, url)).toMatchObject({ text: 'v2', cache: 'miss' })
    })

    it.each([
      ['IMF-fixdate, lower case', (ms: number) => imf(ms).toLowerCase()],
      ['rfc850-date', rfc850],
      ['asctime-date', asctime],
    ])('Last-Modified as %s gives heuristic freshness (RFC 9111 §4.2.2)', async (_name, format) => {
      const p = path('last-modified-format')
      // 1000 s old: 10% = 100 s of heuristic freshness.
      const url = origin.route(p, (_req, res, n) => reply(res, 200, { 'last-modified': format(clock.now() - 1_000_000) }, `v${n}`))
      const c = client()
      await get(c, url)
      await untilStored(c, url)
      expect(await get(c, url)).toMatchObject({ text: 'v1', cache: 'hit' })
      expect(origin.count(p)).toBe(1)
    })
  })
})

describe('every answer made from a stored response is judged against the reading client’s address policy', () => {
  it('conditional 304, 206, 416, max-stale and staleIfUnreachable answers are refused to a client that may not reach the origin', async () => {
    const store = memoryStore()
    const p = path('address-judged')
    origin.route(p, (_req, res) => reply(res, 200, { 'cache-control': 'max-age=10', etag: '"a"' }, 'abcdefghij'))
    // A name, so the URL policy lets both clients through and the cache's own check decides.
    const lookup = fakeLookup({ 'origin.test': ['127.0.0.1'] })
    const url = `http://origin.test:${origin.server.port}${p}`
    // Allowed to reach 127.0.0.1 (the fixture's policy): stores the entry.
    const loose = fixture.client({ retry: false, lookup }, { store })
    await get(loose, url)
    expect(await get(loose, url, { headers: { 'if-none-match': '"a"' } })).toMatchObject({ status: 304, cache: 'hit' })
    expect(await get(loose, url, { headers: { range: 'bytes=0-1' } })).toMatchObject({ status: 206, cache: 'hit' })
    // The default policy refuses loopback: nothing stored by the other client may answer it.
    const strict = fixture.client({ retry: false, lookup, policy: {} }, { store, staleIfUnreachable: 600_000 })
    for (const headers of [{ 'if-none-match': '"a"' }, { range: 'bytes=0-1' }, { range: 'bytes=50-' }, { 'cache-control': 'max-stale' }]) {
      await rejectsWith(strict.fetch(url, { headers }), 'ERR_ADDRESS_BLOCKED')
    }
    clock.advance(30)
    await rejectsWith(strict.fetch(url, { headers: { 'cache-control': 'max-stale=600' } }), 'ERR_ADDRESS_BLOCKED')
    expect(await get(strict, url, { cache: 'only-if-cached' })).toMatchObject({ status: 504 })
  })
})
