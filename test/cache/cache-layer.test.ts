import { describe, expect, it } from 'vitest'
import { Clock } from '../support/clocks.js'
import { fakeOrigin } from '../support/handlers.js'
import { harness } from '../support/cache-harness.js'

const URL1 = 'http://origin.test/a'

describe('cache layer: storing and freshness', () => {
  it('serves a fresh max-age response from the cache, with the origin Date and a generated Age', async () => {
    const clock = new Clock()
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60', date: clock.date(), 'content-type': 'text/plain' }, body: 'hello' }))
    const h = harness(origin, {}, clock)
    const first = await h.fetch(URL1)
    expect(first.record.cache).toBe('miss')
    expect(first.text).toBe('hello')
    const sentDate = clock.date()
    clock.advance(10)
    const second = await h.fetch(URL1)
    expect(origin.count).toBe(1)
    expect(second.record.cache).toBe('hit')
    expect(second.text).toBe('hello')
    expect(second.response.headers['age']).toBe('10')
    // RFC 9110 §6.6.1 / RFC 9111 §3: the stored Date is the origin's, not rewritten at serve time.
    expect(second.response.headers['date']).toBe(sentDate)
    expect(second.response.headers['content-type']).toBe('text/plain')
  })

  it('goes back to the origin once max-age has passed (no validators: a plain request)', async () => {
    const clock = new Clock()
    const origin = fakeOrigin((_req, n) => ({ headers: { 'cache-control': 'max-age=60', date: clock.date() }, body: `v${n}` }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(61)
    const again = await h.fetch(URL1)
    expect(again.text).toBe('v2')
    expect(again.record.cache).toBe('miss')
    expect(origin.requests[1]!.headers['if-none-match']).toBeUndefined()
  })

  it('counts a received Age header into the entry age (RFC 9111 §4.2.3)', async () => {
    const clock = new Clock()
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60', age: '50', date: clock.date() }, body: 'x' }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(5)
    const hit = await h.fetch(URL1)
    expect(hit.record.cache).toBe('hit')
    expect(hit.response.headers['age']).toBe('55')
    clock.advance(6)
    expect((await h.fetch(URL1)).record.cache).toBe('miss')
  })

  it('ignores an invalid Age (RFC 9111 §5.1)', async () => {
    const clock = new Clock()
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60', age: '-5000', date: clock.date() }, body: 'x' }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    const hit = await h.fetch(URL1)
    expect(hit.record.cache).toBe('hit')
    expect(hit.response.headers['age']).toBe('0')
  })

  it('uses s-maxage in shared mode and max-age in private mode (RFC 9111 §5.2.2.10)', async () => {
    for (const [mode, lifetime] of [
      ['shared', 100],
      ['private', 10],
    ] as const) {
      const clock = new Clock()
      const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=10, s-maxage=100', date: clock.date() }, body: 'x' }))
      const h = harness(origin, { mode }, clock)
      // Private rules apply inside a credentials partition (without credentials: shared rules).
      const headers = mode === 'private' ? { authorization: 'Bearer u' } : {}
      await h.fetch(URL1, { headers })
      clock.advance(lifetime - 1)
      expect((await h.fetch(URL1, { headers })).record.cache).toBe('hit')
      clock.advance(2)
      expect((await h.fetch(URL1, { headers })).record.cache).not.toBe('hit')
    }
  })

  it('reads Expires relative to Date; an invalid Expires is already expired (RFC 9111 §5.3)', async () => {
    const clock = new Clock()
    let expires = clock.date(30)
    const origin = fakeOrigin(() => ({ headers: { expires, date: clock.date() }, body: 'x' }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(29)
    expect((await h.fetch(URL1)).record.cache).toBe('hit')

    // A form Date.parse accepts but HTTP-date does not.
    expires = '2099-01-01T00:00:00Z'
    const other = 'http://origin.test/iso'
    await h.fetch(other)
    expect((await h.fetch(other)).record.cache).toBe('miss')
  })

  it('uses heuristic freshness from Last-Modified only for heuristically cacheable statuses (RFC 9111 §4.2.2)', async () => {
    const clock = new Clock()
    const lastModified = clock.date(-1000) // 10% of 1000 s = 100 s
    const origin = fakeOrigin((req) => ({
      status: req.url.pathname === '/ok' ? 200 : 302,
      headers: { 'last-modified': lastModified, date: clock.date(), location: '/x' },
      body: 'x',
    }))
    const h = harness(origin, {}, clock)
    await h.fetch('http://origin.test/ok')
    await h.fetch('http://origin.test/found')
    clock.advance(99)
    expect((await h.fetch('http://origin.test/ok')).record.cache).toBe('hit')
    const redirect = await h.fetch('http://origin.test/found')
    expect(redirect.record.cache).not.toBe('hit')
    clock.advance(2)
    expect((await h.fetch('http://origin.test/ok')).record.cache).not.toBe('hit')
  })

  it('parses directive names case-insensitively (RFC 9111 §5.2)', async () => {
    const clock = new Clock()
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'Max-Age=60', date: clock.date() }, body: 'x' }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    expect((await h.fetch(URL1)).record.cache).toBe('hit')
  })

  it('does not store no-store responses, nor a status it does not understand under must-understand; stores a 500 with max-age (RFC 9111 §3, §5.2.2.3)', async () => {
    const origin = fakeOrigin((req) =>
      req.url.pathname === '/ns'
        ? { headers: { 'cache-control': 'no-store, max-age=60' }, body: 'x' }
        : req.url.pathname === '/599'
          ? { status: 599, headers: { 'cache-control': 'must-understand, max-age=60' }, body: 'x' }
          : { status: 500, headers: { 'cache-control': 'max-age=60' }, body: 'x' },
    )
    const h = harness(origin)
    await h.fetch('http://origin.test/ns')
    await h.fetch('http://origin.test/ns')
    await h.fetch('http://origin.test/599')
    await h.fetch('http://origin.test/599')
    await h.fetch('http://origin.test/500')
    const again = await h.fetch('http://origin.test/500')
    expect(again.record.cache).toBe('hit')
    expect(again.response.status).toBe(500)
    expect(origin.count).toBe(5)
  })

  it('does not store the hop-by-hop, Proxy-* and Connection-listed fields (RFC 9111 §3.1)', async () => {
    const clock = new Clock()
    const origin = fakeOrigin(() => ({
      headers: {
        'cache-control': 'max-age=60',
        date: clock.date(),
        connection: 'close, x-conn-only',
        'x-conn-only': '1',
        'keep-alive': 'timeout=5',
        'proxy-authenticate': 'Basic',
        'transfer-encoding': 'chunked',
        'x-kept': 'yes',
        'set-cookie': ['a=1', 'b=2'],
      },
      body: 'x',
    }))
    const h = harness(origin, { mode: 'private' }, clock)
    const user = { headers: { authorization: 'Bearer u' } }
    await h.fetch(URL1, user)
    const hit = await h.fetch(URL1, user)
    expect(hit.record.cache).toBe('hit')
    const headers = hit.response.headers
    expect(headers['connection']).toBeUndefined()
    expect(headers['x-conn-only']).toBeUndefined()
    expect(headers['keep-alive']).toBeUndefined()
    expect(headers['proxy-authenticate']).toBeUndefined()
    expect(headers['transfer-encoding']).toBeUndefined()
    expect(headers['x-kept']).toBe('yes')
    expect(headers['set-cookie']).toEqual(['a=1', 'b=2'])
  })

  it('answers HEAD from a stored GET response, without a body', async () => {
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60' }, body: 'x' }))
    const h = harness(origin)
    await h.fetch(URL1)
    const head = await h.fetch(URL1, { method: 'HEAD' })
    expect(head.record.cache).toBe('hit')
    expect(head.response.body).toBeNull()
    expect(origin.count).toBe(1)
  })
})

describe('cache layer: Vary', () => {
  it('keeps several variants per URL and selects by the varied request fields (RFC 9111 §4.1)', async () => {
    const origin = fakeOrigin((req) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      body: `lang=${req.headers['accept-language'] ?? '-'}`,
    }))
    const h = harness(origin)
    expect((await h.fetch(URL1, { headers: { 'accept-language': 'en' } })).text).toBe('lang=en')
    expect((await h.fetch(URL1, { headers: { 'accept-language': 'fr' } })).text).toBe('lang=fr')
    expect((await h.fetch(URL1)).text).toBe('lang=-')
    const en = await h.fetch(URL1, { headers: { 'accept-language': 'en' } })
    const fr = await h.fetch(URL1, { headers: { 'accept-language': 'fr' } })
    const none = await h.fetch(URL1)
    expect([en.text, fr.text, none.text]).toEqual(['lang=en', 'lang=fr', 'lang=-'])
    expect([en.record.cache, fr.record.cache, none.record.cache]).toEqual(['hit', 'hit', 'hit'])
    expect(origin.count).toBe(3)
  })

  it('normalises whitespace in varied fields', async () => {
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60', vary: 'accept' }, body: 'x' }))
    const h = harness(origin)
    await h.fetch(URL1, { headers: { accept: 'text/html,application/json' } })
    expect((await h.fetch(URL1, { headers: { accept: 'text/html, application/json' } })).record.cache).toBe('hit')
  })

  it('never matches Vary: * and does not throw on odd forms like "Vary: , *"', async () => {
    for (const vary of ['*', ', *', 'accept, *']) {
      const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60', vary }, body: 'x' }))
      const h = harness(origin)
      await h.fetch(URL1)
      expect((await h.fetch(URL1)).record.cache).toBe('miss')
      expect(origin.count).toBe(2)
    }
  })

  it('treats odd but harmless forms like "Vary: , accept," as Vary: accept', async () => {
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60', vary: ', accept,' }, body: 'x' }))
    const h = harness(origin)
    await h.fetch(URL1, { headers: { accept: 'a' } })
    expect((await h.fetch(URL1, { headers: { accept: 'a' } })).record.cache).toBe('hit')
    expect((await h.fetch(URL1, { headers: { accept: 'b' } })).record.cache).toBe('miss')
  })
})
