/**
 * Issue #5, the cache as one layer of the real client against a real loopback origin: what is
 * stored (RFC 9111 §3.1: hop-by-hop fields dropped, the origin's Date kept; §5.3 invalid Expires),
 * redirect hops cached on their own, a coalesced waiter bounded by its own deadline, `no-cache`
 * responses, and the cache result in the summary log line and getCallInfo().
 */
import { describe, expect, it } from 'vitest'
import { getCallInfo } from '../../src/index.js'
import { gate, until } from '../support/waiting.js'
import { rejectsWith } from '../support/assertions.js'
import { get, useCacheFixture, type Origin } from '../support/cache-origin.js'
import { reply } from '../support/replies.js'
import { logSink } from '../support/logs.js'

const fixture = useCacheFixture()
const { clock, client } = fixture
const [origin] = fixture.origins as [Origin]

describe('what is stored', () => {
  it('drops Connection, the fields it lists and Proxy-* fields; keeps the rest and the origin Date', async () => {
    const originDate = new Date(clock.now() - 5_000).toUTCString()
    const url = origin.route('/hop-by-hop', (_req, res) => {
      res.setHeader('date', originDate)
      reply(res, 200, { 'cache-control': 'max-age=600', connection: 'x-hop', 'x-hop': 'secret', 'proxy-thing': 'p', 'x-end-to-end': 'kept' }, 'hop')
    })
    const c = client()
    await get(c, url)
    const hit = await get(c, url)
    expect(hit.cache).toBe('hit')
    expect(hit.headers.get('x-hop')).toBeNull()
    expect(hit.headers.get('proxy-thing')).toBeNull()
    expect(hit.headers.get('connection')).toBeNull()
    expect(hit.headers.get('x-end-to-end')).toBe('kept')
    // RFC 9110 §6.6.1: the origin's Date, not the time we stored it.
    expect(hit.headers.get('date')).toBe(originDate)
  })

  it('keeps repeated fields (Set-Cookie in a private partition) as separate values', async () => {
    const url = origin.route('/repeated', (_req, res) =>
      reply(res, 200, { 'cache-control': 'public, max-age=600', 'set-cookie': ['a=1', 'b=2'], link: ['</a>', '</b>'] }, 'r'),
    )
    const c = client({}, { mode: 'private' })
    const user = { headers: { authorization: 'Bearer u' } }
    await get(c, url, user)
    const hit = await get(c, url, user)
    expect(hit.cache).toBe('hit')
    expect(hit.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(hit.headers.get('link')).toBe('</a>, </b>')
    // A shared cache keeps the other fields but never replays Set-Cookie (issue 9 item 4).
    const shared = client()
    await get(shared, url)
    const sharedHit = await get(shared, url)
    expect(sharedHit.cache).toBe('hit')
    expect(sharedHit.headers.getSetCookie()).toEqual([])
    expect(sharedHit.headers.get('link')).toBe('</a>, </b>')
  })

  it.each([
    ['0', 'Expires: 0'],
    ['2030-01-01T00:00:00Z', 'an ISO date, not an HTTP-date'],
  ])('treats an invalid Expires (%s) as already expired (%s)', async (expires) => {
    const path = `/expires-${expires.length}`
    const url = origin.route(path, (_req, res, n) => reply(res, 200, { expires }, `e ${n}`))
    const c = client()
    await get(c, url)
    expect(await get(c, url)).toMatchObject({ cache: 'miss', text: 'e 2' })
  })

  it('uses a valid Expires', async () => {
    const url = origin.route('/expires-valid', (_req, res, n) => reply(res, 200, { expires: new Date(clock.now() + 600_000).toUTCString() }, `e ${n}`))
    const c = client()
    await get(c, url)
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: 'e 1' })
  })

  it('revalidates a no-cache response on every use', async () => {
    const url = origin.route('/no-cache-response', (req, res, n) => {
      if (req.headers['if-none-match'] === '"nc"') return reply(res, 304, { etag: '"nc"', 'cache-control': 'no-cache' }, '')
      reply(res, 200, { etag: '"nc"', 'cache-control': 'no-cache, stale-while-revalidate=600' }, `nc ${n}`)
    })
    const c = client()
    await get(c, url)
    expect(await get(c, url)).toMatchObject({ cache: 'revalidated', text: 'nc 1' })
    expect(await get(c, url)).toMatchObject({ cache: 'revalidated', text: 'nc 1' })
    expect(origin.count('/no-cache-response')).toBe(3)
  })

  it('does not store a no-store response', async () => {
    const url = origin.route('/no-store-response', (_req, res, n) => reply(res, 200, { 'cache-control': 'no-store, max-age=600' }, `ns ${n}`))
    const c = client()
    await get(c, url)
    expect(await get(c, url)).toMatchObject({ cache: 'miss', text: 'ns 2' })
  })

  it('stores a 503 with max-age (RFC 9111 §3: any final status), not a 503 without explicit freshness', async () => {
    const url = origin.route('/5xx', (_req, res, n) => reply(res, 503, { 'cache-control': 'max-age=600' }, `down ${n}`))
    const plain = origin.route('/5xx-plain', (_req, res, n) => reply(res, 503, { 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' }, `down ${n}`))
    const c = client({ retry: false })
    await get(c, url)
    expect(await get(c, url)).toMatchObject({ status: 503, text: 'down 1', cache: 'hit' })
    await get(c, plain)
    expect(await get(c, plain)).toMatchObject({ status: 503, text: 'down 2', cache: 'miss' })
  })
})

describe('inside the redirect loop', () => {
  it('caches each hop on its own: a cached 301 saves its round trip', async () => {
    origin.route('/moved', (_req, res) => reply(res, 301, { location: '/moved-here', 'cache-control': 'max-age=600' }, ''))
    origin.route('/moved-here', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600' }, `here ${n}`))
    const c = client()
    const first = await c.fetch(`${origin.origin}/moved`)
    expect(await first.text()).toBe('here 1')
    const second = await c.fetch(`${origin.origin}/moved`)
    expect(await second.text()).toBe('here 1')
    expect(second.redirected).toBe(true)
    expect(second.url).toBe(`${origin.origin}/moved-here`)
    expect(origin.count('/moved')).toBe(1)
    expect(origin.count('/moved-here')).toBe(1)
  })
})

describe('coalescing and deadlines', () => {
  it('a waiter gives up at its own deadline; the request it waited for goes on', async () => {
    const held = gate()
    const url = origin.route('/slow-leader', (_req, res, n) => void held.promise.then(() => reply(res, 200, { 'cache-control': 'max-age=600' }, `slow ${n}`)))
    const c = client()
    const leader = c.fetch(url)
    await until(() => origin.count('/slow-leader') === 1, 'the leader request')
    await rejectsWith(c.fetch(url, { timeout: { total: 50 } }), 'ERR_DEADLINE_EXCEEDED')
    held.open()
    expect(await (await leader).text()).toBe('slow 1')
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: 'slow 1' })
    expect(origin.count('/slow-leader')).toBe(1)
  })

  it('a waiter aborted by its signal rejects with ERR_ABORTED', async () => {
    const held = gate()
    const url = origin.route('/slow-abort', (_req, res) => void held.promise.then(() => reply(res, 200, { 'cache-control': 'max-age=600' }, 'late')))
    const c = client()
    const leader = c.fetch(url)
    await until(() => origin.count('/slow-abort') === 1, 'the leader request')
    const controller = new AbortController()
    const waiter = c.fetch(url, { signal: controller.signal })
    controller.abort()
    await rejectsWith(waiter, 'ERR_ABORTED')
    held.open()
    expect(await (await leader).text()).toBe('late')
  })
})

describe('reporting', () => {
  it('the summary log line and getCallInfo() say what the cache did', async () => {
    const { logger, lines } = logSink('info')
    const url = origin.route('/logged', (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600' }, 'logged'))
    const c = client({ logger })
    expect((await get(c, url)).cache).toBe('miss')
    expect((await get(c, url)).cache).toBe('hit')
    expect((await get(c, url, { cache: 'no-store' })).cache).toBe('bypass')
    const summaries = lines().filter((l) => l['cache'] !== undefined)
    expect(summaries.map((l) => l['cache'])).toEqual(['miss', 'hit', 'bypass'])
    // A hit made no physical request.
    expect(summaries[1]!['attempts']).toBe(0)
    const hit = await c.fetch(url)
    await hit.text()
    expect(getCallInfo(hit)).toMatchObject({ cache: 'hit', bytes: 6, attempts: 0 })
  })
})
