import { describe, expect, it } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import { Clock } from '../support/clocks.js'
import { fakeOrigin } from '../support/handlers.js'
import { harness } from '../support/cache-harness.js'
import { gate } from '../support/waiting.js'

const URL1 = 'http://origin.test/a'

describe('cache layer: validation (RFC 9111 §4.3)', () => {
  it('revalidates a stale entry with If-None-Match / If-Modified-Since through next()', async () => {
    const clock = new Clock()
    const lm = clock.date(-3600)
    const origin = fakeOrigin((req, n) =>
      n === 1
        ? { headers: { 'cache-control': 'max-age=10', etag: '"v1"', 'last-modified': lm, date: clock.date() }, body: 'body-1' }
        : { status: 304, headers: { etag: '"v1"', date: clock.date() } },
    )
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(11)
    const second = await h.fetch(URL1)
    expect(origin.requests[1]!.headers['if-none-match']).toBe('"v1"')
    expect(origin.requests[1]!.headers['if-modified-since']).toBe(lm)
    expect(second.record.cache).toBe('revalidated')
    expect(second.response.status).toBe(200)
    expect(second.text).toBe('body-1')
  })

  it('on 304, merges ALL of its fields into the stored response and recomputes freshness (§4.3.4)', async () => {
    const clock = new Clock()
    const origin = fakeOrigin((_req, n) =>
      n === 1
        ? { headers: { 'cache-control': 'max-age=10', etag: '"v1"', date: clock.date(), 'x-old': 'kept', 'content-length': '6' }, body: 'body-1' }
        : {
            status: 304,
            headers: {
              'cache-control': 'max-age=100',
              etag: '"v1"',
              date: clock.date(),
              'x-new': 'added',
              'content-length': '0',
              connection: 'x-hop',
              'x-hop': '1',
            },
          },
    )
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(11)
    const revalidated = await h.fetch(URL1)
    expect(revalidated.response.headers['x-new']).toBe('added') // not stored before: http-cache-semantics drops it
    expect(revalidated.response.headers['x-old']).toBe('kept')
    expect(revalidated.response.headers['cache-control']).toBe('max-age=100')
    expect(revalidated.response.headers['content-length']).toBe('6') // §3.2: Content-Length is not updated
    expect(revalidated.response.headers['x-hop']).toBeUndefined() // §3.1 applies to the 304 too
    clock.advance(90)
    const hit = await h.fetch(URL1)
    expect(hit.record.cache).toBe('hit')
    expect(hit.text).toBe('body-1')
    expect(hit.response.headers['x-new']).toBe('added')
    expect(origin.count).toBe(2)
  })

  it('replaces the stored response when validation returns a full 200', async () => {
    const clock = new Clock()
    const origin = fakeOrigin((_req, n) => ({ headers: { 'cache-control': 'max-age=10', etag: `"v${n}"`, date: clock.date() }, body: `body-${n}` }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(11)
    const second = await h.fetch(URL1)
    expect(second.record.cache).toBe('miss')
    expect(second.text).toBe('body-2')
    const third = await h.fetch(URL1)
    expect(third.record.cache).toBe('hit')
    expect(third.text).toBe('body-2')
  })

  it('fetches once more, unconditionally, when a 304 does not select the stored response (§4.3.4)', async () => {
    const clock = new Clock()
    const origin = fakeOrigin((req, n) => {
      if (n === 1) return { headers: { 'cache-control': 'max-age=10', etag: '"v1"', date: clock.date() }, body: 'old' }
      if (req.headers['if-none-match'] !== undefined) return { status: 304, headers: { etag: '"v2"', date: clock.date() } }
      return { headers: { 'cache-control': 'max-age=10', etag: '"v2"', date: clock.date() }, body: 'new' }
    })
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(11)
    const result = await h.fetch(URL1)
    expect(result.text).toBe('new')
    expect(origin.count).toBe(3)
    expect(origin.requests[2]!.headers['if-none-match']).toBeUndefined()
  })

  it('serves a fresh must-revalidate response without contacting the origin (§5.2.2.2)', async () => {
    const clock = new Clock()
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60, must-revalidate', etag: '"a"', date: clock.date() }, body: 'x' }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(30)
    expect((await h.fetch(URL1)).record.cache).toBe('hit')
    expect(origin.count).toBe(1)
  })

  it('validates a no-cache response before every reuse (§5.2.2.4)', async () => {
    const clock = new Clock()
    const origin = fakeOrigin((_req, n) =>
      n === 1 ? { headers: { 'cache-control': 'no-cache', etag: '"a"' }, body: 'x' } : { status: 304, headers: { etag: '"a"' } },
    )
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    const second = await h.fetch(URL1)
    expect(second.record.cache).toBe('revalidated')
    expect(second.text).toBe('x')
    expect(origin.requests[1]!.headers['if-none-match']).toBe('"a"')
  })

  it('keeps entries with validators past their freshness, so they can be revalidated with a 304', async () => {
    const clock = new Clock()
    const origin = fakeOrigin((_req, n) =>
      n === 1
        ? { headers: { 'cache-control': 'max-age=1', etag: '"a"', date: clock.date() }, body: 'x' }
        : { status: 304, headers: { etag: '"a"', date: clock.date() } },
    )
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(24 * 3600) // a day later
    const later = await h.fetch(URL1)
    expect(later.record.cache).toBe('revalidated')
  })
})

describe('cache layer: stale-while-revalidate (RFC 5861 §3)', () => {
  it('serves stale at once and makes exactly one background request', async () => {
    const clock = new Clock()
    const held = gate()
    const origin = fakeOrigin(async (_req, n) => {
      if (n === 1) return { headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60', etag: '"v1"', date: clock.date() }, body: 'old' }
      await held.promise
      return { headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60', etag: '"v2"', date: clock.date() }, body: 'new' }
    })
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(15)
    // The background request is held at the origin: the stale answers must not wait for it.
    const results = await Promise.all([1, 2, 3].map(() => h.fetch(URL1, { noSettle: true })))
    expect(results.map((r) => r.record.cache)).toEqual(['stale', 'stale', 'stale'])
    expect(results.map((r) => r.text)).toEqual(['old', 'old', 'old'])
    expect(origin.count).toBe(2)
    held.open()
    await h.cache.settled()
    expect(origin.count).toBe(2)
    const fresh = await h.fetch(URL1)
    expect(fresh.text).toBe('new')
    expect(fresh.record.cache).toBe('hit')
  })

  it('stores what the background request brought', async () => {
    const clock = new Clock()
    const origin = fakeOrigin((_req, n) => ({ headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60', date: clock.date() }, body: `v${n}` }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(15)
    expect((await h.fetch(URL1)).text).toBe('v1')
    const after = await h.fetch(URL1)
    expect(after.record.cache).toBe('hit')
    expect(after.text).toBe('v2')
  })

  it('does not tie the background request to the caller’s signal or deadline', async () => {
    const clock = new Clock()
    const held = gate()
    const origin = fakeOrigin(async (_req, n, ctx) => {
      if (n > 1) {
        await held.promise
        ctx.signal.throwIfAborted()
      }
      return { headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60', date: clock.date() }, body: `v${n}` }
    })
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(15)
    let callerSignal: unknown
    const stale = await h.fetch(URL1, { noSettle: true, ctx: (ctx) => (callerSignal = ctx.signal) })
    expect(stale.text).toBe('v1')
    // The caller's call is over (deadline or abort) while the background request is still out.
    ;(callerSignal as { abort(e: SafeFetchError): void }).abort(new SafeFetchError('ERR_DEADLINE_EXCEEDED', 'caller deadline'))
    const background = origin.contexts[1]!
    expect(background.signal).not.toBe(callerSignal)
    expect(background.record).not.toBe(stale.record)
    expect(background.deadline).toBeLessThan(Infinity) // its own limit: cache.backgroundTimeoutMs
    held.open()
    await h.cache.settled()
    expect((await h.fetch(URL1)).text).toBe('v2')
  })

  it('a HEAD in the stale-while-revalidate window gets the stale headers and triggers no GET-less validation', async () => {
    const clock = new Clock()
    const origin = fakeOrigin((_req, n) => ({ headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60', date: clock.date() }, body: `v${n}` }))
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(15)
    const head = await h.fetch(URL1, { method: 'HEAD' })
    expect(head.record.cache).toBe('stale')
    expect(head.response.body).toBeNull()
    expect(origin.count).toBe(1)
    expect((await h.fetch(URL1)).text).toBe('v1') // the stored body is intact
  })

  it('never serves stale for must-revalidate, no-cache, or (shared) proxy-revalidate / s-maxage', async () => {
    for (const cc of [
      'max-age=10, stale-while-revalidate=60, must-revalidate',
      'max-age=10, stale-while-revalidate=60, proxy-revalidate',
      's-maxage=10, stale-while-revalidate=60',
    ]) {
      const clock = new Clock()
      const origin = fakeOrigin((_req, n) => ({ headers: { 'cache-control': cc, date: clock.date() }, body: `v${n}` }))
      const h = harness(origin, {}, clock)
      await h.fetch(URL1)
      clock.advance(15)
      const second = await h.fetch(URL1)
      expect(second.record.cache, cc).toBe('miss')
      expect(second.text).toBe('v2')
    }
  })
})

describe('cache layer: stale-if-error (RFC 5861 §4)', () => {
  it('serves stale on network errors and 5xx inside the window, not after it', async () => {
    const clock = new Clock()
    let mode: 'ok' | 'error' | '503' = 'ok'
    const origin = fakeOrigin(() => {
      if (mode === 'error') throw new SafeFetchError('ERR_NETWORK', 'connection refused')
      if (mode === '503') return { status: 503, body: 'down' }
      return { headers: { 'cache-control': 'max-age=10, stale-if-error=60', date: clock.date() }, body: 'good' }
    })
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(20)
    mode = 'error'
    const onError = await h.fetch(URL1)
    expect(onError.record.cache).toBe('stale')
    expect(onError.text).toBe('good')
    mode = '503'
    const on503 = await h.fetch(URL1)
    expect(on503.record.cache).toBe('stale')
    expect(on503.response.status).toBe(200)
    clock.advance(60)
    const late = await h.fetch(URL1)
    expect(late.response.status).toBe(503)
    mode = 'error'
    await expect(h.fetch(URL1)).rejects.toMatchObject({ code: 'ERR_NETWORK' })
  })

  it('does not serve stale for a must-revalidate response or an aborted call', async () => {
    const clock = new Clock()
    let fail = false
    const origin = fakeOrigin(() => {
      if (fail) throw new SafeFetchError('ERR_DEADLINE_EXCEEDED', 'too late')
      return { headers: { 'cache-control': 'max-age=10, stale-if-error=60', date: clock.date() }, body: 'good' }
    })
    const h = harness(origin, {}, clock)
    await h.fetch(URL1)
    clock.advance(20)
    fail = true
    await expect(h.fetch(URL1)).rejects.toMatchObject({ code: 'ERR_DEADLINE_EXCEEDED' })

    const origin2 = fakeOrigin((_req, n) => {
      if (n > 1) throw new SafeFetchError('ERR_NETWORK', 'refused')
      return { headers: { 'cache-control': 'max-age=10, stale-if-error=60, must-revalidate', date: clock.date() }, body: 'good' }
    })
    const h2 = harness(origin2, {}, clock)
    await h2.fetch(URL1)
    clock.advance(20)
    await expect(h2.fetch(URL1)).rejects.toMatchObject({ code: 'ERR_NETWORK' })
  })
})
