import { describe, expect, it } from 'vitest'
import { Clock } from '../support/clocks.js'
import { fakeOrigin } from '../support/handlers.js'
import { harness } from '../support/cache-harness.js'

const URL1 = 'http://origin.test/a'

describe('cache modes: shared vs private', () => {
  it('shared mode does not store private responses (RFC 9111 §3, §5.2.2.7)', async () => {
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'private, max-age=60' }, body: 'mine' }))
    const h = harness(origin)
    await h.fetch(URL1)
    expect((await h.fetch(URL1)).record.cache).toBe('miss')
    expect(origin.count).toBe(2)
  })

  it('shared mode does not reuse responses to Authorization requests unless public / s-maxage / must-revalidate (§3.5)', async () => {
    const table: [string, boolean][] = [
      ['max-age=60', false],
      ['public, max-age=60', true],
      ['s-maxage=60', true],
      ['must-revalidate, max-age=60', true],
    ]
    for (const [cc, reused] of table) {
      const origin = fakeOrigin(() => ({ headers: { 'cache-control': cc }, body: 'x' }))
      const h = harness(origin)
      await h.fetch(URL1, { headers: { authorization: 'Bearer a' } })
      const second = await h.fetch(URL1, { headers: { authorization: 'Bearer a' } })
      expect(second.record.cache === 'hit', cc).toBe(reused)
    }
  })

  it('private mode stores private responses, partitioned by credentials: two users never share', async () => {
    const origin = fakeOrigin((req) => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `for ${req.headers['authorization'] ?? 'anonymous'}` }))
    const h = harness(origin, { mode: 'private' })
    const alice = { authorization: 'Bearer alice' }
    const bob = { authorization: 'Bearer bob' }
    expect((await h.fetch(URL1, { headers: alice })).text).toBe('for Bearer alice')
    const bobFirst = await h.fetch(URL1, { headers: bob })
    expect(bobFirst.record.cache).toBe('miss')
    expect(bobFirst.text).toBe('for Bearer bob')
    const anon = await h.fetch(URL1)
    expect(anon.text).toBe('for anonymous')
    const aliceAgain = await h.fetch(URL1, { headers: alice })
    const bobAgain = await h.fetch(URL1, { headers: bob })
    const anonAgain = await h.fetch(URL1)
    // Without credentials the shared rules apply (issue 9 item 4): a private response is not stored.
    expect([aliceAgain.record.cache, bobAgain.record.cache, anonAgain.record.cache]).toEqual(['hit', 'hit', 'miss'])
    expect([aliceAgain.text, bobAgain.text, anonAgain.text]).toEqual(['for Bearer alice', 'for Bearer bob', 'for anonymous'])
  })

  it('private mode partitions by Cookie and by the listed partition headers too', async () => {
    const origin = fakeOrigin((req) => ({
      headers: { 'cache-control': 'private, max-age=60' },
      body: `${req.headers['cookie'] ?? ''}|${req.headers['x-api-key'] ?? ''}`,
    }))
    const h = harness(origin, { mode: 'private', partitionHeaders: ['X-Api-Key'] })
    await h.fetch(URL1, { headers: { cookie: 'sid=1' } })
    expect((await h.fetch(URL1, { headers: { cookie: 'sid=2' } })).text).toBe('sid=2|')
    await h.fetch(URL1, { headers: { 'x-api-key': 'k1' } })
    expect((await h.fetch(URL1, { headers: { 'x-api-key': 'k2' } })).text).toBe('|k2')
    expect((await h.fetch(URL1, { headers: { 'x-api-key': 'k1' } })).record.cache).toBe('hit')
    expect(origin.count).toBe(4)
  })

  it('private-mode and shared-mode clients on one store never read each other’s entries', async () => {
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60' }, body: 'x' }))
    const shared = harness(origin)
    const priv = harness(origin, { mode: 'private', store: shared.cache.options.store })
    await priv.fetch(URL1)
    expect((await shared.fetch(URL1)).record.cache).toBe('miss')
  })

  it('shared mode: a Set-Cookie response is not reused without validation unless public', async () => {
    const origin = fakeOrigin((req) => ({
      headers: { 'cache-control': req.url.pathname === '/pub' ? 'public, max-age=60' : 'max-age=60', 'set-cookie': 'sid=1' },
      body: 'x',
    }))
    const h = harness(origin)
    await h.fetch(URL1)
    expect((await h.fetch(URL1)).record.cache).toBe('miss')
    await h.fetch('http://origin.test/pub')
    expect((await h.fetch('http://origin.test/pub')).record.cache).toBe('hit')
  })
})

describe('request cache modes (RequestInit.cache)', () => {
  const stored = async (mode: 'shared' | 'private' = 'shared') => {
    const clock = new Clock()
    const origin = fakeOrigin((_req, n) => ({ headers: { 'cache-control': 'max-age=10', etag: '"e"', date: clock.date() }, body: `v${n}` }))
    const h = harness(origin, { mode }, clock)
    await h.fetch(URL1)
    return { h, origin, clock }
  }

  it('no-store: neither reads nor writes the cache', async () => {
    const { h, origin } = await stored()
    const r = await h.fetch(URL1, { cacheMode: 'no-store' })
    expect(r.record.cache).toBe('bypass')
    expect(r.text).toBe('v2')
    expect((await h.fetch(URL1)).text).toBe('v1')
    expect(origin.count).toBe(2)
  })

  it('reload: goes to the origin and stores the result', async () => {
    const { h } = await stored()
    expect((await h.fetch(URL1, { cacheMode: 'reload' })).text).toBe('v2')
    const after = await h.fetch(URL1)
    expect(after.record.cache).toBe('hit')
    expect(after.text).toBe('v2')
  })

  it('no-cache: validates even a fresh entry', async () => {
    const { h, origin } = await stored()
    await h.fetch(URL1, { cacheMode: 'no-cache' })
    expect(origin.count).toBe(2)
    expect(origin.requests[1]!.headers['if-none-match']).toBe('"e"')
  })

  it('force-cache: uses a stale entry without validation', async () => {
    const { h, origin, clock } = await stored()
    clock.advance(3600)
    const r = await h.fetch(URL1, { cacheMode: 'force-cache' })
    expect(r.record.cache).toBe('stale')
    expect(r.text).toBe('v1')
    expect(origin.count).toBe(1)
  })

  it('only-if-cached: a stored response, else 504 without contacting the origin (§5.2.1.7)', async () => {
    const { h, origin, clock } = await stored()
    clock.advance(3600)
    expect((await h.fetch(URL1, { cacheMode: 'only-if-cached' })).text).toBe('v1')
    const absent = await h.fetch('http://origin.test/never', { cacheMode: 'only-if-cached' })
    expect(absent.response.status).toBe(504)
    const viaHeader = await h.fetch('http://origin.test/never', { headers: { 'cache-control': 'only-if-cached' } })
    expect(viaHeader.response.status).toBe(504)
    expect(origin.count).toBe(1)
  })
})

describe('request Cache-Control (RFC 9111 §5.2.1)', () => {
  const setup = async () => {
    const clock = new Clock()
    const origin = fakeOrigin((_req, n) => ({ headers: { 'cache-control': 'max-age=100', date: clock.date() }, body: `v${n}` }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    return { h, origin, clock }
  }

  it('max-age: refuses an older stored response', async () => {
    const { h, clock } = await setup()
    clock.advance(30)
    expect((await h.fetch(URL1, { headers: { 'cache-control': 'max-age=60' } })).record.cache).toBe('hit')
    expect((await h.fetch(URL1, { headers: { 'cache-control': 'max-age=10' } })).record.cache).toBe('miss')
  })

  it('min-fresh: requires freshness left', async () => {
    const { h, clock } = await setup()
    clock.advance(80)
    expect((await h.fetch(URL1, { headers: { 'cache-control': 'min-fresh=10' } })).record.cache).toBe('hit')
    expect((await h.fetch(URL1, { headers: { 'cache-control': 'min-fresh=30' } })).record.cache).toBe('miss')
  })

  it('max-stale: accepts a stale response within the bound', async () => {
    const { h, clock } = await setup()
    clock.advance(130)
    const ok = await h.fetch(URL1, { headers: { 'cache-control': 'max-stale=60' } })
    expect(ok.record.cache).toBe('stale')
    expect(ok.text).toBe('v1')
    expect((await h.fetch(URL1, { headers: { 'cache-control': 'max-stale=10' } })).record.cache).toBe('miss')
  })

  it('no-cache: validates; no-store: the response is not stored', async () => {
    const { h, origin } = await setup()
    expect((await h.fetch(URL1, { headers: { 'cache-control': 'no-cache' } })).record.cache).toBe('miss')
    expect(origin.count).toBe(2)
    const other = 'http://origin.test/b'
    await h.fetch(other, { headers: { 'cache-control': 'no-store' } })
    expect((await h.fetch(other)).record.cache).toBe('miss')
  })

  it('Pragma: no-cache without Cache-Control means no-cache (§5.4)', async () => {
    const { h, origin } = await setup()
    await h.fetch(URL1, { headers: { pragma: 'no-cache' } })
    expect(origin.count).toBe(2)
  })

  it('an application’s own conditional request the stored response cannot answer goes to the origin untouched', async () => {
    const { h, origin } = await setup()
    for (const headers of [
      { 'if-none-match': '"mine"' },
      { 'if-modified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      { 'if-match': '"x"' },
      { 'if-unmodified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' },
    ]) {
      const r = await h.fetch(URL1, { headers })
      expect(r.record.cache).toBe('bypass')
      expect(origin.requests[origin.count - 1]!.headers).toEqual(headers)
    }
  })
})

describe('invalidation after unsafe methods (RFC 9111 §4.4)', () => {
  it('deletes every variant of the target URL after a 2xx/3xx, not after an error', async () => {
    const origin = fakeOrigin((req) => {
      if (req.method === 'POST') return { status: req.url.searchParams.has('fail') ? 500 : 200, body: 'ok' }
      return { headers: { 'cache-control': 'max-age=60', vary: 'accept' }, body: 'x' }
    })
    const h = harness(origin)
    await h.fetch(URL1, { headers: { accept: 'a' } })
    await h.fetch(URL1, { headers: { accept: 'b' } })
    await h.fetch(`${URL1}?fail`, { method: 'POST' })
    expect((await h.fetch(URL1, { headers: { accept: 'a' } })).record.cache).toBe('hit')
    const post = await h.fetch(URL1, { method: 'POST' })
    expect(post.record.cache).toBe('bypass')
    expect((await h.fetch(URL1, { headers: { accept: 'a' } })).record.cache).toBe('miss')
    expect((await h.fetch(URL1, { headers: { accept: 'b' } })).record.cache).toBe('miss')
  })

  it('also invalidates same-origin Location and Content-Location, never another origin', async () => {
    const origin = fakeOrigin((req) => {
      if (req.method === 'PUT') return { status: 201, headers: { location: '/items/1', 'content-location': 'http://other.test/x' }, body: '' }
      return { headers: { 'cache-control': 'max-age=60' }, body: 'x' }
    })
    const h = harness(origin)
    for (const url of ['http://origin.test/items', 'http://origin.test/items/1', 'http://other.test/x']) await h.fetch(url)
    await h.fetch('http://origin.test/items', { method: 'PUT' })
    expect((await h.fetch('http://origin.test/items')).record.cache).toBe('miss')
    expect((await h.fetch('http://origin.test/items/1')).record.cache).toBe('miss')
    expect((await h.fetch('http://other.test/x')).record.cache).toBe('hit')
  })

  it('private mode: an unsafe request by one user invalidates every user’s copy', async () => {
    const origin = fakeOrigin((req) => (req.method === 'DELETE' ? { status: 204 } : { headers: { 'cache-control': 'private, max-age=60' }, body: 'x' }))
    const h = harness(origin, { mode: 'private' })
    await h.fetch(URL1, { headers: { authorization: 'a' } })
    await h.fetch(URL1, { headers: { authorization: 'b' } })
    await h.fetch(URL1, { method: 'DELETE', headers: { authorization: 'a' } })
    expect((await h.fetch(URL1, { headers: { authorization: 'b' } })).record.cache).toBe('miss')
  })

  it('client.cache.invalidate(url) and invalidateAll()', async () => {
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60' }, body: 'x' }))
    const h = harness(origin)
    const urls = ['http://origin.test/1', 'http://origin.test/2', 'http://origin.test/3']
    for (const url of urls) await h.fetch(url)
    await h.cache.invalidate(urls[0]!)
    expect((await h.fetch(urls[0]!)).record.cache).toBe('miss')
    expect((await h.fetch(urls[1]!)).record.cache).toBe('hit')
    await h.cache.invalidateAll()
    for (const url of urls) expect((await h.fetch(url)).record.cache).toBe('miss')
    for (const url of urls) expect((await h.fetch(url)).record.cache).toBe('hit')
    await expect(h.cache.invalidate('not a url')).rejects.toMatchObject({ code: 'ERR_URL_INVALID' })
  })
})
