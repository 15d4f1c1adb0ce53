/**
 * Issue #5 through the real client against real loopback origins (origin requests counted
 * server-side): invalidation after unsafe methods (RFC 9111 §4.4), `client.cache.invalidate()` /
 * `invalidateAll()`, the fetch `cache` modes and request Cache-Control (§5.2.1), request
 * coalescing, and bodies over `maxEntryBytes` streaming through uncached.
 */
import type http from 'node:http'
import { describe, expect, it } from 'vitest'
import { getCallInfo } from '../../src/index.js'
import { gate, until } from '../support/waiting.js'
import { get, useCacheFixture, type Origin } from '../support/cache-origin.js'
import { reply } from '../support/replies.js'
import { rejectsWith } from '../support/assertions.js'

const fixture = useCacheFixture(2)
const { clock, client } = fixture
const [origin, other] = fixture.origins as [Origin, Origin]

/** A cacheable route whose body names the request number. */
function cacheable(o: Origin, path: string, cacheControl = 'max-age=600'): string {
  return o.route(path, (_req, res, n) => reply(res, 200, { 'cache-control': cacheControl }, `${path} ${n}`))
}

describe('invalidation after unsafe methods', () => {
  it('a successful POST invalidates the target URL and a same-origin Location', async () => {
    const item = cacheable(origin, '/items/1')
    const created = cacheable(origin, '/items/2')
    const elsewhere = cacheable(other, '/elsewhere')
    const c = client()
    for (const url of [item, created, elsewhere]) await get(c, url)
    for (const url of [item, created, elsewhere]) expect((await get(c, url)).cache).toBe('hit')

    origin.route('/items/1', (req, res, n) => {
      if (req.method === 'POST') return reply(res, 201, { location: '/items/2', 'content-location': `${other.origin}/elsewhere` }, 'updated')
      reply(res, 200, { 'cache-control': 'max-age=600' }, `/items/1 ${n}`)
    })
    const post = await c.fetch(item, { method: 'POST', body: 'x' })
    expect(post.status).toBe(201)
    expect(getCallInfo(post)?.cache).toBe('bypass')
    await post.text()

    expect(await get(c, item)).toMatchObject({ cache: 'miss', text: '/items/1 3' })
    expect(await get(c, created)).toMatchObject({ cache: 'miss', text: '/items/2 2' })
    // Content-Location on another origin: that origin's entries are not ours to drop (§4.4).
    expect(await get(c, elsewhere)).toMatchObject({ cache: 'hit', text: '/elsewhere 1' })
  })

  it('DELETE and PUT invalidate too; an error status does not', async () => {
    let fail = false
    const url = origin.route('/doc', (req, res, n) => {
      if (req.method === 'GET') return reply(res, 200, { 'cache-control': 'max-age=600' }, `doc ${n}`)
      reply(res, fail ? 500 : 204, {}, '')
    })
    const c = client({ retry: false })
    await get(c, url)
    fail = true
    await get(c, url, { method: 'PUT', body: 'x' })
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: 'doc 1' })
    fail = false
    await get(c, url, { method: 'DELETE' })
    expect(await get(c, url)).toMatchObject({ cache: 'miss', text: 'doc 4' })
  })

  it('invalidates every Vary variant of the URL', async () => {
    const url = origin.route('/varied', (req, res, n) => {
      if (req.method === 'POST') return reply(res, 200, {}, 'ok')
      reply(res, 200, { 'cache-control': 'max-age=600', vary: 'accept-language' }, `${req.headers['accept-language']} ${n}`)
    })
    const c = client()
    for (const lang of ['en', 'fr', 'de']) await get(c, url, { headers: { 'accept-language': lang } })
    for (const lang of ['en', 'fr', 'de']) expect((await get(c, url, { headers: { 'accept-language': lang } })).cache).toBe('hit')
    await get(c, url, { method: 'POST', body: '' })
    for (const lang of ['en', 'fr', 'de']) expect((await get(c, url, { headers: { 'accept-language': lang } })).cache).toBe('miss')
    expect(origin.count('/varied')).toBe(7)
  })
})

describe('client.cache', () => {
  it('invalidate(url) drops that URL only', async () => {
    const a = cacheable(origin, '/inv-a')
    const b = cacheable(origin, '/inv-b')
    const c = client()
    await get(c, a)
    await get(c, b)
    await c.cache.invalidate(a)
    expect((await get(c, a)).cache).toBe('miss')
    expect((await get(c, b)).cache).toBe('hit')
  })

  it('invalidateAll() makes every entry a miss', async () => {
    const urls = ['/all-1', '/all-2', '/all-3'].map((path) => cacheable(origin, path))
    const varied = origin.route('/all-varied', (req, res) =>
      reply(res, 200, { 'cache-control': 'max-age=600', vary: 'accept-language' }, String(req.headers['accept-language'])),
    )
    const c = client()
    for (const url of urls) await get(c, url)
    await get(c, varied, { headers: { 'accept-language': 'en' } })
    for (const url of urls) expect((await get(c, url)).cache).toBe('hit')
    expect((await get(c, varied, { headers: { 'accept-language': 'en' } })).cache).toBe('hit')
    await c.cache.invalidateAll()
    for (const url of urls) expect((await get(c, url)).cache).toBe('miss')
    expect((await get(c, varied, { headers: { 'accept-language': 'en' } })).cache).toBe('miss')
    for (const path of ['/all-1', '/all-2', '/all-3', '/all-varied']) expect(origin.count(path)).toBe(2)
    // And the new entries are hits again.
    for (const url of urls) expect((await get(c, url)).cache).toBe('hit')
  })

  it('is a harmless no-op object when caching is off', async () => {
    const c = client({}, false)
    const url = cacheable(origin, '/off')
    await get(c, url)
    const second = await get(c, url)
    expect(second.cache).toBeUndefined()
    expect(origin.count('/off')).toBe(2)
    await c.cache.invalidate(url)
    await c.cache.invalidateAll()
  })
})

describe('request cache modes', () => {
  function validating(path: string): string {
    return origin.route(path, (req, res, n) => {
      if (req.headers['if-none-match'] === '"e"') return reply(res, 304, { etag: '"e"', 'cache-control': 'max-age=60' }, '')
      reply(res, 200, { etag: '"e"', 'cache-control': 'max-age=60' }, `${path} ${n}`)
    })
  }

  it("'default' reads and writes; 'no-store' neither reads nor writes", async () => {
    const url = cacheable(origin, '/mode-no-store')
    const c = client()
    expect((await get(c, url, { cache: 'default' })).cache).toBe('miss')
    expect(await get(c, url, { cache: 'no-store' })).toMatchObject({ cache: 'bypass', text: '/mode-no-store 2' })
    // The stored response is still the first one.
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: '/mode-no-store 1' })
    expect(origin.count('/mode-no-store')).toBe(2)
  })

  it("'reload' goes to the origin and stores what it gets", async () => {
    const url = cacheable(origin, '/mode-reload')
    const c = client()
    await get(c, url)
    expect(await get(c, url, { cache: 'reload' })).toMatchObject({ cache: 'miss', text: '/mode-reload 2' })
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: '/mode-reload 2' })
    expect(origin.count('/mode-reload')).toBe(2)
  })

  it("'no-cache' validates a fresh entry with the origin first", async () => {
    const url = validating('/mode-no-cache')
    const c = client()
    await get(c, url)
    expect(await get(c, url, { cache: 'no-cache' })).toMatchObject({ cache: 'revalidated', text: '/mode-no-cache 1' })
    expect(origin.requests('/mode-no-cache')[1]!.headers['if-none-match']).toBe('"e"')
    expect(origin.count('/mode-no-cache')).toBe(2)
  })

  it("'force-cache' serves a stale entry without contacting the origin", async () => {
    const url = cacheable(origin, '/mode-force', 'max-age=5')
    const c = client()
    await get(c, url)
    clock.advance(3600)
    expect(await get(c, url, { cache: 'force-cache' })).toMatchObject({ cache: 'stale', text: '/mode-force 1' })
    expect(origin.count('/mode-force')).toBe(1)
    // Absent: force-cache goes to the origin.
    const absent = cacheable(origin, '/mode-force-absent')
    expect(await get(c, absent, { cache: 'force-cache' })).toMatchObject({ cache: 'miss', text: '/mode-force-absent 1' })
  })

  it("'only-if-cached' answers 504 when nothing is stored, and never contacts the origin", async () => {
    const url = cacheable(origin, '/mode-only')
    const c = client()
    const absent = await get(c, url, { cache: 'only-if-cached' })
    expect(absent.status).toBe(504)
    expect(origin.count('/mode-only')).toBe(0)
    await get(c, url)
    clock.advance(3600) // stale: only-if-cached still uses it (RFC 9111 §5.2.1.7 does not require fresh)
    expect(await get(c, url, { cache: 'only-if-cached' })).toMatchObject({ status: 200, text: '/mode-only 1' })
    expect(origin.count('/mode-only')).toBe(1)
  })

  it('a Request object carries its own cache mode', async () => {
    const url = cacheable(origin, '/mode-request')
    const c = client()
    await get(c, url)
    const res = await c.fetch(new Request(url, { cache: 'no-store' } as RequestInit))
    await res.text()
    expect(getCallInfo(res)?.cache).toBe('bypass')
    expect(origin.count('/mode-request')).toBe(2)
  })

  it('cache: false for one call bypasses the cache', async () => {
    const url = cacheable(origin, '/mode-false')
    const c = client()
    await get(c, url)
    expect((await get(c, url, { cache: false })).text).toBe('/mode-false 2')
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: '/mode-false 1' })
  })

  it('request Cache-Control: max-age=0 revalidates, max-stale accepts stale, min-fresh demands freshness, only-if-cached', async () => {
    const url = validating('/request-cc')
    const c = client()
    await get(c, url)
    expect((await get(c, url, { headers: { 'cache-control': 'max-age=0' } })).cache).toBe('revalidated')
    expect((await get(c, url, { headers: { 'cache-control': 'min-fresh=3600' } })).cache).toBe('revalidated')
    clock.advance(90)
    expect(await get(c, url, { headers: { 'cache-control': 'max-stale=60' } })).toMatchObject({ cache: 'stale', text: '/request-cc 1' })
    expect((await get(c, url, { headers: { 'cache-control': 'max-stale=10' } })).cache).toBe('revalidated')
    const absent = cacheable(origin, '/request-cc-absent')
    expect((await get(c, absent, { headers: { 'cache-control': 'only-if-cached' } })).status).toBe(504)
    expect(origin.count('/request-cc-absent')).toBe(0)
    expect(origin.count('/request-cc')).toBe(4)
  })

  it('request Cache-Control: no-store keeps the response out of the cache', async () => {
    const url = cacheable(origin, '/request-no-store')
    const c = client()
    await get(c, url, { headers: { 'cache-control': 'no-store' } })
    expect((await get(c, url)).cache).toBe('miss')
    expect(origin.count('/request-no-store')).toBe(2)
  })
})

describe('request coalescing', () => {
  it('100 concurrent identical GETs make one origin request, each caller its own Response', async () => {
    const held = gate()
    const url = origin.route('/stampede', (_req, res, n) => {
      void held.promise.then(() => reply(res, 200, { 'cache-control': 'max-age=600' }, `stampede ${n}`))
    })
    const c = client()
    const calls = Array.from({ length: 100 }, () => c.fetch(url))
    await until(() => origin.count('/stampede') >= 1, 'the first request')
    // Give the other 99 every chance to reach the origin, if they were going to.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
    held.open()
    const responses = await Promise.all(calls)
    expect(new Set(responses).size).toBe(100)
    const texts = await Promise.all(responses.map((r) => r.text()))
    for (const text of texts) expect(text).toBe('stampede 1')
    const statuses = responses.map((r) => getCallInfo(r)?.cache)
    expect(statuses.filter((s) => s === 'miss')).toHaveLength(1)
    expect(statuses.filter((s) => s === 'hit')).toHaveLength(99)
    expect(origin.count('/stampede')).toBe(1)
  })

  it('concurrent GETs for a response that may not be stored each go to the origin', async () => {
    const url = origin.route('/stampede-no-store', (_req, res, n) => setTimeout(() => reply(res, 200, { 'cache-control': 'no-store' }, `ns ${n}`), 20))
    const c = client()
    const texts = await Promise.all(Array.from({ length: 5 }, async () => (await c.fetch(url)).text()))
    expect(new Set(texts).size).toBe(5)
    expect(origin.count('/stampede-no-store')).toBe(5)
  })

  it('a waiter whose maxResponseBytes the shared body exceeds is not served it: it asks the origin under its own limit', async () => {
    const held = gate()
    const url = origin.route('/stampede-limit', (_req, res, n) => {
      void held.promise.then(() => reply(res, 200, { 'cache-control': 'max-age=600' }, `a body of 20 bytes ${n}`))
    })
    const c = client()
    const leader = c.fetch(url)
    await until(() => origin.count('/stampede-limit') >= 1, 'the first request')
    const waiter = c.fetch(url, { maxResponseBytes: 5 })
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(origin.count('/stampede-limit')).toBe(1)
    held.open()
    expect(await (await leader).text()).toBe('a body of 20 bytes 1')
    // Before: served the leader's 20 bytes as a hit. Now its own exchange, whose body fails its limit.
    await rejectsWith(
      waiter.then((r) => r.text()),
      'ERR_RESPONSE_TOO_LARGE',
    )
    expect(origin.count('/stampede-limit')).toBe(2)
  })
})

describe('maxEntryBytes', () => {
  /** Writes `first`, then the rest only once the test has read the first chunk. */
  function trickle(path: string, headers: Record<string, string>, first: Buffer, rest: Buffer, release: Promise<void>): string {
    return origin.route(path, (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(200, headers)
      res.write(first)
      void release.then(() => res.end(rest))
    })
  }

  it('streams a body declared larger than maxEntryBytes through, without buffering it, and does not store it', async () => {
    const first = Buffer.alloc(4096, 'a')
    const rest = Buffer.alloc(60_000, 'b')
    let release = gate()
    const url = trickle('/big-declared', { 'cache-control': 'max-age=600', 'content-length': String(first.length + rest.length) }, first, rest, release.promise)
    const c = client({}, { maxEntryBytes: 1024 })
    for (let round = 1; round <= 2; round++) {
      const res = await c.fetch(url)
      const reader = res.body!.getReader()
      // The first bytes arrive while the origin still holds the rest: nothing waited for the whole body.
      const chunk = await reader.read()
      expect(chunk.done).toBe(false)
      expect(chunk.value![0]).toBe(0x61)
      release.open()
      let total = chunk.value!.byteLength
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        total += value.byteLength
      }
      expect(total).toBe(first.length + rest.length)
      expect(getCallInfo(res)?.cache).toBe('miss')
      release = gate()
      trickle('/big-declared', { 'cache-control': 'max-age=600', 'content-length': String(first.length + rest.length) }, first, rest, release.promise)
    }
    expect(origin.count('/big-declared')).toBe(2)
  })

  it('streams a chunked body that grows past maxEntryBytes through, and does not store it', async () => {
    const first = Buffer.alloc(512, 'a')
    const rest = Buffer.alloc(10_000, 'b')
    const release = gate()
    const url = trickle('/big-chunked', { 'cache-control': 'max-age=600' }, first, rest, release.promise)
    const c = client({}, { maxEntryBytes: 1024 })
    const res = await c.fetch(url)
    const reader = res.body!.getReader()
    const chunk = await reader.read()
    expect(chunk.value![0]).toBe(0x61)
    release.open()
    let total = chunk.value!.byteLength
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
    }
    expect(total).toBe(first.length + rest.length)
    origin.route('/big-chunked', (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600' }, 'small now'))
    expect((await get(c, url)).cache).toBe('miss')
    expect(origin.count('/big-chunked')).toBe(2)
  })

  it('stores a body at the limit', async () => {
    const url = origin.route('/at-limit', (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600' }, Buffer.alloc(1024, 'z')))
    const c = client({}, { maxEntryBytes: 1024 })
    await get(c, url)
    const hit = await get(c, url)
    expect(hit.cache).toBe('hit')
    expect(hit.text).toBe('z'.repeat(1024))
  })
})
